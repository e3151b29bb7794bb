// The group call page: our camera, a tile for each other person, the controls and the
// status line. The call itself (the signaling channel, one Peer per person, who offers) is
// a GroupSession, which never touches the page: this file shows what it says happened.

import { openCameraAndMicrophone, explainMediaError } from './media.js';
import { GroupSession } from './group-session.js';
import { addChat, removeChat, closeChat } from './chat.js';
import { listDevices, onDeviceChosen, disableDeviceChoice, DeviceSwitcher } from './devices.js';
import { toggleTracks, showTrackButtons, showShareButton, togglePanel } from './controls.js';
import { ScreenShare } from './screen-share.js';
import { watchStats } from './stats.js';
import { roomSecret, takeSecret, copyLink } from './room-link.js';
import { t } from './i18n.js';

// In a mesh, each person's camera is sent once to every other person: a modest picture
// keeps three uploads within a home connection (a tile is half the screen at most).
const CAMERA = { video: { width: { ideal: 480 }, height: { ideal: 360 } }, audio: true };

const room = document.querySelector('main').dataset.room;
const secret = roomSecret();
const statusText = document.getElementById('status');
const tiles = document.getElementById('tiles');
const localVideo = document.getElementById('local-video');
const localName = document.getElementById('local-name');
const joinButton = document.getElementById('join-button');
const muteButton = document.getElementById('mute-button');
const cameraButton = document.getElementById('camera-button');
const shareButton = document.getElementById('share-button');
const chatButton = document.getElementById('chat-button');
const statsButton = document.getElementById('stats-button');
const statsPeer = document.getElementById('stats-peer');
const leaveButton = document.getElementById('hangup-button');
const copyLinkButton = document.getElementById('copy-link-button');
const knockPanel = document.getElementById('knock');
const admitButton = document.getElementById('admit-button');
const declineButton = document.getElementById('decline-button');

let state = 'idle';  // what #status says, by name (data-state)
let camera = null;  // the promise of the local stream: set when the camera starts
let localStream = null;
let session = null;  // the call we are in, from Join to leaving
const screenShare = new ScreenShare({ swapVideo: sendAndShow, onChange: (sharing) => showShareButton(shareButton, sharing) });
const devices = new DeviceSwitcher({ stream: () => localStream, screenShare, send: sendAndShow, log });

function log(text) {
  console.log(`[group ${room}] ${text}`);
}

function setStatus(newState, sentence) {
  state = newState;
  statusText.dataset.state = state;
  statusText.textContent = sentence;
  log(`status ${state}: ${sentence}`);
}

// Buttons show what the person can do next.
function setInCall(inCall) {
  joinButton.disabled = inCall;
  leaveButton.disabled = !inCall;
  shareButton.disabled = !inCall || !navigator.mediaDevices?.getDisplayMedia;
  if (!inCall) disableDeviceChoice();
}

// Each person by their id, which every page of the room sees the same.
function nameOf(id) {
  return t('Person {id}', { id });
}

function startCamera() {
  if (camera) return camera;
  const starting = openCameraAndMicrophone(CAMERA).then((stream) => {
    if (camera !== starting) {  // we left meanwhile (the room was full): off again
      stream.getTracks().forEach((track) => track.stop());
      throw new DOMException('left before the camera started', 'AbortError');
    }
    localStream = stream;
    localVideo.srcObject = stream;
    updateMuteButtons();
    listDevices(stream).catch((error) => log(`no device lists: ${error.name}: ${error.message}`));
    return stream;
  }, (error) => {
    if (camera === starting) camera = null;  // the next Join asks again
    throw error;
  });
  camera = starting;
  return camera;
}

// What a new connection sends: the camera, or the screen while it is shared.
async function streamToSend() {
  const stream = await camera;
  if (!screenShare.active) return stream;
  return new MediaStream([...stream.getAudioTracks(), screenShare.screenTrack]);
}

async function join() {
  joinButton.disabled = true;
  setStatus('starting', t('Starting your camera and microphone…'));
  // The camera and the server at once: each takes a moment.
  const current = session = new GroupSession({ room, secret, camera: streamToSend, on: sessionEvents, log });
  const [media, connection] = await Promise.allSettled([startCamera(), current.join()]);
  if (session !== current) return;  // we left meanwhile (and said why)
  if (media.status === 'rejected') {
    log(`getUserMedia failed: ${media.reason.name}: ${media.reason.message}`);
    return leave('error', explainMediaError(media.reason));
  }
  if (connection.status === 'rejected') {
    log(connection.reason.message);
    return leave('error', t('Cannot reach the signaling server. Is it running? Reload to try again.'));
  }
  setInCall(true);
}

// The server's reasons for ending a session (error codes), and what the page says then.
const ENDINGS = {
  declined: ['declined', t('Someone in this room did not let you in.')],
  'nobody-there': ['idle', t('Everyone in this room has left. Press Join to enter it again.')],
  'room-full': ['full', t('This group call is full. Choose another room.')],
};

// What the session says happened, shown.
const sessionEvents = {
  welcome: ({ id }) => { localName.textContent = t('You ({id})', { id }); },
  waiting: () => showPeople(),
  knocking: () => setStatus('knocking', t('Someone is in this room. Waiting for them to let you in…')),
  knock: showKnock,
  memberJoined: (id) => { addTile(id); showPeople(); },
  memberLeft: (id) => { removeTile(id); showPeople(); },
  remoteStream: (id, stream) => {
    const video = tileOf(id)?.querySelector('video');
    if (video) video.srcObject = stream;
  },
  connectionState: (id, connectionState) => {
    tileOf(id)?.setAttribute('data-connection', connectionState);
    showPeople();
  },
  peer: (id, pc) => {
    addChat(id, pc, nameOf(id));
    statsPeer.append(new Option(nameOf(id), id));
  },
  peerClosed: (id) => {
    removeChat(id);
    statsPeer.querySelector(`option[value="${id}"]`)?.remove();
  },
  noPath: (id) => setStatus('no-path', t('{name} cannot be reached: no path between your networks works.',
    { name: nameOf(id) })),
  ended: (code) => leave(...ENDINGS[code]),
  signalingLost: (retryInMs) => setStatus('reconnecting',
    t('Lost the signaling server; trying again in {seconds} s…', { seconds: (retryInMs / 1000).toFixed(1) })),
  secret: takeSecret,
  // Every signaling message in and out, as a "signal" event on document (as call.js does).
  signal: (direction, message) => document.dispatchEvent(new CustomEvent('signal', { detail: { direction, message } })),
};

// How many are here, and whether every connection is up.
function showPeople() {
  if (!session?.id) return;
  const count = session.members.length + 1;
  if (count === 1) {
    return setStatus('waiting', t('You are the only one here. Share this link; up to {others} more people can join: {link}',
      { others: session.size - 1, link: location.href }));
  }
  const states = session.connectionStates();
  if (states.every((connectionState) => connectionState === 'connected')) {
    return setStatus('connected', t('{count} people are in this call.', { count }));
  }
  // A connection that cannot be made keeps saying so until it is.
  if (state !== 'no-path') setStatus('connecting', t('{count} people are in this call. Connecting…', { count }));
}

function tileOf(id) {
  return tiles.querySelector(`[data-peer-id="${id}"]`);
}

function addTile(id) {
  if (tileOf(id)) return;
  const tile = document.createElement('figure');
  tile.className = 'tile';
  tile.dataset.peerId = id;
  const video = document.createElement('video');
  video.autoplay = video.playsInline = true;
  video.setAttribute('aria-label', nameOf(id));
  const caption = document.createElement('figcaption');
  caption.textContent = nameOf(id);
  tile.append(video, caption);
  tiles.append(tile);
  tiles.dataset.count = tiles.children.length;  // style.css lays the grid out by it
}

function removeTile(id) {
  tileOf(id)?.remove();
  tiles.dataset.count = tiles.children.length;
}

// Someone without the link asks to join: any of us may let them in; the first answer wins.
function showKnock(knocking) {
  knockPanel.hidden = !knocking;
  // The dialog takes the focus, not Admit: a key pressed at that moment admits nobody.
  if (knocking) knockPanel.focus();
}

function answerKnock(admit) {
  showKnock(false);
  if (admit) session?.admit();
  else session?.decline();
}

function leave(endState, sentence) {
  showKnock(false);
  screenShare.end();
  session?.leave();
  session = null;
  closeChat();
  for (const tile of tiles.querySelectorAll('[data-peer-id]')) removeTile(tile.dataset.peerId);
  localStream?.getTracks().forEach((track) => track.stop());
  camera = localStream = null;
  localVideo.srcObject = null;
  localName.textContent = t('You');
  setInCall(false);
  updateMuteButtons();
  setStatus(endState, sentence);
}

// Send `newTrack` in place of `oldTrack` to everyone, and show the video being sent.
async function sendAndShow(oldTrack, newTrack) {
  await session?.replaceTrack(oldTrack, newTrack);
  if (newTrack.kind === 'video') localVideo.srcObject = new MediaStream([newTrack]);
}

function toggle(kind) {
  toggleTracks(localStream, kind);
  updateMuteButtons();
}

function updateMuteButtons() {
  showTrackButtons(localStream, { mute: muteButton, camera: cameraButton });
}

joinButton.addEventListener('click', join);
leaveButton.addEventListener('click', () => leave('idle', t('You left the call. Press Join to enter the room again.')));
muteButton.addEventListener('click', () => toggle('audio'));
cameraButton.addEventListener('click', () => toggle('video'));
shareButton.addEventListener('click', () => screenShare.toggle(localStream.getVideoTracks()[0])
  .catch((error) => log(`screen share did not start: ${error.name}: ${error.message}`)));
chatButton.addEventListener('click', () => togglePanel(chatButton));
statsButton.addEventListener('click', () => togglePanel(statsButton));
copyLinkButton.addEventListener('click', () => copyLink(copyLinkButton, log));
admitButton.addEventListener('click', () => answerKnock(true));
declineButton.addEventListener('click', () => answerKnock(false));
watchStats(() => session?.peers.get(statsPeer.value)?.pc);
onDeviceChosen((kind, deviceId) => devices.choose(kind, deviceId));
navigator.mediaDevices?.addEventListener('devicechange', () => devices.refresh());
setInCall(false);
updateMuteButtons();
setStatus('idle', t('Press Join to turn on your camera and enter the group call.'));
