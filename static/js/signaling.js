// Step 3 of the post: the signaling channel, a WebSocket to this app's /ws/<room>.
// Messages are JSON objects with a "type". Incoming messages are handled strictly one at a
// time, in order: an async handler finishes (say, setRemoteDescription) before the next
// message (say, a candidate that needs that description) is looked at.
// The first message on every socket is {type: 'join', secret}: the room's secret, the part
// of its link after "#", which never travels in a URL the server logs.
// If the socket drops, it comes back by itself, waiting longer after each failed try;
// the server then sends a new "welcome".

// At most 2 s between tries, so a returning server is found within seconds; each delay
// is shortened at random so that many pages do not all knock at the same instant.
const RETRY_DELAYS_MS = [250, 500, 1000, 2000];

// path: '/ws/' for a call of two, '/ws/group/' for a group call (another room, same name).
export function signalingUrl(room, path = '/ws/') {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}${encodeURIComponent(room)}`;
}

export class SignalingChannel {
  constructor(url, { secret, onMessage, onDisconnect = () => {}, log = console.log }) {
    this.url = url;
    this.secret = secret;  // the page may change it (a knock let us in: we get the room's)
    this.onMessage = onMessage;
    this.onDisconnect = onDisconnect;
    this.log = log;
    this.socket = null;
    this.failedTries = 0;
    this.retryTimer = null;
    this.queue = Promise.resolve();
  }

  // Resolves when the socket is open; rejects if it cannot be opened.
  open() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onopen = () => {
        this.failedTries = 0;
        socket.send(JSON.stringify({ type: 'join', secret: this.secret }));
        resolve();
      };
      socket.onerror = () => reject(new Error(`could not reach ${this.url}`));
      socket.onmessage = ({ data }) => this.receive(data);
      socket.onclose = ({ code, reason }) => {
        this.log(`signaling closed (${code}${reason ? ` ${reason}` : ''})`);
        if (this.socket === socket) {
          this.retryLater();
        }
      };
    });
  }

  // Not closed by us: try again after a delay that grows with each failed try.
  retryLater() {
    const longest = RETRY_DELAYS_MS[Math.min(this.failedTries, RETRY_DELAYS_MS.length - 1)];
    const delay = Math.round(longest * (0.5 + Math.random() / 2));
    this.failedTries += 1;
    this.queue.then(() => this.socket && this.onDisconnect(delay));  // unless we left meanwhile
    this.retryTimer = setTimeout(() => {
      this.log('signaling: reconnecting');
      this.open().catch(() => {});  // a failed try closes, and onclose retries again
    }, delay);
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
      // After close() (a hang-up), what is still queued belongs to a call that is over.
      .then(() => this.socket && this.onMessage(message))
      .catch((error) => this.log(`handling ${message.type} failed: ${error.name}: ${error.message}`));
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    } else {
      this.log(`not connected: dropped ${message.type}`);
    }
  }

  // Leaving on purpose: no more retries, and the server tells the other person "peer-left".
  close() {
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'hang up');
  }
}
