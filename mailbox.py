"""One person's outgoing messages: they wait here, in order, and a thread of the person's
own writes them to their socket. Putting a message in never waits, so nobody's thread is
ever held up by somebody else's slow or stalled connection; a person who stops reading
fills their box and is cut off instead of growing the server's memory."""

import sys
import threading
from collections import deque

from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError


class Close:
    """The last item of a box: close the socket with this code and reason."""

    def __init__(self, code=1000, reason=""):
        self.code = code
        self.reason = reason


class Mailbox:
    def __init__(self, connection, limit_bytes, on_overflow, log):
        self.connection = connection
        self.limit_bytes = limit_bytes
        self.on_overflow = on_overflow
        self.log = log
        self._items = deque()
        self._bytes = 0  # what the waiting messages take in memory (sys.getsizeof)
        self._ready = threading.Condition()
        self._closed = False  # nothing more goes in
        self.thread = threading.Thread(target=self._write_all, daemon=True)
        self.thread.start()

    def put(self, frame):
        size = sys.getsizeof(frame)
        with self._ready:
            if self._closed:
                return
            overflows = self._bytes + size > self.limit_bytes
            if overflows:
                self._closed = True
                self._items.clear()
                self._bytes = 0
            else:
                self._items.append(frame)
                self._bytes += size
            self._ready.notify()
        if overflows:
            self.log.info("cut off: more than %d bytes wait for it", self.limit_bytes)
            self.on_overflow()

    def close(self, code=1000, reason=""):
        """Send what waits, then close the socket; nothing put in afterwards is sent."""
        with self._ready:
            if not self._closed:
                self._items.append(Close(code, reason))
                self._closed = True
                self._ready.notify()

    def _next(self):
        with self._ready:
            while not self._items:
                if self._closed:
                    return None
                self._ready.wait()
            item = self._items.popleft()
            if not isinstance(item, Close):
                self._bytes -= sys.getsizeof(item)
            return item

    def _write_all(self):
        try:
            while (item := self._next()) is not None:
                if isinstance(item, Close):
                    self.connection.close(item.code, item.reason)
                    return
                self.connection.send(item)
        except (ConnectionClosed, LocalProtocolError, OSError):
            # Closed or gone; the person's own thread sees it and leaves the room.
            with self._ready:
                self._closed = True
                self._items.clear()
                self._bytes = 0
