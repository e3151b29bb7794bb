"""The client's TCP socket as simple-websocket (under flask-sock) gets it: swapped in
before the WebSocket handshake, so that

- every write is whole (sendall: a plain send() may write part of a frame on a slow link,
  simple-websocket's issue #45) and one at a time (its reader thread writes pongs and close
  replies while our mailbox thread writes messages);
- what arrives is counted as it arrives: a client sending faster than any call needs is
  cut off, even while nothing reads its messages yet;
- over TLS, what is already decrypted is read at once (select() cannot see it);
- permessage-deflate is never agreed: a few compressed bytes could otherwise inflate to a
  message near the size cap, and every size we check is then the size on the wire.

flask-sock creates simple_websocket.Server itself and takes no subclass, hence a wrapper
around the socket it finds in the WSGI environ rather than a Server of our own.
"""

import threading

from signaling import RateLimit

SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")
# What a socket being closed may still send: its close reply, and frames already on the way.
CLOSE_ALLOWANCE = 64 * 1024


class Flooded(OSError):
    """More arrived than the socket's budget allows."""


class GuardedSocket:
    def __init__(self, sock, arrivals):
        self._sock = sock
        self._write_lock = threading.Lock()
        self._arrivals = arrivals
        self.flooded = False

    def stop_taking(self):
        """From now on, take only what a close reply needs: the server is closing this
        socket, and nothing read any more would be used."""
        self._arrivals = RateLimit(rate=0, burst=CLOSE_ALLOWANCE)

    def send(self, data):
        with self._write_lock:
            self._sock.sendall(data)
        return len(data)

    def recv(self, size):
        data = self._sock.recv(size)
        # TLS (make run-lan): what is decrypted already waits inside the SSL object, where
        # the reader's select() cannot see it; take it now, or it waits for the next packet.
        pending = getattr(self._sock, "pending", None)
        while data and pending and pending():
            data += self._sock.recv(pending())
        if not self._arrivals.allow(len(data)):
            self.flooded = True
            raise Flooded("more arrived than any call sends")
        return data

    def __getattr__(self, name):  # fileno, setsockopt, shutdown, close...
        return getattr(self._sock, name)


def guard(environ, max_message_bytes):
    """Swap the guarded socket into a WebSocket request's environ (before flask-sock
    looks), and drop the client's offer of compression. The budget: 32 of the largest
    messages at once (2 MiB by default), then 8 a second; a call's start is some 20 KB."""
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    for key in SOCKET_KEYS:
        if key in environ:
            environ[key] = GuardedSocket(
                environ[key], RateLimit(rate=8 * max_message_bytes, burst=32 * max_message_bytes))
            return True
    return False
