// Step 1 of the post: the camera and the microphone.
// getUserMedia only works in a secure context (https:, or http://localhost). Unless the
// person has already allowed the camera, call it after a click, so that the browser's
// permission prompt makes sense to them.

import { t } from './i18n.js';

export async function openCameraAndMicrophone(constraints = { video: true, audio: true }) {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    // Browsers hide navigator.mediaDevices on insecure pages: there is nothing to call.
    const error = new Error('getUserMedia needs a secure context (https: or localhost).');
    error.name = 'InsecureContextError';
    throw error;
  }
  return navigator.mediaDevices.getUserMedia(constraints);
}

// What to tell a person for each way getUserMedia can fail, by the error's name.
const EXPLANATIONS = {
  NotAllowedError: t('Camera and microphone access was refused. Allow it in the address bar ' +
    '(the camera icon) or in your browser settings, then press Join again.'),
  NotFoundError: t('No camera or microphone was found. Plug one in, or check that your system ' +
    'lets the browser see it, then press Join again.'),
  NotReadableError: t('Your camera or microphone is busy or failed to start. Close other apps ' +
    'or tabs that use it (video calls, camera apps), then press Join again.'),
  OverconstrainedError: t('Your camera cannot provide the requested settings. Try another camera.'),
  InsecureContextError: t('This page is not secure, so the browser hides the camera. Open it over ' +
    'https:// or as http://localhost on the computer running the server.'),
  AbortError: t('The browser stopped the camera from starting. Try again, or restart the browser.'),
  SecurityError: t('The browser blocks camera access on this page (a policy or an iframe). ' +
    'Open the page in its own tab.'),
};

export function explainMediaError(error) {
  return EXPLANATIONS[error.name]
    ?? t('Could not start the camera: {name}: {reason}', { name: error.name, reason: error.message });
}
