// Step 3 of the post: the signaling channel, a WebSocket to this app's /ws/<room>.
// Messages are JSON objects with a "type". Incoming messages are handled strictly one at a
// time, in order: an async handler finishes (say, setRemoteDescription) before the next
// message (say, a candidate that needs that description) is looked at.

export function signalingUrl(room) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/${encodeURIComponent(room)}`;
}

export class SignalingChannel {
  constructor(url, { onMessage, onClose = () => {}, log = console.log }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.log = log;
    this.socket = null;
    this.queue = Promise.resolve();
  }

  // Resolves when the socket is open; rejects if it cannot be opened.
  open() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`could not reach ${this.url}`));
      socket.onmessage = ({ data }) => this.receive(data);
      socket.onclose = ({ code, reason }) => {
        this.log(`signaling closed (${code}${reason ? ` ${reason}` : ''})`);
        if (this.socket === socket) {
          this.socket = null;
          this.queue.then(() => this.onClose({ code, reason }));
        }
      };
    });
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      this.log(`ignored a frame that is not JSON: ${String(data).slice(0, 80)}`);
      return;
    }
    this.queue = this.queue
      .then(() => this.onMessage(message))
      .catch((error) => this.log(`handling ${message.type} failed: ${error.name}: ${error.message}`));
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    } else {
      this.log(`not connected: dropped ${message.type}`);
    }
  }

  // Leaving on purpose: the server tells the other person "peer-left".
  close() {
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'hang up');
  }
}
