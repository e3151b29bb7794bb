const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
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

// Two ends of one call in one page: `caller` sends the camera, `callee` receives it.
// What one end gives the other (offer, answer, candidates) is handed over directly;
// in step 3 a server will carry it between two browsers.
async function call(stream) {
  const caller = new RTCPeerConnection();
  const callee = new RTCPeerConnection();

  // One handler per side, and each sends its own candidates to the other side.
  caller.onicecandidate = ({ candidate }) => callee.addIceCandidate(candidate);
  callee.onicecandidate = ({ candidate }) => caller.addIceCandidate(candidate);

  // Fires once per track (audio, then video) with the same stream: show it once.
  callee.ontrack = ({ streams: [remoteStream] }) => {
    if (remoteVideo.srcObject !== remoteStream) remoteVideo.srcObject = remoteStream;
  };
  callee.onconnectionstatechange = () => {
    setStatus(callee.connectionState, `The call is ${callee.connectionState}.`);
  };

  for (const track of stream.getTracks()) {
    caller.addTrack(track, stream);
  }
  await caller.setLocalDescription(await caller.createOffer());
  await callee.setRemoteDescription(caller.localDescription);
  await callee.setLocalDescription(await callee.createAnswer());
  await caller.setRemoteDescription(callee.localDescription);
}

async function start() {
  startButton.disabled = true;
  try {
    // Browsers hide navigator.mediaDevices on pages that are not secure.
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    localVideo.srcObject = stream;
    setStatus('on', 'The camera is on.');
    await call(stream);
  } catch (error) {
    setStatus('error', `${error.name}: ${EXPLANATIONS[error.name] ?? error.message}`);
    startButton.disabled = false;
  }
}

startButton.addEventListener('click', start);
