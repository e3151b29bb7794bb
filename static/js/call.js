// The call page: the camera, the controls and the status line. The call itself (the
// signaling channel, the Peer, who offers) is a CallSession, which never touches the page:
// this file shows what it says happened.
//   arrival: if the browser already allows the camera, it turns on (a preview)
//   Join:    the camera (unless on) and the session's socket together; see call-session.js

import { openCameraAndMicrophone, explainMediaError } from './media.js';
import { CallSession } from './call-session.js';
import { openChat, closeChat } from './chat.js';
import { listDevices, onDeviceChosen, disableDeviceChoice, DeviceSwitcher } from './devices.js';
import { toggleTracks, showTrackButtons, showShareButton, togglePanel } from './controls.js';
import { ScreenShare } from './screen-share.js';
import { ConnectionCheck } from './connection-check.js';
import { watchStats } from './stats.js';
import { roomSecret, takeSecret, copyLink } from './room-link.js';
import { t } from './i18n.js';

const room = document.querySelector('main').dataset.room;
let secret = roomSecret();
const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
const joinButton = document.getElementById('join-button');
const muteButton = document.getElementById('mute-button');
const cameraButton = document.getElementById('camera-button');
const hangupButton = document.getElementById('hangup-button');
const echoButton = document.getElementById('echo-button');
const chatButton = document.getElementById('chat-button');
const shareButton = document.getElementById('share-button');
const statsButton = document.getElementById('stats-button');
const copyLinkButton = document.getElementById('copy-link-button');
const checkButton = document.getElementById('check-button');
const checkResult = document.getElementById('check-result');
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
  console.log(`[call ${room}] ${text}`);
}

// Every signaling message in and out, as a "signal" event on document: the tutorial's
// step 3 page draws its live log from these.
function announce(direction, message) {
  document.dispatchEvent(new CustomEvent('signal', { detail: { direction, message } }));
}

function setStatus(newState, sentence) {
  state = newState;
  statusText.dataset.state = state;
  statusText.textContent = sentence;
  echoButton.disabled = state !== 'waiting';  // someone to call only while alone
  log(`status ${state}: ${sentence}`);
}

// Buttons show what the person can do next.
function setInCall(inCall) {
  joinButton.disabled = inCall;
  checkButton.disabled = !inCall;  // it needs the ICE servers of the welcome
  hangupButton.disabled = !inCall;
  shareButton.disabled = !inCall || !navigator.mediaDevices?.getDisplayMedia;
  if (!inCall) disableDeviceChoice();
}

// The camera and the microphone: turned on by arriving (previewIfAllowed) or by Join,
// whichever comes first, and off again when we leave. The person sees themselves as soon
// as they are on.
function startCamera() {
  // A preview whose camera was taken away meanwhile (unplugged; a phone's camera is taken
  // from a tab in the background) is no use to a call: start again.
  const ended = localStream?.getTracks().some((track) => track.readyState === 'ended');
  if (camera && !ended) return camera;
  localStream?.getTracks().forEach((track) => track.stop());
  const starting = openCameraAndMicrophone().then((stream) => {
    if (camera !== starting) {  // we left meanwhile (the room was full): off again
      stream.getTracks().forEach((track) => track.stop());
      throw new DOMException('left before the camera started', 'AbortError');
    }
    localStream = stream;
    localVideo.srcObject = stream;
    updateMuteButtons();
    fillDeviceLists(stream);
    return stream;
  }, (error) => {
    if (camera === starting) camera = null;  // the next Join asks again
    throw error;
  });
  camera = starting;
  return camera;
}

async function fillDeviceLists(stream) {
  try {
    await listDevices(stream);
  } catch (error) {
    log(`no device lists: ${error.name}: ${error.message}`);
  }
  if (localStream !== stream) disableDeviceChoice();  // we left meanwhile
}

// A browser that already lets this page use the camera and the microphone (the person
// said yes on an earlier visit) will not ask again: turn them on as the page opens, as
// video-call apps do. The person checks their picture and devices before joining, and
// Join then waits only for the server. Otherwise the camera waits for Join, where the
// browser's question makes sense.
async function previewIfAllowed() {
  const states = await Promise.all(['camera', 'microphone'].map((name) =>
    navigator.permissions?.query({ name }).then(({ state }) => state, () => 'unknown')));
  // Not allowed yet; or Join came first, and turns the camera on itself.
  if (!states.every((permission) => permission === 'granted') || state !== 'idle') return;
  try {
    await startCamera();
  } catch (error) {
    return log(`no preview: ${error.name}: ${error.message}`);  // Join tries again, and says why
  }
  if (state === 'idle') {
    setStatus('idle', t('Your camera is on: only you see it. Press Join to enter the room.'));
  }
}

async function join() {
  joinButton.disabled = true;
  setStatus('starting', localStream ? t('Entering the room…') : t('Starting your camera and microphone…'));
  // The camera and the server at once: each takes a moment, and the offer needs both.
  const current = session = new CallSession({ room, secret, camera: () => camera, on: sessionEvents, log });
  const [media, connection] = await Promise.allSettled([startCamera(), current.join()]);
  if (session !== current) {
    return;  // we left meanwhile (and said why), and may have joined again since
  }
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
  declined: ['declined', t('The person in this room did not let you in.')],
  'nobody-there': ['idle', t('The person you asked has left the room. Press Join to enter it again.')],
  'room-full': ['full', t('This room is full: two people are already in a call here. Choose another room.')],
};

// What the session says happened, shown.
const sessionEvents = {
  waiting: (afterLeave) => setStatus('waiting', afterLeave
    ? t('The other person left. Waiting for someone to join. Share this link: {link}', { link: location.href })
    : t('Waiting for someone to join. Share this link: {link}', { link: location.href })),
  knocking: () => setStatus('knocking', t('Someone is in this room. Waiting for them to let you in…')),
  knock: showKnock,
  connecting: (why) => (why === 'joined'
    ? showProgress('connecting', t('Someone joined. Connecting…'))
    : setStatus('connecting', t('Connecting to the other person…'))),
  connectionState: showConnectionState,
  ended: (code) => leave(...ENDINGS[code]),
  signalingLost: handleSignalingLost,
  remoteStream: (stream) => { remoteVideo.srcObject = stream; },
  peer: openChat,
  peerClosed: () => {
    screenShare.end();
    closeChat();
    remoteVideo.srcObject = null;
  },
  iceServerError: handleIceServerError,
  noPath: (reason) => state !== 'error' && setStatus('no-path', NO_PATH[reason]),
  secret: (roomsSecret) => {  // let in by a knock: our link is the room's now
    secret = roomsSecret;
    takeSecret(secret);
  },
  signal: announce,
};

function showConnectionState(connectionState) {
  switch (connectionState) {
    case 'connecting':
      return showProgress('connecting', t('Connecting to the other person…'));
    case 'connected':
      return showProgress('connected', t('Connected. You are in a call.'));
    case 'disconnected':
      return showProgress('reconnecting', t('The connection is interrupted. Trying to recover…'));
    case 'failed':
      return showProgress('reconnecting', t('The connection failed. Looking for a new path…'));
  }
}

// Why a call could not connect (peer.js gives the reason after CONNECT_SECONDS).
const NO_PATH = {
  'no-relay': t('The call could not connect: no direct path between you and the other person ' +
    'works, and this site has no relay (TURN) server to carry the call.'),
  'relay-unreachable': t('The call could not connect: no direct path between you and the other ' +
    'person works, and the relay (TURN) server cannot be reached from your network.'),
  'no-path': t('The call could not connect: no path between you and the other person works, ' +
    'not even through the relay (TURN) server.'),
};

// What "Check my connection" found, in words.
function describeCheck({ srflx, relays, relayConfigured }) {
  const direct = srflx
    ? t('A direct path is likely: STUN found your public address.')
    : t('No direct path across networks: STUN got no answer.');
  let relay = t('No relay (TURN) server is configured.');
  if (relays.length) {
    relay = t('The relay (TURN) server answers over {transports}.', { transports: relays.join(', ').toUpperCase() });
  } else if (relayConfigured) {
    relay = t('The relay (TURN) server cannot be reached.');
  }
  return `${direct} ${relay}`;
}

async function checkConnection() {
  checkButton.disabled = true;
  checkResult.hidden = false;
  checkResult.textContent = t('Checking your connection…');
  try {
    checkResult.textContent = describeCheck(await new ConnectionCheck({ iceServers: session.iceServers }).run());
  } finally {
    checkButton.disabled = !session;
  }
}

// Keep saying what went wrong (refused TURN credentials, possibly while still alone; no
// path) until the call works.
function showProgress(newState, sentence) {
  if (!['error', 'no-path'].includes(state) || newState === 'connected') {
    setStatus(newState, sentence);
  }
}

// With relay only, a TURN server that refuses us means no path at all: say so now rather
// than after ICE gives up. Otherwise other paths may still work; the log has it.
function handleIceServerError({ url, errorCode, errorText }) {
  if (errorCode === 401 && session?.iceTransportPolicy === 'relay') {
    setStatus('error', t('The relay server {url} refused this call\'s credentials ({code} {reason}). ' +
      'They may have expired: reload the page to get new ones.', { url, code: errorCode, reason: errorText }));
  }
}

// Someone without the link asks to join: only the person waiting lets them in.
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

function handleSignalingLost(retryInMs, callUp) {
  const seconds = (retryInMs / 1000).toFixed(1);
  setStatus('reconnecting', callUp
    ? t('Lost the signaling server; trying again in {seconds} s. Your call goes on.', { seconds })
    : t('Lost the signaling server; trying again in {seconds} s…', { seconds }));
}

function leave(endState, sentence) {
  showKnock(false);
  session?.leave();
  session = null;
  localStream?.getTracks().forEach((track) => track.stop());
  camera = localStream = null;
  localVideo.srcObject = null;
  setInCall(false);
  updateMuteButtons();
  setStatus(endState, sentence);
}

function hangUp() {
  leave('idle', t('You left the call. Press Join to enter the room again.'));
}

// Alone in the room? The server sends in a Python peer (peer.py) that returns your own
// video and sound through a real WebRTC connection: it joins like anyone else.
async function callEchoPeer() {
  echoButton.disabled = true;
  let problem = null;
  try {
    const response = await fetch(`/room/${encodeURIComponent(room)}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: session?.echoToken }),
    });
    if (!response.ok) {
      problem = (await response.json().catch(() => ({}))).error ?? response.statusText;
    }
  } catch (error) {
    problem = t('the server cannot be reached ({reason})', { reason: error.message });
  }
  // Still alone? (The person may have left, or someone else come, meanwhile.)
  if (problem && state === 'waiting') {
    setStatus('waiting', t('The echo peer cannot come: {problem}', { problem }));
  }
}

// Send `newTrack` in place of `oldTrack`, and show the video being sent in the preview.
async function sendAndShow(oldTrack, newTrack) {
  await session?.peer?.replaceTrack(oldTrack, newTrack);
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
hangupButton.addEventListener('click', hangUp);
muteButton.addEventListener('click', () => toggle('audio'));
cameraButton.addEventListener('click', () => toggle('video'));
echoButton.addEventListener('click', callEchoPeer);
chatButton.addEventListener('click', () => togglePanel(chatButton));
statsButton.addEventListener('click', () => togglePanel(statsButton));
copyLinkButton.addEventListener('click', () => copyLink(copyLinkButton, log));
checkButton.addEventListener('click', checkConnection);
admitButton.addEventListener('click', () => answerKnock(true));
declineButton.addEventListener('click', () => answerKnock(false));
watchStats(() => session?.peer?.pc);
shareButton.addEventListener('click', () => screenShare.toggle(localStream.getVideoTracks()[0])
  .catch((error) => log(`screen share did not start: ${error.name}: ${error.message}`)));
onDeviceChosen((kind, deviceId) => devices.choose(kind, deviceId));
navigator.mediaDevices?.addEventListener('devicechange', () => devices.refresh());
setInCall(false);
setStatus('idle', t('Press Join to turn on your camera and enter the room.'));
previewIfAllowed();
