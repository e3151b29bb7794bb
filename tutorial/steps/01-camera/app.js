const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const startButton = document.getElementById('start-button');

function setStatus(state, sentence) {
  statusText.dataset.state = state;
  statusText.textContent = sentence;
}

// What each failure of getUserMedia means, by the error's name.
const EXPLANATIONS = {
  NotAllowedError: 'You (or the browser) refused the camera.',
  NotFoundError: 'There is no camera or no microphone.',
  NotReadableError: 'Another program is using the camera.',
  OverconstrainedError: 'No camera can give what was asked.',
  TypeError: 'This page is not secure: use https:// or http://localhost.',
};

async function start() {
  startButton.disabled = true;
  try {
    // Browsers hide navigator.mediaDevices on pages that are not secure.
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    localVideo.srcObject = stream;
    setStatus('on', 'The camera is on.');
  } catch (error) {
    setStatus('error', `${error.name}: ${EXPLANATIONS[error.name] ?? error.message}`);
    startButton.disabled = false;
  }
}

startButton.addEventListener('click', start);
