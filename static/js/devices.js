// Choosing the camera and the microphone. enumerateDevices gives the names only once the
// person has allowed the camera, so the lists are filled after getUserMedia, and again
// whenever a device is plugged in or out (devicechange).

import { t } from './i18n.js';

const selects = {
  video: document.getElementById('camera-select'),
  audio: document.getElementById('microphone-select'),
};
const KINDS = { video: 'videoinput', audio: 'audioinput' };

export async function listDevices(stream) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, select] of Object.entries(selects)) {
    const choices = devices.filter((device) => device.kind === KINDS[kind]);
    select.replaceChildren(...choices.map((device, index) =>
      new Option(device.label || (kind === 'video'
        ? t('Camera {number}', { number: index + 1 }) : t('Microphone {number}', { number: index + 1 })),
                 device.deviceId)));
    const [track] = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
    select.value = track?.getSettings().deviceId ?? '';
    select.disabled = choices.length < 2;  // nothing to choose between
  }
}

// A new track from the chosen device; the caller swaps it in and stops the old one.
export async function openDevice(kind, deviceId) {
  const stream = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
  return kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
}

// The first device of a kind in the list, to carry on with when the one in use is gone.
export function firstDevice(kind) {
  return selects[kind].options[0]?.value;
}

export function onDeviceChosen(handler) {
  for (const [kind, select] of Object.entries(selects)) {
    select.addEventListener('change', () => handler(kind, select.value));
  }
}

export function disableDeviceChoice() {
  for (const select of Object.values(selects)) select.disabled = true;
}
