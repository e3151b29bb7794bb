const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
const joinButton = document.getElementById('join-button');
const roomInput = document.getElementById('room');

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

let socket;
let stream;
let pc;

function send(message) {
  socket.send(JSON.stringify(message));
}

// One end of the call; its offer, answer and candidates go to the other browser
// through the server.
function makePeerConnection() {
  pc = new RTCPeerConnection();
  pc.onicecandidate = ({ candidate }) => send({ type: 'candidate', candidate });
  // Fires once per track (audio, then video) with the same stream: show it once.
  pc.ontrack = ({ streams: [remoteStream] }) => {
    if (remoteVideo.srcObject !== remoteStream) remoteVideo.srcObject = remoteStream;
  };
  pc.onconnectionstatechange = () => {
    setStatus(pc.connectionState, `The call is ${pc.connectionState}.`);
  };
  for (const track of stream.getTracks()) {
    pc.addTrack(track, stream);
  }
}

async function handleMessage(message) {
  switch (message.type) {
    case 'welcome':
      if (message.others === 0) setStatus('waiting', 'Waiting for someone to join…');
      break;
    // Whoever was there first calls, and only once someone is there to answer.
    case 'peer-joined':
      makePeerConnection();
      await pc.setLocalDescription(await pc.createOffer());
      send(pc.localDescription);
      break;
    // The other one answers.
    case 'offer':
      makePeerConnection();
      await pc.setRemoteDescription(message);
      await pc.setLocalDescription(await pc.createAnswer());
      send(pc.localDescription);
      break;
    case 'answer':
      await pc.setRemoteDescription(message);
      break;
    case 'candidate':
      await pc.addIceCandidate(message.candidate);
      break;
  }
}

async function join() {
  joinButton.disabled = true;
  try {
    // Browsers hide navigator.mediaDevices on pages that are not secure.
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    localVideo.srcObject = stream;
  } catch (error) {
    setStatus('error', `${error.name}: ${EXPLANATIONS[error.name] ?? error.message}`);
    joinButton.disabled = false;
    return;
  }
  // ws: next to http:, wss: next to https: (a page on https: may not open a ws: socket).
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = new WebSocket(`${scheme}//${location.host}/ws/${encodeURIComponent(roomInput.value)}`);
  socket.onmessage = (event) => handleMessage(JSON.parse(event.data));
  socket.onclose = ({ reason }) => setStatus('closed', reason || 'The server closed the connection.');
}

joinButton.addEventListener('click', join);
