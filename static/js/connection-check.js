// "Check my connection": which paths this network allows for a call, found by gathering
// ICE candidates with the server's configuration, as the pre-call tests of LiveKit and
// Twilio do. Like Peer, it never touches the page: run() resolves with what it found.
//   srflx: a STUN server saw our public address, so a direct path is likely
//   relays: the transports (udp, tcp, tls) over which the TURN server gave us a relay

import { hasRelay } from './peer.js';

export class ConnectionCheck {
  constructor({ iceServers, timeoutMs = 10_000 }) {
    this.iceServers = iceServers;
    this.timeoutMs = timeoutMs;  // an unreachable TURN server over TCP can take long to give up
  }

  async run() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const found = { srflx: false, relays: new Set() };
    pc.createDataChannel('check');  // something to negotiate, so that candidates are gathered
    const gathered = new Promise((resolve) => {
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) return resolve();  // gathering is complete
        if (candidate.type === 'srflx') found.srflx = true;
        if (candidate.type === 'relay') found.relays.add(relayProtocol(candidate));
      };
      setTimeout(resolve, this.timeoutMs);
    });
    try {
      await pc.setLocalDescription();
      await gathered;
    } finally {
      pc.close();
    }
    return { srflx: found.srflx, relays: [...found.relays].sort(), relayConfigured: hasRelay(this.iceServers) };
  }
}

// How we reach the TURN server for this relay candidate: udp, tcp or tls.
function relayProtocol(candidate) {
  if (candidate.relayProtocol) return candidate.relayProtocol;
  if (candidate.url?.startsWith('turns:')) return 'tls';
  return candidate.url?.includes('transport=tcp') ? 'tcp' : 'udp';
}
