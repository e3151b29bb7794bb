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

// Another camera or microphone, mid-call: a new track replaces the old one on every
// connection (no new offer), and keeps its muted or camera-off state. Switches wait for
// each other: devicechange often fires twice for one plug, and a person may choose again
// before the first switch is done.
export class DeviceSwitcher {
  // stream(): the stream being sent, or null once the person left. While the screen is
  // shared, a new camera waits in its place (screenShare.cameraTrack). send(oldTrack,
  // newTrack): send the new track where the old one went, and show it.
  constructor({ stream, screenShare, send, log }) {
    this.stream = stream;
    this.screenShare = screenShare;
    this.send = send;
    this.log = log;
    this.queue = Promise.resolve();
  }

  choose(kind, deviceId) {
    this.queue = this.queue.then(() => this.switchTo(kind, deviceId))
      .catch((error) => this.log(`device switch failed: ${error.name}: ${error.message}`));
    return this.queue;
  }

  async switchTo(kind, deviceId) {
    if (!this.stream()) return;
    let track;
    try {
      track = await openDevice(kind, deviceId);
    } catch (error) {
      this.log(`could not open ${kind} ${deviceId}: ${error.name}: ${error.message}`);
      return this.stream() && listDevices(this.stream());  // the list shows the device in use
    }
    const stream = this.stream();
    if (!stream) return track.stop();  // left meanwhile
    const [oldTrack] = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
    track.enabled = oldTrack.enabled;
    stream.removeTrack(oldTrack);
    stream.addTrack(track);
    if (kind === 'video' && this.screenShare.active) {
      this.screenShare.cameraTrack = track;  // it comes back when sharing stops
    } else {
      await this.send(oldTrack, track);
    }
    oldTrack.stop();
    this.log(`now sending ${track.label}`);
  }

  // A device plugged in or out: refresh the lists. If the one in use was unplugged, its
  // track has ended: carry on with the first one left.
  async refresh() {
    const stream = this.stream();
    if (!stream) return;
    await listDevices(stream);
    for (const track of stream.getTracks()) {
      const replacement = firstDevice(track.kind);
      if (track.readyState === 'ended' && replacement) await this.choose(track.kind, replacement);
    }
  }
}
