// Tutorial step 1: getUserMedia and the local preview, with every failure explained by
// the error's name. It uses the call page's own media.js.

import { openCameraAndMicrophone, explainMediaError } from '../media.js';
import { t } from '../i18n.js';

const statusText = document.getElementById('status');
const preview = document.getElementById('local-video');
const startButton = document.getElementById('start-button');
const stopButton = document.getElementById('stop-button');

function setStatus(state, sentence) {
  statusText.dataset.state = state;
  statusText.textContent = sentence;
  console.log(`[step 1] ${state}: ${sentence}`);
}

async function startCamera() {
  startButton.disabled = true;
  try {
    const stream = await openCameraAndMicrophone();
    preview.srcObject = stream;
    const [video] = stream.getVideoTracks();
    const [audio] = stream.getAudioTracks();
    const { width, height } = video.getSettings();
    setStatus('on', t('Camera on: {camera} ({width}×{height}); microphone: {microphone}.',
      { camera: video.label, width, height, microphone: audio.label }));
    stopButton.disabled = false;
  } catch (error) {
    setStatus('error', `${error.name}: ${explainMediaError(error)}`);
    startButton.disabled = false;
  }
}

// Stopping every track turns the camera light off; pausing the <video> would not.
function stopCamera() {
  preview.srcObject.getTracks().forEach((track) => track.stop());
  preview.srcObject = null;
  stopButton.disabled = true;
  startButton.disabled = false;
  setStatus('idle', t('The camera is off.'));
}

startButton.addEventListener('click', startCamera);
stopButton.addEventListener('click', stopCamera);
