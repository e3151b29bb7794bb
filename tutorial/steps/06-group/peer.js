// One side of one call. It knows nothing of the page or the socket: `sendSignal` carries
// its messages to the other side, and the callbacks tell the page what happened.
// Either side may make an offer at any time ("perfect negotiation"): when both do at
// once, the polite side gives its own up and takes the other's.
export class Peer {
  constructor({ polite, localStream, sendSignal, onRemoteStream, onConnectionStateChange }) {
    this.polite = polite;
    this.sendSignal = sendSignal;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pendingCandidates = [];
    this.remoteStream = null;

    const pc = this.pc = new RTCPeerConnection();
    pc.onicecandidate = ({ candidate }) => sendSignal({ type: 'candidate', candidate });
    // Fires once per track (audio, then video) with the same stream: report it once.
    pc.ontrack = ({ streams: [stream] }) => {
      if (stream === this.remoteStream) return;
      this.remoteStream = stream;
      onRemoteStream(stream);
    };
    pc.onconnectionstatechange = () => onConnectionStateChange(pc.connectionState);

    // Adding tracks (or restartIce) makes the browser ask for a negotiation.
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        sendSignal(pc.localDescription);
      } finally {
        this.makingOffer = false;
      }
    };
    for (const track of localStream.getTracks()) {
      pc.addTrack(track, localStream);
    }
  }

  // An offer or an answer from the other side.
  async handleDescription(description) {
    const pc = this.pc;
    const collision = description.type === 'offer' &&
      (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    // On the polite side, this rolls our own offer back.
    await pc.setRemoteDescription(description);
    for (const candidate of this.pendingCandidates.splice(0)) {
      await this.addCandidate(candidate);
    }
    if (description.type === 'offer') {
      // With a remote offer applied, this makes the answer.
      await pc.setLocalDescription();
      this.sendSignal(pc.localDescription);
    }
  }

  // addIceCandidate throws InvalidStateError if no remote description was ever set:
  // keep candidates that come before it (pc.remoteDescription is null until then).
  async handleCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
    } else {
      await this.addCandidate(candidate);
    }
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // The candidates of an offer we ignored do not apply; any other failure does matter.
      if (!this.ignoreOffer) throw error;
    }
  }

  close() {
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
