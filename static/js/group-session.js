// One person's part in a group call: a mesh, one Peer (peer.js, as in a call of two) for
// each other member. Like CallSession, it never touches the page: it tells the page what
// happened through the callbacks in `on`.
// Who offers (group-spec.md): whoever is already in the room makes a Peer for each
// newcomer ("peer-joined") and offers; the newcomer makes its Peer for a member on that
// member's first offer. For any two, the one who came later is polite, so both know their
// roles without asking:
//   Ana alone:   join() -> "welcome" (members: [])
//   Ben comes:   Ana: "peer-joined" Ben -> Peer (impolite) -> offer to Ben
//                Ben: "welcome" (members: [Ana]) -> Ana's offer -> Peer (polite) -> answer
//   Cara comes:  Ana and Ben each offer to her; she answers both.
// Every message to a Peer carries `to` (its id); every message from one arrives with `from`.

import { Peer } from './peer.js';
import { SignalingChannel, signalingUrl } from './signaling.js';

// The error codes after which this session is over (the page says why).
const ENDINGS = new Set(['declined', 'nobody-there', 'room-full']);

export class GroupSession {
  // camera: () => a promise of the stream to send (asked for each new Peer).
  // on: { waiting(), knocking(), knock(asking), welcome({ id, size }), memberJoined(id),
  // memberLeft(id), remoteStream(id, stream), connectionState(id, state), peer(id, pc),
  // peerClosed(id), ended(code), signalingLost(delayMs), secret(secret), noPath(id, reason),
  // signal(direction, message) }.
  constructor({ room, secret, camera, on, log = console.log }) {
    this.room = room;
    this.secret = secret;
    this.camera = camera;
    this.on = on;
    this.log = log;
    this.channel = null;
    this.id = null;  // ours, from the welcome: new for every socket
    this.size = null;  // the most people the room takes
    this.members = [];  // the others' ids, in the order they came
    this.earlier = new Set();  // those who were here before us: we are polite toward them
    this.peers = new Map();  // id -> Peer, for those we have a connection with
    this.iceServers = [];
    this.iceTransportPolicy = 'all';
  }

  // Resolves once the socket is open; rejects if the server cannot be reached.
  join() {
    this.channel = new SignalingChannel(signalingUrl(this.room, '/ws/group/'), {
      secret: this.secret, log: this.log,
      onMessage: (message) => this.handle(message),
      onDisconnect: (delay) => this.on.signalingLost(delay),
    });
    return this.channel.open();
  }

  // Leaving on purpose: the server tells the others "peer-left".
  leave() {
    this.channel?.close();
    this.channel = null;
    this.closePeers();
    this.members = [];
  }

  admit() {
    this.channel?.send({ type: 'admit' });
  }

  decline() {
    this.channel?.send({ type: 'decline' });
  }

  // Send another track in place of one being sent, to everyone (peer.js replaceTrack).
  async replaceTrack(oldTrack, newTrack) {
    await Promise.all([...this.peers.values()].map((peer) => peer.replaceTrack(oldTrack, newTrack)));
  }

  connectionStates() {
    return this.members.map((id) => this.peers.get(id)?.pc.connectionState ?? 'new');
  }

  send(message) {
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
        return this.handlePeerJoined(message.id);
      case 'peer-left':
        return this.handlePeerLeft(message.id);
      case 'offer':
        return this.handleOffer(message);
      case 'answer':
        return this.peers.get(message.from)?.handleDescription(message);
      case 'candidate':
        return this.peers.get(message.from)?.handleCandidate(message.candidate);
      case 'error':
        return this.handleServerError(message);
      default:
        this.log(`ignored unknown message type ${message.type}`);
    }
  }

  // The first welcome, or a fresh one after the signaling server was lost: our id is new,
  // so every connection starts over (the others offer again).
  handleWelcome(welcome) {
    if (welcome.secret) {  // let in by a knock: the room's secret is ours now, for rejoining
      this.secret = this.channel.secret = welcome.secret;
      this.on.secret(welcome.secret);
    }
    this.closePeers();
    for (const id of this.members) this.on.memberLeft(id);
    this.id = welcome.id;
    this.size = welcome.size;
    this.iceServers = welcome.iceServers;
    this.iceTransportPolicy = welcome.iceTransportPolicy ?? 'all';
    this.members = [...welcome.members];
    this.earlier = new Set(welcome.members);
    this.on.welcome({ id: this.id, size: this.size });
    for (const id of this.members) this.on.memberJoined(id);
    if (!this.members.length) this.on.waiting();
  }

  // A newcomer: we were here first, so we offer (the Peer's negotiationneeded does).
  async handlePeerJoined(id) {
    this.closePeer(id);  // should they come back with the same id, start over
    if (!this.members.includes(id)) this.members.push(id);
    this.on.memberJoined(id);
    await this.startPeer(id);
  }

  handlePeerLeft(id) {
    this.closePeer(id);
    this.members = this.members.filter((member) => member !== id);
    this.on.memberLeft(id);
    if (!this.members.length) this.on.waiting();
  }

  // From someone who was here before us, their first offer finds no Peer: we make it, and
  // answer. Later offers (ICE restarts, renegotiation) go to the Peer we have.
  async handleOffer(offer) {
    if (!this.members.includes(offer.from)) {
      return this.log(`ignored an offer from ${offer.from}, who is not in the room`);
    }
    const peer = this.peers.get(offer.from) ?? await this.startPeer(offer.from);
    return peer?.handleDescription(offer);
  }

  handleServerError({ code, message }) {
    this.log(`server error ${code}: ${message}`);
    // "bad-message" for a `to` who has just left: nothing to do.
    if (ENDINGS.has(code)) this.on.ended(code);
  }

  async startPeer(id) {
    const localStream = await this.camera();  // messages can arrive before the camera is ready
    if (!this.members.includes(id)) return null;  // they left while the camera started
    const peer = new Peer({
      iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy,
      polite: this.earlier.has(id), localStream,
      log: (text) => this.log(`[${id}] ${text}`),
      // An RTCSessionDescription's fields are getters: toJSON() gives a plain object.
      sendSignal: (message) => this.send({ ...(message.toJSON?.() ?? message), to: id }),
      onRemoteStream: (stream) => this.on.remoteStream(id, stream),
      onConnectionStateChange: (state) => this.on.connectionState(id, state),
      onNoPath: (reason) => this.on.noPath(id, reason),
    });
    this.peers.set(id, peer);
    this.on.peer(id, peer.pc);
    return peer;
  }

  closePeer(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    peer.close();
    this.on.peerClosed(id);
  }

  closePeers() {
    for (const id of [...this.peers.keys()]) this.closePeer(id);
  }
}
