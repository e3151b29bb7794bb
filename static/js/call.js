// The call page: puts the three steps together and keeps the person informed.
// Order of events:
//   arrival:       if the browser already allows the camera, it turns on (a preview)
//   first person:  Join -> camera (unless on) and socket together -> "welcome" (peers: 0)
//                  -> new Peer, whose offer and candidates are held -> "peer-joined"
//                  -> send them
//   second person: Join -> camera (unless on) and socket together -> "welcome" (peers: 1)
//                  -> offer -> new Peer -> answer -> media.
// The one who waited has their camera on and their offer ready, so it leaves the moment
// the other person arrives.

import { openCameraAndMicrophone, explainMediaError } from './media.js';
import { Peer } from './peer.js';
import { SignalingChannel, signalingUrl } from './signaling.js';
import { openChat, closeChat } from './chat.js';
import { listDevices, openDevice, onDeviceChosen, disableDeviceChoice, firstDevice } from './devices.js';
import { ScreenShare } from './screen-share.js';
import { watchStats } from './stats.js';

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
const knockPanel = document.getElementById('knock');
const admitButton = document.getElementById('admit-button');
const declineButton = document.getElementById('decline-button');

let camera = null;  // the promise of the local stream: set when the camera starts
let localStream = null;
let signaling = null;
let peer = null;
let polite = false;
let iceServers = [];
let iceTransportPolicy = 'all';
let echoToken = null;  // proves to the server that a request for the echo peer is ours
let heldSignals = null;  // while we are alone: our Peer's offer and candidates, kept for whoever joins
let deviceSwitches = Promise.resolve();  // one switch at a time
const screenShare = new ScreenShare({ swapVideo: sendAndShow, onChange: updateShareButton });

// The room's secret is the part of its link after "#": browsers never send it in a
// request, so it reaches no server log and no Referer. A page opened without one (a typed
// name, a cut link) makes its own: it opens an empty room with it, or knocks.
function roomSecret() {
  const given = location.hash.slice(1);
  if (/^[A-Za-z0-9_-]{22,64}$/.test(given)) return given;
  const bytes = crypto.getRandomValues(new Uint8Array(16));  // 128 bits
  const made = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  history.replaceState(null, '', `#${made}`);
  return made;
}

function log(text) {
  console.log(`[call ${room}] ${text}`);
}

// Every signaling message in and out, as a "signal" event on document: the tutorial's
// step 3 page draws its live log from these.
function announce(direction, message) {
  document.dispatchEvent(new CustomEvent('signal', { detail: { direction, message } }));
}

function sendSignal(message) {
  if (heldSignals) {
    heldSignals.push(message);
    return;
  }
  announce('out', message);
  signaling.send(message);
}

// Alone in the room: make our Peer now (its offer needs a moment), and hold what it says
// until someone joins. The post sent its offer into the empty room, where it was lost.
function prepareOffer() {
  heldSignals = [];
  return startPeer();
}

function sendHeldSignals() {
  const messages = heldSignals;
  heldSignals = null;
  messages.forEach(sendSignal);
}

function setStatus(state, sentence) {
  statusText.dataset.state = state;
  statusText.textContent = sentence;
  echoButton.disabled = state !== 'waiting';  // someone to call only while alone
  log(`status ${state}: ${sentence}`);
}

// Buttons show what the person can do next.
function setInCall(inCall) {
  joinButton.disabled = inCall;
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
  if (!states.every((state) => state === 'granted') || statusText.dataset.state !== 'idle') return;
  try {
    await startCamera();
  } catch (error) {
    return log(`no preview: ${error.name}: ${error.message}`);  // Join tries again, and says why
  }
  if (statusText.dataset.state === 'idle') {
    setStatus('idle', 'Your camera is on: only you see it. Press Join to enter the room.');
  }
}

async function join() {
  joinButton.disabled = true;
  setStatus('starting', localStream ? 'Entering the room…' : 'Starting your camera and microphone…');
  // The camera and the server at once: each takes a moment, and the offer needs both.
  const channel = signaling = new SignalingChannel(signalingUrl(room), {
    secret, onMessage: handleSignal, onDisconnect: handleSignalingLost, log,
  });
  const [media, connection] = await Promise.allSettled([startCamera(), channel.open()]);
  if (signaling !== channel) {
    return;  // we left meanwhile (and said why), and may have joined again since
  }
  if (media.status === 'rejected') {
    log(`getUserMedia failed: ${media.reason.name}: ${media.reason.message}`);
    return leave('error', explainMediaError(media.reason));
  }
  if (connection.status === 'rejected') {
    log(connection.reason.message);
    return leave('error', 'Cannot reach the signaling server. Is it running? Reload to try again.');
  }
  setInCall(true);
}

async function handleSignal(message) {
  announce('in', message);
  switch (message.type) {
    case 'welcome':
      return handleWelcome(message);
    case 'knocking':
      return setStatus('knocking', 'Someone is in this room. Waiting for them to let you in…');
    case 'knock':
      return showKnock(true);
    case 'knock-ended':
      return showKnock(false);
    case 'peer-joined':
      return handlePeerJoined();
    case 'peer-left':
      return handlePeerLeft();
    case 'offer':
      return handleOffer(message);
    case 'answer':
      return peer?.handleDescription(message);
    case 'candidate':
      return peer?.handleCandidate(message.candidate);
    case 'error':
      return handleServerError(message);
    default:
      log(`ignored unknown message type ${message.type}`);
  }
}

function handleWelcome(welcome) {
  if (welcome.secret) {  // let in by a knock: now our link is the room's, for rejoining
    secret = signaling.secret = welcome.secret;
    history.replaceState(null, '', `#${secret}`);
  }
  const { peers, polite: isPolite, iceServers: servers, iceTransportPolicy: policy } = welcome;
  polite = isPolite;
  iceServers = servers;
  iceTransportPolicy = policy ?? 'all';
  echoToken = welcome.echoToken;
  if (isCallUp()) {
    // Back after losing the signaling server, and the call never stopped: keep it, and
    // take the role this welcome gives (the one who came back first is polite).
    peer.polite = polite;
    return showConnectionState('connected');
  }
  const lostCall = peer && !heldSignals;  // a call that did not survive (or is not up)
  closePeer();
  if (peers === 0) {
    setStatus('waiting', `Waiting for someone to join. Share this link: ${location.href}`);
    return prepareOffer();
  }
  // We arrived second: the one waiting sends us their offer, and we answer it.
  setStatus('connecting', 'Connecting to the other person…');
  if (lostCall) {
    // But one who kept the call through the outage sends nothing: we start it over. (If
    // they lost it too, both offer, and perfect negotiation keeps one of the two.)
    return startPeer();
  }
}

async function handleOffer(offer) {
  if (isFromAnotherConnection(offer)) {
    // The other side lost our call in a signaling outage and started over: our side of
    // the old call is no use now.
    log('an offer from a new connection of theirs: starting our side over');
    closePeer();
  }
  // The first offer finds us without a Peer: we arrived second, so we answer.
  return (peer ?? await startPeer()).handleDescription(offer);
}

// Each RTCPeerConnection has a certificate of its own, named by the a=fingerprint of
// every description it makes (ICE restarts included): another one means another connection.
function isFromAnotherConnection(description) {
  const fingerprint = (sdp) => sdp.match(/^a=fingerprint:.*$/m)?.[0];
  const current = peer?.pc.remoteDescription;
  return Boolean(current) && fingerprint(current.sdp) !== fingerprint(description.sdp);
}

function handlePeerJoined() {
  polite = true;  // we were there first (after a signaling outage, too)
  if (isCallUp()) {
    // They rejoined while we stayed: keep the call.
    peer.polite = true;
    return log('the other person is back on the signaling server; the call goes on');
  }
  showProgress('connecting', 'Someone joined. Connecting…');
  if (heldSignals && peer) {
    return sendHeldSignals();
  }
  closePeer();  // no offer ready, or a call that was not up (it failed, or never connected)
  return startPeer();
}

function isCallUp() {
  return peer?.pc.connectionState === 'connected';
}

async function startPeer() {
  peer = new Peer({
    iceServers, iceTransportPolicy, polite, log, sendSignal,
    localStream: await camera,  // messages can arrive before the camera is ready
    onRemoteStream: (remoteStream) => { remoteVideo.srcObject = remoteStream; },
    onConnectionStateChange: showConnectionState,
    onIceServerError: handleIceServerError,
  });
  openChat(peer.pc);
  return peer;
}

function showConnectionState(state) {
  switch (state) {
    case 'connecting':
      return showProgress('connecting', 'Connecting to the other person…');
    case 'connected':
      return showProgress('connected', 'Connected. You are in a call.');
    case 'disconnected':
      return showProgress('reconnecting', 'The connection is interrupted. Trying to recover…');
    case 'failed':
      return showProgress('reconnecting', 'The connection failed. Looking for a new path…');
  }
}

// Keep saying what went wrong (refused TURN credentials, possibly while still alone) until
// the call works.
function showProgress(state, sentence) {
  if (statusText.dataset.state !== 'error' || state === 'connected') {
    setStatus(state, sentence);
  }
}

// With relay only, a TURN server that refuses us means no path at all: say so now rather
// than after ICE gives up. Otherwise other paths may still work; the log has it.
function handleIceServerError({ url, errorCode, errorText }) {
  if (errorCode === 401 && iceTransportPolicy === 'relay') {
    setStatus('error', `The relay server ${url} refused this call's credentials ` +
      `(${errorCode} ${errorText}). They may have expired: reload the page to get new ones.`);
  }
}

function handlePeerLeft() {
  closePeer();
  // Whoever stays is now the one who was there first: polite, and the next one to offer.
  polite = true;
  setStatus('waiting', `The other person left. Waiting for someone to join. Share this link: ${location.href}`);
  return prepareOffer();
}

// Someone without the link asks to join: only the person waiting lets them in.
function showKnock(knocking) {
  knockPanel.hidden = !knocking;
  // The dialog takes the focus, not Admit: a key pressed at that moment admits nobody.
  if (knocking) knockPanel.focus();
}

function answerKnock(type) {
  showKnock(false);
  signaling?.send({ type });
}

function handleServerError({ code, message }) {
  log(`server error ${code}: ${message}`);
  if (code === 'declined') {
    return leave('declined', 'The person in this room did not let you in.');
  }
  if (code === 'nobody-there') {
    return leave('idle', 'The person you asked has left the room. Press Join to enter it again.');
  }
  // With a call up, we are back from an outage and our old place is not free yet: the
  // server closes the socket, and the signaling channel tries again.
  if (code === 'room-full' && !isCallUp()) {
    leave('full', 'This room is full: two people are already in a call here. Choose another room.');
  }
}

function handleSignalingLost(retryInMs) {
  const seconds = (retryInMs / 1000).toFixed(1);
  setStatus('reconnecting', isCallUp()
    ? `Lost the signaling server; trying again in ${seconds} s. Your call goes on.`
    : `Lost the signaling server; trying again in ${seconds} s…`);
}

function closePeer() {
  screenShare.end();
  closeChat();
  peer?.close();
  peer = null;
  heldSignals = null;  // what a closed Peer said must never be sent
  remoteVideo.srcObject = null;
}

function leave(state, sentence) {
  showKnock(false);
  signaling?.close();
  signaling = null;
  closePeer();
  localStream?.getTracks().forEach((track) => track.stop());
  camera = localStream = null;
  localVideo.srcObject = null;
  setInCall(false);
  updateMuteButtons();
  setStatus(state, sentence);
}

function hangUp() {
  leave('idle', 'You left the call. Press Join to enter the room again.');
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
      body: JSON.stringify({ token: echoToken }),
    });
    if (!response.ok) {
      problem = (await response.json().catch(() => ({}))).error ?? response.statusText;
    }
  } catch (error) {
    problem = `the server cannot be reached (${error.message})`;
  }
  // Still alone? (The person may have left, or someone else come, meanwhile.)
  if (problem && statusText.dataset.state === 'waiting') {
    setStatus('waiting', `The echo peer cannot come: ${problem}`);
  }
}

// Send `newTrack` in place of `oldTrack`, and show the video being sent in the preview.
async function sendAndShow(oldTrack, newTrack) {
  await peer?.replaceTrack(oldTrack, newTrack);
  if (newTrack.kind === 'video') localVideo.srcObject = new MediaStream([newTrack]);
}

// Another camera or microphone, mid-call: a new track replaces the old one on the
// connection (no new offer), and keeps its muted or camera-off state.
// Switches wait for each other: devicechange often fires twice for one plug, and a
// person may choose again before the first switch is done.
function queueDeviceSwitch(kind, deviceId) {
  deviceSwitches = deviceSwitches.then(() => switchDevice(kind, deviceId))
    .catch((error) => log(`device switch failed: ${error.name}: ${error.message}`));
  return deviceSwitches;
}

async function switchDevice(kind, deviceId) {
  if (!localStream) return;
  let track;
  try {
    track = await openDevice(kind, deviceId);
  } catch (error) {
    log(`could not open ${kind} ${deviceId}: ${error.name}: ${error.message}`);
    return localStream && listDevices(localStream);  // the list shows the device in use
  }
  if (!localStream) {  // hung up meanwhile
    return track.stop();
  }
  const [oldTrack] = kind === 'video' ? localStream.getVideoTracks() : localStream.getAudioTracks();
  track.enabled = oldTrack.enabled;
  localStream.removeTrack(oldTrack);
  localStream.addTrack(track);
  if (kind === 'video' && screenShare.active) {
    screenShare.cameraTrack = track;  // it comes back when sharing stops
  } else {
    await sendAndShow(oldTrack, track);
  }
  oldTrack.stop();
  log(`now sending ${track.label}`);
}

// A device plugged in or out: refresh the lists. If the one in use was unplugged, its
// track has ended: carry on with the first one left.
async function handleDeviceChange() {
  if (!localStream) return;
  await listDevices(localStream);
  for (const track of localStream.getTracks()) {
    const replacement = firstDevice(track.kind);
    if (track.readyState === 'ended' && replacement) {
      await queueDeviceSwitch(track.kind, replacement);
    }
  }
}

async function toggleScreenShare() {
  if (screenShare.active) return screenShare.stop();
  try {
    await screenShare.start(localStream.getVideoTracks()[0]);
  } catch (error) {
    // NotAllowedError: the person closed the browser's picker without choosing.
    log(`screen share did not start: ${error.name}: ${error.message}`);
  }
}

function updateShareButton(sharing) {
  shareButton.textContent = sharing ? 'Stop sharing' : 'Share screen';
  shareButton.setAttribute('aria-pressed', String(sharing));
}

// The room's address, with its secret, is the invitation: one click puts it on the clipboard.
async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    copyLinkButton.textContent = 'Link copied';
  } catch (error) {
    log(`could not copy the link: ${error.name}: ${error.message}`);
    copyLinkButton.textContent = 'Copy it from the address bar';
  }
  setTimeout(() => { copyLinkButton.textContent = 'Copy link'; }, 3000);
}

// A button that shows and hides the panel it controls (aria-controls), and says which.
function togglePanel(button) {
  const panel = document.getElementById(button.getAttribute('aria-controls'));
  panel.hidden = !panel.hidden;
  button.setAttribute('aria-expanded', String(!panel.hidden));
}

function toggleTracks(kind) {
  for (const track of localStream.getTracks()) {
    if (track.kind === kind) track.enabled = !track.enabled;
  }
  updateMuteButtons();
}

// Mute and Camera off work whenever the camera is on: in a call, or before Join, so that
// a person can join with either off. A disabled track sends silence or black frames: no
// renegotiation, instant to undo.
function updateMuteButtons() {
  const enabled = (kind) => !localStream || localStream.getTracks().some((t) => t.kind === kind && t.enabled);
  muteButton.disabled = cameraButton.disabled = !localStream;
  muteButton.textContent = enabled('audio') ? 'Mute' : 'Unmute';
  muteButton.setAttribute('aria-pressed', String(!enabled('audio')));
  cameraButton.textContent = enabled('video') ? 'Camera off' : 'Camera on';
  cameraButton.setAttribute('aria-pressed', String(!enabled('video')));
}

joinButton.addEventListener('click', join);
hangupButton.addEventListener('click', hangUp);
muteButton.addEventListener('click', () => toggleTracks('audio'));
cameraButton.addEventListener('click', () => toggleTracks('video'));
echoButton.addEventListener('click', callEchoPeer);
chatButton.addEventListener('click', () => togglePanel(chatButton));
statsButton.addEventListener('click', () => togglePanel(statsButton));
copyLinkButton.addEventListener('click', copyLink);
admitButton.addEventListener('click', () => answerKnock('admit'));
declineButton.addEventListener('click', () => answerKnock('decline'));
watchStats(() => peer?.pc);
shareButton.addEventListener('click', toggleScreenShare);
onDeviceChosen((kind, deviceId) => queueDeviceSwitch(kind, deviceId));
navigator.mediaDevices?.addEventListener('devicechange', handleDeviceChange);
setInCall(false);
setStatus('idle', 'Press Join to turn on your camera and enter the room.');
previewIfAllowed();
