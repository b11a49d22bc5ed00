"""The hot path's requests: a cached function netref called with plain JSON arguments.

RPyC's client spends most of a small call in Python: brine, boxing, its AsyncResult. Here
the request is encoded from Go's JSON in Rust, the reply frame is read from the socket in
Rust without the GIL, and a plain reply is decoded straight to Go's JSON (src/wire).

Everything else stays RPyC's: the locking below follows Connection._send and
Connection.serve line for line, and every frame that is not our plain reply (an exception,
a netref, a request from the server, the reply to another request) goes to
Connection._dispatch, which hands our own reply to the callback registered for it. So a
background serving thread, a netref's __del__, or a callback's nested call interleave with
this path exactly as with RPyC's own.
"""

import select
import socket
import zlib

from rpyc.core import brine

import _rpyc_bridge_native as native

from .errors import BridgeError, ERR_CLOSED

# While another thread reads the connection (a background serving thread), a waiting
# request cannot watch its cancel fd itself: it looks again this often.
SHARED_WAIT = 0.02


def readable(fds, timeout):
    """The descriptors of `fds` (ints, or objects with fileno()) ready to read within
    `timeout` seconds (None: no limit), as ints. poll(2), not select(2): select refuses
    descriptors above 1023, which a process with many files open hands out (a cancel pipe,
    the socket itself). A hang-up or an error counts as ready, as select would say."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
    return [fd for fd, _ in poller.poll(ms)]


class Wire:
    """The native request path of one RPyC connection over plain TCP."""

    def __init__(self, rconn, address, max_frame=None, max_depth=None):
        self.rconn = rconn
        self.address = address
        # What a reply may be (dial options max_frame_bytes, max_nesting): a frame over
        # max_frame bytes, before or after zlib, or tuples nested over max_depth, fail
        # the call and close the connection; so does a reply that is not brine.
        self.max_frame = max_frame or native.WIRE_MAX_FRAME_BYTES
        self.max_depth = max_depth or native.WIRE_MAX_NESTING
        self.fd = rconn._channel.stream.sock.fileno()
        self.targets = {}  # a netref's id_pack -> its brine encoding

    @staticmethod
    def usable(rconn):
        """Plain sockets only: TLS has its own framing underneath. Thread binding (an
        experimental RPyC mode) prefixes every frame, so it keeps RPyC's own path."""
        sock = getattr(rconn._channel.stream, "sock", None)
        return type(sock) is socket.socket and not rconn._bind_threads

    def call(self, fn, args_json, waits, on_object):
        """Calls netref `fn` with the JSON array `args_json` as arguments. Returns (json,
        buffers) for a plain result, on_object(result) for any other, NotImplemented when
        the arguments are not plain JSON; raises what the call raised. `timeout`: seconds,
        or None for none; on expiry the connection stays usable (a late reply is dropped by
        its callback), as with Connection.remote. `waits`: the request's Waits."""
        rconn = self.rconn
        id_pack = object.__getattribute__(fn, "____id_pack__")
        target = self.targets.get(id_pack)
        if target is None:
            target = self.targets[id_pack] = brine.dump(id_pack)
        seq = rconn._get_seq_id()
        message = native.wire_request(seq, target, args_json)
        if message is None:
            return NotImplemented
        outcome = []
        rconn._request_callbacks[seq] = lambda is_exc, obj: outcome.append((is_exc, obj))
        try:
            self._send(message)
        except Exception:
            rconn._request_callbacks.pop(seq, None)
            raise
        while not outcome:
            reply = self._serve(seq, outcome, waits.left(self.address), waits.cancel_fd)
            if reply is not None:
                return reply
        is_exc, obj = outcome[0]
        if is_exc:
            raise obj
        return on_object(obj)

    def _send(self, message):
        """Connection._send, for a message already encoded."""
        rconn = self.rconn
        rconn._send_queue.append(message)
        while rconn._send_queue:
            if not rconn._sendlock.acquire(False):
                return  # its holder sends what is queued before it lets go
            try:
                if not rconn._send_queue:
                    continue
                rconn._channel.send(rconn._send_queue.pop(0))
            finally:
                rconn._sendlock.release()

    def _decompress(self, data):
        """A compressed frame's payload, at most max_frame bytes of it (ValueError if more,
        or if it is not zlib)."""
        unzip = zlib.decompressobj()
        try:
            data = unzip.decompress(data, self.max_frame)
        except zlib.error as exc:
            raise ValueError("the server sent a compressed frame that is not zlib: %s" % exc) from None
        if unzip.unconsumed_tail or not unzip.eof:
            if len(data) < self.max_frame:
                raise ValueError("the server sent a compressed frame that is not zlib: it ends early")
            raise ValueError("the server sent a frame that decompresses to more than the limit of %d bytes"
                             % self.max_frame)
        return data

    def _refused(self, exc):
        """The error for a reply that was refused, after the connection was closed."""
        text = str(exc)
        if "limit" in text:
            text += " (rpyc.%s raises it)" % ("WithMaxNesting" if "nests" in text else "WithMaxFrameSize")
        return BridgeError(ERR_CLOSED, "%s: %s; the connection is closed" % (self.address, text))

    def _serve(self, seq, outcome, timeout, cancel_fd):
        """Connection.serve, reading with native code: our plain reply is returned as (json,
        buffers); any other frame is dispatched by RPyC. None when nothing was ours."""
        rconn = self.rconn
        with rconn._recv_event:
            if not rconn._recvlock.acquire(False):
                # Another thread is reading; it dispatches our reply to our callback.
                if not outcome:
                    wait = 1 if timeout is None else timeout
                    rconn._recv_event.wait(min(wait, SHARED_WAIT) if cancel_fd >= 0 else wait)
                return None
        try:
            if outcome:  # dispatched by another thread before we got the lock
                rconn._recvlock.release()
                return None
            if cancel_fd >= 0:
                # Wait here, where the cancel fd can wake us; the frame is then read natively.
                if not readable((self.fd, cancel_fd), timeout):
                    rconn._recvlock.release()
                    return None
                if readable((cancel_fd,), 0):
                    rconn._recvlock.release()
                    return None  # the caller's next waits.left() raises
            try:
                frame = native.wire_recv(self.fd, timeout, self.max_frame)
                if frame is not None and frame[0]:
                    frame = False, self._decompress(frame[1])
            except Exception as exc:
                rconn._recvlock.release()
                if isinstance(exc, (EOFError, ValueError)):
                    rconn.close()
                if isinstance(exc, ValueError):
                    raise self._refused(exc) from None
                raise
            if frame is None:
                rconn._recvlock.release()
                return None
            data = frame[1]
            try:
                reply = native.wire_reply(data, seq, self.max_depth)
            except ValueError as exc:
                rconn._request_callbacks.pop(seq, None)
                rconn._recvlock.release()
                rconn.close()
                raise self._refused(exc) from None
            if reply is None:
                rconn._dispatch(data)  # releases the receive lock itself
                return None
            rconn._request_callbacks.pop(seq, None)
            rconn._recvlock.release()
            return reply
        finally:
            with rconn._recv_event:
                rconn._recv_event.notify_all()
