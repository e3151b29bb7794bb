import { Peer } from './peer.js';

const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const videos = document.getElementById('videos');
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
const others = new Map();  // id -> { peer, video, state }: one call for each other person

function send(message) {
  socket.send(JSON.stringify(message));
}

// As many columns as the square root of the number of videos, rounded up: 2 × 2 for four.
function layOut() {
  videos.style.setProperty('--columns', Math.ceil(Math.sqrt(videos.children.length)));
}

function showStatus() {
  const states = [...others.values()].map(({ state }) => state);
  if (states.length === 0) return setStatus('waiting', 'Waiting for someone to join…');
  const connected = states.filter((state) => state === 'connected').length;
  const failed = states.filter((state) => state === 'failed').length;
  const state = failed ? 'failed' : connected === states.length ? 'connected' : 'connecting';
  setStatus(state, `Connected to ${connected} of ${states.length} people` +
    (failed ? `; ${failed} failed.` : '.'));
}

function startPeer(id, polite) {
  const other = { video: document.createElement('video'), state: 'new' };
  other.video.autoplay = other.video.playsInline = true;
  other.video.dataset.id = id;
  videos.append(other.video);
  layOut();
  other.peer = new Peer({
    polite,
    localStream: stream,
    // Each message names whom it is for. (A description's type and sdp are getters,
    // which `...description` would leave out: they are named.)
    sendSignal: ({ type, sdp, candidate }) => send({ type, sdp, candidate, to: id }),
    onRemoteStream: (remoteStream) => { other.video.srcObject = remoteStream; },
    onConnectionStateChange: (state) => {
      other.state = state;
      showStatus();
    },
  });
  others.set(id, other);
  showStatus();
  return other.peer;
}

function closePeer(id) {
  const other = others.get(id);
  if (!other) return;  // they left before calling us
  other.peer.close();
  other.video.remove();
  others.delete(id);
  layOut();
}

async function handleMessage(message) {
  switch (message.type) {
    // Everyone already there calls the newcomer, who is polite toward each of them.
    case 'welcome':
      if (message.members.length === 0) setStatus('waiting', 'Waiting for someone to join…');
      break;
    case 'peer-joined':
      startPeer(message.id, false);  // adding the tracks makes it offer
      break;
    case 'offer':
    case 'answer': {
      // A first offer from someone: we are the newcomer, and polite toward them.
      const peer = others.get(message.from)?.peer ?? startPeer(message.from, true);
      await peer.handleDescription(message);
      break;
    }
    case 'candidate':
      await others.get(message.from)?.peer.handleCandidate(message.candidate);
      break;
    // Only that person's call ends; the others go on.
    case 'peer-left':
      closePeer(message.id);
      showStatus();
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

// Leaving the room is the hang-up: the server tells everyone else (peer-left).
function hangUp() {
  [...others.keys()].forEach(closePeer);
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
