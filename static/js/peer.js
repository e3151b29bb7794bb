// Step 2 of the post: the RTCPeerConnection, made whole.
// One Peer is one side of one call. It sends every local ICE candidate, answers offers,
// queues candidates that arrive before the remote description, and uses "perfect
// negotiation" so that either side may (re)offer.
// It knows nothing about WebSockets: `sendSignal` carries its messages to the other side.

// Seconds a call may take to connect before the person is told there is no path: ICE
// can go on checking pairs that will never work (symmetric NATs, no TURN) for minutes.
export const CONNECT_SECONDS = 20;

// Whether `iceServers` name a TURN server, which relays when no direct path works.
export function hasRelay(iceServers) {
  return iceServers.some(({ urls }) => [urls].flat().some((url) => /^turns?:/.test(url)));
}

export class Peer {
  constructor({ iceServers = [], iceTransportPolicy = 'all', polite, localStream, sendSignal,
                onRemoteStream, onConnectionStateChange = () => {}, onIceServerError = () => {},
                onNoPath = () => {}, log = console.log }) {
    this.polite = polite;
    this.sendSignal = sendSignal;
    this.log = log;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pendingCandidates = [];
    this.remoteStream = null;
    this.canRelay = hasRelay(iceServers);
    this.relayGathered = false;  // whether we got a relay candidate: the TURN server answered
    this.restarts = 0;  // ICE restarts of this call so far: descriptions with new ICE credentials
    this.connectTimer = null;
    this.onNoPath = onNoPath;

    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this.pc = pc;
    for (const track of localStream.getTracks()) {
      pc.addTrack(track, localStream);
    }

    // Fires once per track (audio, then video) with the same stream: show it once.
    pc.ontrack = ({ streams: [stream] }) => {
      if (stream && stream !== this.remoteStream) {
        this.remoteStream = stream;
        onRemoteStream(stream);
      }
    };

    // Trickle ICE: every local candidate goes to the other side as soon as it is found;
    // null means "no more candidates".
    pc.onicecandidate = ({ candidate }) => {
      this.sendSignal({ type: 'candidate', candidate });
    };
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate?.type === 'relay') this.relayGathered = true;
    });

    // addTrack (and restartIce) make the browser ask for a negotiation: make the offer.
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.log(`sending ${pc.localDescription.type}`);
        this.sendSignal(pc.localDescription);
      } catch (error) {
        this.log(`could not make an offer: ${error.name}: ${error.message}`);
      } finally {
        this.makingOffer = false;
      }
    };

    // "disconnected" often heals by itself; "failed" needs new candidates: restart ICE.
    // Chromium can report connectionState "failed" while iceConnectionState stays
    // "disconnected", so watch the former. Only the impolite side restarts: if both do,
    // the polite one rolls its own offer back, and Chromium may then leave its remote
    // video frozen (frames decoded, none shown).
    pc.onconnectionstatechange = () => {
      this.log(`connection ${pc.connectionState}`);
      if (pc.connectionState === 'connected') clearTimeout(this.connectTimer);
      if (pc.connectionState === 'failed') this.relayOnlyAfterAFailedRestart();
      if (pc.connectionState === 'failed' && !this.polite) {
        this.log('connection failed: restarting ICE');
        pc.restartIce();
      }
      onConnectionStateChange(pc.connectionState);
    };

    pc.oniceconnectionstatechange = () => this.log(`ICE ${pc.iceConnectionState}`);

    // A STUN or TURN server that cannot be reached (701) or refuses the credentials (401).
    pc.onicecandidateerror = ({ url, errorCode, errorText }) => {
      this.log(`ICE server ${url}: ${errorCode} ${errorText}`);
      onIceServerError({ url, errorCode, errorText });
    };
  }

  // An offer or an answer from the other side.
  async handleDescription(description) {
    const pc = this.pc;
    const offerCollision = description.type === 'offer' &&
      (this.makingOffer || pc.signalingState !== 'stable');
    // Both offered at once: the impolite side ignores the other's offer, the polite side
    // takes it (setRemoteDescription rolls its own offer back).
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) {
      this.log('offer collision: ignoring their offer (we are impolite)');
      return;
    }
    this.log(`received ${description.type}`);
    if (description.type === 'offer') description = this.keepingOurDtlsRole(description);
    if (this.isIceRestart(description)) {
      if (description.type === 'offer') this.relayOnlyAfterAFailedRestart();
      this.restarts += 1;
    }
    if (!pc.remoteDescription) this.startConnectTimer();
    await pc.setRemoteDescription(description);
    await this.addPendingCandidates();
    if (description.type === 'offer') {
      await pc.setLocalDescription();
      this.log(`sending ${pc.localDescription.type}`);
      this.sendSignal(pc.localDescription);
    }
  }

  // Once a call has failed after an ICE restart, the next restart gathers relay candidates
  // only, on both sides: the one who restarts switches on the failure, the one who answers
  // on the restart's offer (both count the same restarts). Whatever broke the direct paths
  // and the mixed ones (a NAT's mappings, a relay closed under a pair), a relay to a relay
  // needs nothing but the TURN server; lib-jitsi-meet falls back the same way.
  relayOnlyAfterAFailedRestart() {
    const configuration = this.pc.getConfiguration();
    if (this.restarts === 0 || !this.canRelay || configuration.iceTransportPolicy === 'relay') return;
    this.log('an ICE restart failed: from now on through the relay (TURN) only');
    this.pc.setConfiguration({ ...configuration, iceTransportPolicy: 'relay' });
  }

  // A description with ICE credentials other than those we have: an ICE restart (their
  // offer, or their answer to ours).
  isIceRestart(description) {
    const ufrag = (sdp) => sdp?.match(/^a=ice-ufrag:(\S+)/m)?.[1];
    const current = this.pc.remoteDescription;
    return Boolean(current) && ufrag(current.sdp) !== ufrag(description.sdp);
  }

  // From the first exchange of descriptions, CONNECT_SECONDS to connect; then say why not:
  // no TURN server configured, none reached (no relay candidate), or not even the relay.
  startConnectTimer() {
    this.connectTimer = setTimeout(() => {
      if (this.pc.connectionState === 'connected') return;
      let reason = 'no-path';
      if (!this.canRelay) reason = 'no-relay';
      else if (!this.relayGathered) reason = 'relay-unreachable';
      this.log(`not connected after ${CONNECT_SECONDS} s: ${reason}`);
      this.onNoPath(reason);
    }, CONNECT_SECONDS * 1000);
  }

  // A new offer on a connection where we are the DTLS server is read as "the other side
  // stays the DTLS client" (a=setup:active in place of actpass), so that our answer keeps
  // our role. Firefox (153) otherwise answers every offer with a=setup:active, even where
  // it is the server: a switch of roles that Chromium refuses ("Failed to set SSL role for
  // the transport"), so an ICE restart or any new offer from Chromium to a Firefox that
  // made the first offer failed, and the call with it. The answerer keeps its role (RFC
  // 8842), as Chromium's answers do.
  keepingOurDtlsRole(offer) {
    if (this.dtlsRole() !== 'passive') return offer;
    return { type: 'offer', sdp: offer.sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active') };
  }

  // 'active' (DTLS client) or 'passive' (DTLS server) on this connection so far, as its
  // last completed offer and answer set it; null before the first answer.
  dtlsRole() {
    const { currentLocalDescription: local, currentRemoteDescription: remote } = this.pc;
    if (!local || !remote) return null;
    const setup = (description) => description.sdp.match(/^a=setup:(\w+)/m)?.[1];
    if (local.type === 'answer') return setup(local);
    return { active: 'passive', passive: 'active' }[setup(remote)] ?? null;
  }

  // A candidate from the other side: too early without a remote description, so queue it.
  async handleCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    await this.addCandidate(candidate);
  }

  async addPendingCandidates() {
    const queued = this.pendingCandidates.splice(0);
    for (const candidate of queued) {
      await this.addCandidate(candidate);
    }
  }

  async addCandidate(candidate) {
    try {
      // No argument is the spec's way to say "end of candidates".
      await (candidate ? this.pc.addIceCandidate(candidate) : this.pc.addIceCandidate());
    } catch (error) {
      // Candidates of an offer we ignored fail to apply; that is expected.
      if (!this.ignoreOffer) {
        this.log(`could not add a candidate: ${error.name}: ${error.message}`);
      }
    }
  }

  // Send another track in place of one being sent (another camera, a shared screen). The
  // codec and the connection stay as they are, so nothing is renegotiated.
  async replaceTrack(oldTrack, newTrack) {
    const sender = this.pc.getSenders().find((candidate) => candidate.track === oldTrack);
    await sender?.replaceTrack(newTrack);
  }

  close() {
    clearTimeout(this.connectTimer);
    this.pc.ontrack = this.pc.onicecandidate = this.pc.onnegotiationneeded = null;
    this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
    this.pc.onicecandidateerror = null;
    this.pc.close();
  }
}
