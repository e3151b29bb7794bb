// One person's part in a call: the signaling channel, the Peer, who offers, and what each
// message from the server means. Like Peer, it never touches the page: it tells the page
// what happened through the callbacks in `on`, and the page (call.js) shows it.
// Order of events:
//   first person:  join() -> "welcome" (peers: 0) -> a Peer whose offer and candidates
//                  are held -> "peer-joined" -> send them
//   second person: join() -> "welcome" (peers: 1) -> offer -> a Peer -> answer -> media
//   no secret:     join() -> "knocking" ... "welcome" once the one waiting admits us
// The one who waited has their camera on and their offer ready, so it leaves the moment
// the other person arrives.

import { Peer } from './peer.js';
import { SignalingChannel, signalingUrl } from './signaling.js';

// The error codes after which this session is over (the page says why).
const ENDINGS = new Set(['declined', 'nobody-there', 'room-full']);

export class CallSession {
  // camera: () => a promise of the local stream. on: { waiting(afterLeave), knocking(),
  // knock(asking), connecting(why), connectionState(state), ended(code),
  // signalingLost(delayMs, callUp), remoteStream(stream), peer(pc), peerClosed(),
  // iceServerError(event), noPath(reason), secret(secret), signal(direction, message) }.
  constructor({ room, secret, camera, on, log = console.log }) {
    this.room = room;
    this.secret = secret;
    this.camera = camera;
    this.on = on;
    this.log = log;
    this.channel = null;
    this.peer = null;
    this.polite = false;  // the one rule: whoever was in the room first is polite
    this.iceServers = [];
    this.iceTransportPolicy = 'all';
    this.echoToken = null;  // proves to the server that a request for the echo peer is ours
    this.heldSignals = null;  // while alone: our Peer's offer and candidates, kept for whoever joins
  }

  // Resolves once the socket is open; rejects if the server cannot be reached.
  join() {
    this.channel = new SignalingChannel(signalingUrl(this.room), {
      secret: this.secret, log: this.log,
      onMessage: (message) => this.handle(message),
      onDisconnect: (delay) => this.on.signalingLost(delay, this.isCallUp()),
    });
    return this.channel.open();
  }

  // Leaving on purpose: the server tells the other person "peer-left".
  leave() {
    this.channel?.close();
    this.channel = null;
    this.closePeer();
  }

  admit() {
    this.channel?.send({ type: 'admit' });
  }

  decline() {
    this.channel?.send({ type: 'decline' });
  }

  isCallUp() {
    return this.peer?.pc.connectionState === 'connected';
  }

  send(message) {
    if (this.heldSignals) {
      this.heldSignals.push(message);
      return;
    }
    this.on.signal('out', message);
    this.channel?.send(message);
  }

  async handle(message) {
    this.on.signal('in', message);
    switch (message.type) {
      case 'welcome':
        return this.handleWelcome(message);
      case 'knocking':
        return this.on.knocking();
      case 'knock':
        return this.on.knock(true);
      case 'knock-ended':
        return this.on.knock(false);
      case 'peer-joined':
        return this.handlePeerJoined();
      case 'peer-left':
        return this.handlePeerLeft();
      case 'offer':
        return this.handleOffer(message);
      case 'answer':
        return this.peer?.handleDescription(message);
      case 'candidate':
        return this.peer?.handleCandidate(message.candidate);
      case 'error':
        return this.handleServerError(message);
      default:
        this.log(`ignored unknown message type ${message.type}`);
    }
  }

  handleWelcome(welcome) {
    if (welcome.secret) {  // let in by a knock: the room's secret is ours now, for rejoining
      this.secret = this.channel.secret = welcome.secret;
      this.on.secret(welcome.secret);
    }
    this.polite = welcome.polite;
    this.iceServers = welcome.iceServers;
    this.iceTransportPolicy = welcome.iceTransportPolicy ?? 'all';
    this.echoToken = welcome.echoToken;
    if (this.isCallUp()) {
      // Back after losing the signaling server, and the call never stopped: keep it, and
      // take the role this welcome gives (the one who came back first is polite).
      this.peer.polite = this.polite;
      return this.on.connectionState('connected');
    }
    const lostCall = this.peer && !this.heldSignals;  // a call that did not survive (or is not up)
    this.closePeer();
    if (welcome.peers === 0) {
      this.on.waiting(false);
      return this.prepareOffer();
    }
    // We arrived second: the one waiting sends us their offer, and we answer it.
    this.on.connecting('arrived');
    if (lostCall) {
      // But one who kept the call through the outage sends nothing: we start it over. (If
      // they lost it too, both offer, and perfect negotiation keeps one of the two.)
      return this.startPeer();
    }
  }

  // Alone in the room: make our Peer now (its offer needs a moment), and hold what it says
  // until someone joins. The post sent its offer into the empty room, where it was lost.
  prepareOffer() {
    this.heldSignals = [];
    return this.startPeer();
  }

  sendHeldSignals() {
    const messages = this.heldSignals;
    this.heldSignals = null;
    messages.forEach((message) => this.send(message));
  }

  handlePeerJoined() {
    this.polite = true;  // we were there first (after a signaling outage, too)
    if (this.isCallUp()) {
      // They rejoined while we stayed: keep the call.
      this.peer.polite = true;
      return this.log('the other person is back on the signaling server; the call goes on');
    }
    this.on.connecting('joined');
    if (this.heldSignals && this.peer) {
      return this.sendHeldSignals();
    }
    this.closePeer();  // no offer ready, or a call that was not up (it failed, or never connected)
    return this.startPeer();
  }

  async handleOffer(offer) {
    if (this.isFromAnotherConnection(offer)) {
      // The other side lost our call in a signaling outage and started over: our side of
      // the old call is no use now.
      this.log('an offer from a new connection of theirs: starting our side over');
      this.closePeer();
    }
    // The first offer finds us without a Peer: we arrived second, so we answer.
    return (this.peer ?? await this.startPeer()).handleDescription(offer);
  }

  // Each RTCPeerConnection has a certificate of its own, named by the a=fingerprint of
  // every description it makes (ICE restarts included): another one means another connection.
  isFromAnotherConnection(description) {
    const fingerprint = (sdp) => sdp.match(/^a=fingerprint:.*$/m)?.[0];
    const current = this.peer?.pc.remoteDescription;
    return Boolean(current) && fingerprint(current.sdp) !== fingerprint(description.sdp);
  }

  handlePeerLeft() {
    this.closePeer();
    // Whoever stays is now the one who was there first: polite, and the next one to offer.
    this.polite = true;
    this.on.waiting(true);
    return this.prepareOffer();
  }

  handleServerError({ code, message }) {
    this.log(`server error ${code}: ${message}`);
    // With a call up, a room-full means we are back from an outage and our old place is
    // not free yet: the server closes the socket, and the channel tries again.
    if (ENDINGS.has(code) && !(code === 'room-full' && this.isCallUp())) {
      this.on.ended(code);
    }
  }

  async startPeer() {
    const peer = this.peer = new Peer({
      iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy,
      polite: this.polite, log: this.log, sendSignal: (message) => this.send(message),
      localStream: await this.camera(),  // messages can arrive before the camera is ready
      onRemoteStream: this.on.remoteStream,
      onConnectionStateChange: this.on.connectionState,
      onIceServerError: this.on.iceServerError,
      onNoPath: this.on.noPath,
    });
    this.on.peer(peer.pc);
    return peer;
  }

  closePeer() {
    this.on.peerClosed();
    this.peer?.close();
    this.peer = null;
    this.heldSignals = null;  // what a closed Peer said must never be sent
  }
}
