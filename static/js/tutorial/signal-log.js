// The tutorial's list of signaling messages: one line per offer, answer and candidate,
// short enough to read as they pass.

const list = document.getElementById('signal-log');

export function describe(message) {
  switch (message.type) {
    case 'offer':
    case 'answer':
      return `${message.type} (SDP, ${message.sdp.length} characters)`;
    case 'candidate': {
      if (!message.candidate) return 'candidate: null (no more candidates)';
      // Firefox also ends each m= section's (and each ICE restart's) candidates with an
      // empty one, before its null.
      if (!message.candidate.candidate) return `candidate: "" (no more for m= section ${message.candidate.sdpMid})`;
      // "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host ...": address, port, type.
      const fields = message.candidate.candidate.split(' ');
      return `candidate ${fields[2]} ${fields[4]}:${fields[5]} ${fields[7]}`;
    }
    case 'welcome':
      return `welcome (${message.peers} already here; ${message.polite ? 'polite' : 'impolite'})`;
    case 'error':
      return `error ${message.code}: ${message.message}`;
    default:
      return message.type;
  }
}

export function logLine(text) {
  const item = document.createElement('li');
  item.textContent = text;
  list.append(item);
}
