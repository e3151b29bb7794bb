"""One person's outgoing messages: they wait here, in order, and a thread of the person's
own writes them to their socket. Putting a message in never waits, so nobody's thread is
ever held up by somebody else's slow or stalled connection; a person who stops reading
fills their box and is cut off instead of growing the server's memory. The writing thread
ends once the box has stayed empty for WRITER_LINGER_SECONDS: most sockets wait idle most
of the time, and a thread apiece would cost each of them a stack (bench/idle_sockets.py);
a call's messages come in bursts, and one thread serves a whole burst."""

import sys
import threading
from collections import deque

from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

WRITER_LINGER_SECONDS = 2


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
        self._writer = None  # the thread writing, while anything waits

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
                self._ready.notify()  # a writer waiting for more can end now
            else:
                self._items.append(frame)
                self._bytes += size
                self._start_writer()
        if overflows:
            self.log.info("cut off: more than %d bytes wait for it", self.limit_bytes)
            self.on_overflow()

    def close(self, code=1000, reason=""):
        """Send what waits, then close the socket; nothing put in afterwards is sent."""
        with self._ready:
            if not self._closed:
                self._items.append(Close(code, reason))
                self._closed = True
                self._start_writer()

    def join(self, timeout):
        """Wait up to `timeout` seconds for what was put in to be written."""
        with self._ready:
            writer = self._writer
        if writer is not None:
            writer.join(timeout)

    def _start_writer(self):
        """With the lock held: one writer at a time, so the messages keep their order."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_all, daemon=True)
            self._writer.start()
        else:
            self._ready.notify()

    def _next(self):
        """The next item, or None once the box has stayed empty for the linger: the writer
        then ends, and the next put starts another."""
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(WRITER_LINGER_SECONDS)
            if not self._items:
                self._writer = None
                return None
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
