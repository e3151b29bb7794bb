import { Peer } from './peer.js';

const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
const joinButton = document.getElementById('join-button');
const hangUpButton = document.getElementById('hang-up-button');
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
let peer = null;
let polite = false;

function send(message) {
  socket.send(JSON.stringify(message));
}

function startPeer() {
  peer = new Peer({
    polite,
    localStream: stream,
    sendSignal: send,
    onRemoteStream: (remoteStream) => { remoteVideo.srcObject = remoteStream; },
    onConnectionStateChange: (state) => setStatus(state, `The call is ${state}.`),
  });
}

function closePeer() {
  peer?.close();
  peer = null;
  remoteVideo.srcObject = null;
}

async function handleMessage(message) {
  switch (message.type) {
    // Who came second is polite; whoever was there first calls when someone arrives.
    case 'welcome':
      polite = message.others > 0;
      if (!polite) setStatus('waiting', 'Waiting for someone to join…');
      break;
    case 'peer-joined':
      startPeer();  // adding the tracks makes it offer
      break;
    case 'offer':
    case 'answer':
      if (!peer) startPeer();
      await peer.handleDescription(message);
      break;
    case 'candidate':
      await peer?.handleCandidate(message.candidate);
      break;
    // Alone again: the next one to join will be the polite one.
    case 'peer-left':
      closePeer();
      polite = false;
      setStatus('waiting', 'The other person left. Waiting for someone to join…');
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
  // One message at a time, in order: an answer must be applied before the offer that
  // follows it is looked at, or that offer looks like a collision.
  let handling = Promise.resolve();
  socket.onmessage = (event) => {
    handling = handling.then(() => handleMessage(JSON.parse(event.data))).catch(console.error);
  };
  socket.onclose = ({ reason }) => setStatus('closed', reason || 'The server closed the connection.');
  hangUpButton.disabled = false;
}

// Leaving the room is the hang-up: the server tells the other person (peer-left).
function hangUp() {
  closePeer();
  socket.onclose = null;
  socket.close();
  stream.getTracks().forEach((track) => track.stop());
  localVideo.srcObject = null;
  hangUpButton.disabled = true;
  joinButton.disabled = false;
  setStatus('idle', 'You hung up. Press Join to call again.');
}

joinButton.addEventListener('click', join);
hangUpButton.addEventListener('click', hangUp);
