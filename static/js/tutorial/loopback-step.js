// Tutorial step 2: a caller and a callee in one page, made of the call page's own Peer
// (peer.js). Their sendSignal hands each message straight to the other side: the job
// the signaling server takes over in step 3.

import { openCameraAndMicrophone, explainMediaError } from '../media.js';
import { t } from '../i18n.js';
import { Peer } from '../peer.js';
import { describe, logLine } from './signal-log.js';

const statusText = document.getElementById('status');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
const callButton = document.getElementById('call-button');
const hangupButton = document.getElementById('hangup-button');

let stream = null;
let caller = null;
let callee = null;

function setStatus(state, sentence) {
  statusText.dataset.state = state;
  statusText.textContent = sentence;
}

// What a network would do: deliver later, not during the sender's own call.
function carry(from, to, message) {
  logLine(`${from} → ${to}: ${describe(message)}`);
  setTimeout(() => receive(to, message));
}

async function receive(name, message) {
  if (!caller) return;  // hung up while this message was on its way
  if (name === 'callee' && !callee) {
    // As on the call page, the callee's Peer is made when the first offer arrives.
    callee = makePeer('callee', true, (remoteStream) => { remoteVideo.srcObject = remoteStream; });
  }
  const peer = name === 'caller' ? caller : callee;
  if (message.type === 'candidate') {
    await peer?.handleCandidate(message.candidate);
  } else {
    await peer?.handleDescription(message);
  }
}

function makePeer(name, polite, onRemoteStream) {
  const other = name === 'caller' ? 'callee' : 'caller';
  return new Peer({
    polite,
    localStream: stream,
    sendSignal: (message) => carry(name, other, JSON.parse(JSON.stringify(message))),
    onRemoteStream,
    onConnectionStateChange: (state) => {
      logLine(`${name}: connection ${state}`);
      if (name === 'callee' && state === 'connected') {
        setStatus('connected', t('Connected: the callee receives the caller\'s camera.'));
      }
    },
    log: (text) => console.log(`[${name}] ${text}`),
  });
}

async function call() {
  callButton.disabled = true;
  try {
    stream = await openCameraAndMicrophone();
  } catch (error) {
    callButton.disabled = false;
    return setStatus('error', `${error.name}: ${explainMediaError(error)}`);
  }
  localVideo.srcObject = stream;
  setStatus('connecting', t('Connecting the caller to the callee…'));
  // Adding the tracks makes the caller's browser fire negotiationneeded: it offers.
  caller = makePeer('caller', false, () => {});
  hangupButton.disabled = false;
}

function hangUp() {
  caller?.close();
  callee?.close();
  caller = callee = null;
  stream?.getTracks().forEach((track) => track.stop());
  localVideo.srcObject = remoteVideo.srcObject = stream = null;
  hangupButton.disabled = true;
  callButton.disabled = false;
  setStatus('idle', t('Hung up. Press Call to start again.'));
}

callButton.addEventListener('click', call);
hangupButton.addEventListener('click', hangUp);
