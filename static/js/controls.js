// The buttons both call pages share (call.js, group.js): Mute and Camera off, Share screen,
// and the buttons that open a panel.

import { t } from './i18n.js';

// Mute and Camera off work whenever the camera is on: in a call, or before Join, so that
// a person can join with either off. A disabled track sends silence or black frames on
// every connection it is on: no renegotiation, instant to undo.
export function toggleTracks(stream, kind) {
  for (const track of stream.getTracks()) {
    if (track.kind === kind) track.enabled = !track.enabled;
  }
}

export function showTrackButtons(stream, { mute, camera }) {
  const enabled = (kind) => !stream || stream.getTracks().some((track) => track.kind === kind && track.enabled);
  mute.disabled = camera.disabled = !stream;
  mute.textContent = enabled('audio') ? t('Mute') : t('Unmute');
  mute.setAttribute('aria-pressed', String(!enabled('audio')));
  camera.textContent = enabled('video') ? t('Camera off') : t('Camera on');
  camera.setAttribute('aria-pressed', String(!enabled('video')));
}

export function showShareButton(button, sharing) {
  button.textContent = sharing ? t('Stop sharing') : t('Share screen');
  button.setAttribute('aria-pressed', String(sharing));
}

// A button that shows and hides the panel it controls (aria-controls), and says which.
export function togglePanel(button) {
  const panel = document.getElementById(button.getAttribute('aria-controls'));
  panel.hidden = !panel.hidden;
  button.setAttribute('aria-expanded', String(!panel.hidden));
}
