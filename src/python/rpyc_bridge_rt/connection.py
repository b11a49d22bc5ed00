"""One RPyC connection and the operations on it.

A connection is used by one operation at a time (`lock`, whose acquire releases the GIL
while it waits); the socket layer releases the GIL while waiting on the network, so
operations on different connections overlap. Calls of cached functions with plain
arguments take the native path of wire.py; large array arguments go ahead in pieces
(`staged`).
"""

import collections
import contextlib
import itertools
import json
import socket
import threading
import time

import rpyc
from rpyc.core import consts
from rpyc.core.async_ import AsyncResultTimeout
from rpyc.lib import Timeout
from rpyc.core.netref import BaseNetref
from rpyc.core.service import ClassicClient, VoidService
from rpyc.core.stream import SocketStream
from rpyc.utils.factory import connect_stream

import _rpyc_bridge_native as native

from . import callbacks, tls
from .wire import SHARED_WAIT, Wire, readable
from .wireformat import HELPERS, INLINE_MAX, PIECE, TAKE_AHEAD
from .errors import BridgeError, ERR_ARGUMENT, ERR_CLOSED, ERR_CONNECT, ERR_INTERNAL, ERR_TIMEOUT

DEFAULT_CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 0.5
SEEN = 64  # bytes of the peer's first frames kept to explain a failed handshake
# RPyC's frame header (length, compressed flag), and the first byte of an RPyC 4/5 message:
# brine's 3-tuple tag, (msg, seq, args). RPyC 6 sends the message type as one byte instead.
FRAME_HEADER = 5
BRINE_TUP3 = 0x12


class Cancelled(BridgeError):
    def __init__(self, address):
        super().__init__(ERR_TIMEOUT, "the request to %s was cancelled" % address)


class Waits:
    """How long one request may wait for its reply: a deadline (time.monotonic(), or None)
    and a file descriptor that becomes readable when the caller gives up (or -1)."""

    __slots__ = ("deadline", "cancel_fd", "timeout")

    def __init__(self, timeout, cancel_fd):
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.cancel_fd = cancel_fd

    def left(self, address):
        """Seconds left (None: no limit); raises once the request must stop waiting."""
        if self.cancel_fd >= 0 and readable((self.cancel_fd,), 0):
            raise Cancelled(address)
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BridgeError(ERR_TIMEOUT, "no reply from %s within %.3f s" % (address, self.timeout))
        return left

    @property
    def bounded(self):
        return self.deadline is not None or self.cancel_fd >= 0


UNBOUNDED = Waits(None, -1)


class _Stream(SocketStream):
    """RPyC's socket stream, writing through a memoryview: its own write re-slices the
    remaining bytes after every 64 kB send, which copies an 8 MB array ~125 times."""

    __slots__ = ("cancel", "seen")

    def __init__(self, sock):
        super().__init__(sock)
        self.cancel = None  # (fd, thread id) while a request of that thread waits
        # The first bytes the peer sent, kept until the handshake is over (None after it):
        # what tells an HTTP server or an RPyC 5 server from a silent peer.
        self.seen = b""

    def poll(self, timeout):
        """Also wakes when the waiting request's cancel fd becomes readable."""
        cancel = self.cancel
        if cancel is None or cancel[1] != threading.get_ident():
            return super().poll(timeout)
        timeout = Timeout(timeout).timeleft()
        while True:
            try:
                ready = readable((self.sock, cancel[0]), timeout)
                break
            except InterruptedError:
                continue
        if cancel[0] in ready:
            raise Cancelled("the server")
        return bool(ready)

    def read(self, count):
        if self.seen is None:
            return super().read(count)
        # During the handshake: as SocketStream.read, keeping what arrives even when the
        # peer closes before `count` bytes (an HTTP server's answer does).
        data = b""
        while len(data) < count:
            try:
                buf = self.sock.recv(min(self.MAX_IO_CHUNK, count - len(data)))
            except socket.timeout:
                continue
            except OSError as err:
                self.close()
                raise EOFError(err) from None
            if not buf:
                self.close()
                raise EOFError("connection closed by peer")
            self.seen += buf[:max(SEEN - len(self.seen), 0)]
            data += buf
        return data

    def write(self, data):
        view = memoryview(data)
        try:
            while view:
                view = view[self.sock.send(view[:self.MAX_IO_CHUNK]):]
        except socket.error as err:
            self.close()
            raise EOFError(err) from None


_NO_LOCK = contextlib.nullcontext()


class Connection:
    def __init__(self, host, port, options, handle):
        self.handle = handle
        self.background = None
        service_kind = options.get("service", "classic")
        if service_kind not in ("classic", "service"):
            raise BridgeError(ERR_ARGUMENT, "option service must be \"classic\" or \"service\", not %r" % (service_kind,))
        setup = options.get("setup")
        if setup is not None and (service_kind != "classic" or not isinstance(setup, str)):
            raise BridgeError(ERR_ARGUMENT, "setup code needs a classic server (it runs in conn.namespace); "
                              "a custom service has no namespace to run it in")
        timeout = options.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        # The handshake (and the helpers' install) must not hang on a peer that accepts but
        # never answers like RPyC: it gets the connect timeout; calls get the user's.
        config = {"sync_request_timeout": timeout}
        if "allow_public_attrs" in options:
            config["allow_public_attrs"] = bool(options["allow_public_attrs"])
        self.address = "%s:%d" % (host, port)
        tls_options = options.get("tls")
        context = tls.client_context(tls_options) if tls_options is not None else None
        try:
            sock = _Stream._connect(host, port, timeout=timeout, keepalive=bool(options.get("keepalive", False)))
        except (OSError, socket.timeout) as err:
            raise BridgeError(ERR_CONNECT, "cannot connect to %s: %s" % (self.address, err)) from None
        # Requests and replies are whole frames: nothing is gained by Nagle's delay.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            sock = tls.wrap(sock, context, tls_options.get("server_name") or host, self.address)
        stream = _Stream(sock)
        service = ClassicClient if service_kind == "classic" else VoidService
        try:
            self.conn = connect_stream(stream, service, config)
            if service is VoidService:
                # The classic client's handshake asks for the root; a custom service's does
                # not exchange anything: one round trip here makes Dial find a wrong peer.
                self.conn.root
            if context is not None:
                # With TLS 1.3 a server that refuses our certificate says so only after the
                # TLS handshake: one round trip here makes Dial report it, not the first call.
                self.conn.ping(timeout=timeout)
        except Exception as err:
            stream.close()
            hint = "; does the server require a client certificate?" if context is not None else ""
            raise BridgeError(ERR_CONNECT, handshake_failure(self.address, err, stream.seen, timeout, hint)) from None
        stream.seen = None
        # RPyC compresses every frame over 3 kB with zlib. Numeric payloads barely compress,
        # and it costs tens of milliseconds per 8 MB at each end: off unless asked for. Each
        # side decides for what it sends; on classic servers the helper sets the server's.
        compress = bool(options.get("compress", False))
        self.conn._channel.compress = compress
        self.lock = threading.Lock()
        self.stream = stream
        self.waits = UNBOUNDED  # the running request's (Connection.bounded)
        self.helpers = None
        # (module, function) -> its netref, for functions whose results come by value:
        # calling them directly is exactly one plain RPyC request. Dropped with the connection.
        self.functions = {}
        # Functions whose direct results held netrefs (numpy's scalars, say): they stay with
        # the server's helper, which encodes such results in the same round trip.
        self.indirect = set()
        self.modules = {}  # module name -> its netref, for Import
        self.tokens = itertools.count(1)  # names of buffers sent ahead (staged)
        if service_kind == "classic":
            try:
                # In a namespace of its own, so that the user's namespace only gains _rpyc_bridge.
                self.conn.execute("_rpyc_bridge_ns = {'__name__': 'rpyc_bridge_server'}\n"
                                  "exec(%r, _rpyc_bridge_ns)\n"
                                  "_rpyc_bridge = _rpyc_bridge_ns['install']()\n"
                                  "del _rpyc_bridge_ns\n" % native.SERVER_SOURCE)
                helpers = self.conn.namespace["_rpyc_bridge"]
                # Fetched once: each later use is a single round trip.
                self.helpers = {name: helpers[name] for name in HELPERS}
            except Exception as err:
                self.conn.close()
                raise BridgeError(ERR_CONNECT, "%s is not a classic RPyC server (%s: %s); dial it as a custom "
                                  "service instead" % (self.address, type(err).__name__, err)) from None
            try:
                self.helpers["tune"](self.conn.root, compress)
            except (AttributeError, OSError):
                pass  # a server stream with no socket option: only slower
            if setup:
                # The user's helpers (WithSetup), on every connect and reconnect. A raise or a
                # syntax error is the remote exception, with its traceback.
                try:
                    self.conn.execute(setup)
                except BaseException:
                    self.conn.close()
                    raise
        self.conn._config["sync_request_timeout"] = options.get("sync_request_timeout")
        # The hot path's native requests (wire.py), on plain TCP.
        self.wire = (Wire(self.conn, self.address, options.get("max_frame_bytes"), options.get("max_nesting"))
                     if self.classic and Wire.usable(self.conn) else None)

    @property
    def classic(self):
        return self.helpers is not None

    @property
    def closed(self):
        """rpyc's conn.closed, or its stream closed under it: a send that fails closes the
        stream but leaves conn.closed False, and a reconnect must see it broken."""
        return self.conn.closed or self.conn._channel.closed

    def check_open(self):
        if self.closed:
            raise BridgeError(ERR_CLOSED, "the connection to %s is closed" % self.address)

    @contextlib.contextmanager
    def bounded(self, waits):
        """Runs one request under `waits`; a nested request (from a callback) under its own."""
        outer, self.waits = self.waits, waits
        try:
            yield
        finally:
            self.waits = outer

    def remote(self, handler, *args):
        """One RPyC request (consts.HANDLE_*), waited for under the request's Waits."""
        self.check_open()
        waits = self.waits
        if not waits.bounded:
            return self.conn.sync_request(handler, *args)
        sync_timeout = self.conn._config["sync_request_timeout"]
        if sync_timeout is not None and (waits.deadline is None or sync_timeout < waits.timeout):
            waits = Waits(sync_timeout, waits.cancel_fd)
        result = self.conn.async_request(handler, *args)
        return self.wait(result, waits)

    def wait(self, result, waits):
        """Serves the connection until `result` is ready, the deadline passes or the cancel
        fd is signalled. A reply that comes later goes to `result`, which nobody reads."""
        conn, stream = self.conn, self.stream
        # Not `result.ready`: that serves a message itself (poll_all), before the deadline
        # is looked at, and when replies stream in (a large result's pieces) it always
        # finds the one it waits for.
        pending = lambda: not result._is_ready  # noqa: E731
        while pending():
            left = waits.left(self.address)
            if conn._recvlock.acquire(False):
                conn._recvlock.release()
                stream.cancel = (waits.cancel_fd, threading.get_ident()) if waits.cancel_fd >= 0 else None
                try:
                    conn.serve(left, waiting=pending)
                except Cancelled:
                    raise Cancelled(self.address) from None
                finally:
                    stream.cancel = None
            else:
                conn.serve(SHARED_WAIT if left is None or waits.cancel_fd >= 0 else min(left, SHARED_WAIT * 5),
                           waiting=pending)
        return result.value

    def root(self):
        """The service root's netref, fetched once, as a request under its Waits."""
        rconn = self.conn
        if rconn._remote_root is None:
            rconn._remote_root = self.remote(consts.HANDLE_GETROOT)
        return rconn._remote_root

    def request(self, fn, args=(), kwargs=None):
        """Calls `fn(*args, **kwargs)` once: a netref call when `fn` is remote."""
        if not isinstance(fn, BaseNetref):
            return fn(*args, **(kwargs or {}))
        return self.remote(consts.HANDLE_CALL, fn, args, tuple((kwargs or {}).items()))

    def helper_request(self, name, *args):
        """Calls the server-side helper `name`."""
        return self.request(self.helpers[name], args)

    def staged(self, buffers):
        """`buffers`, when together over INLINE_MAX, with each one larger than PIECE sent
        ahead to the server's put() in pieces, as async requests, and replaced there by its
        token. The server reads frames in order, so every piece is in before the call that
        uses it. Smaller ones go in the call's own frame: fewer requests, fewer copies."""
        if sum(map(len, buffers)) <= INLINE_MAX:
            return tuple(buffers)
        put = rpyc.async_(self.helpers["put"])
        out = []
        for data in buffers:
            if len(data) > PIECE:
                token = next(self.tokens)
                for offset in range(0, len(data), PIECE):
                    put(token, len(data), offset, data[offset:offset + PIECE])
                data = token
            out.append(data)
        return tuple(out)

    def taken(self, bufs):
        """A result's buffers, with those the server kept back, (token, size) for each
        buffer over its piece size, taken from it in pieces (async requests, in order,
        each waited for under the request's Waits). If the taking fails, the server drops
        what it kept."""
        if all(type(b) is bytes for b in bufs):
            return bufs
        take = rpyc.async_(self.helpers["take"])
        out = []
        try:
            for buf in bufs:
                if type(buf) is tuple:
                    buf = _take_kept(take, *buf, self.waited)
                out.append(buf)
        except BaseException:
            self.drop_kept(bufs)
            raise
        return out

    def drop_kept(self, bufs):
        """Lets the server drop the buffers it kept back for a result nobody will take."""
        drop = rpyc.async_(self.helpers["drop"])
        try:
            for buf in bufs:
                if type(buf) is tuple:
                    drop(buf[0])
        except (EOFError, OSError):
            pass  # the connection is gone, and the server's copies with it

    def waited(self, result):
        """The value of an async request of this operation, waited for under its Waits."""
        return self.wait(result, self.waits) if self.waits.bounded else result.value

    def exclusive(self):
        """The connection for one operation. A call made from inside a Go callback of this
        connection is part of the call that is waiting for that callback: it goes ahead
        without the lock, as RPyC's nested requests do."""
        if callbacks.in_callback(self.handle):
            return _NO_LOCK
        return self.lock

    def start_background(self):
        self.check_open()
        if self.background is None:
            self.background = rpyc.BgServingThread(self.conn)

    def stop_background(self):
        background, self.background = self.background, None
        if background is not None:
            background.stop()

    def close(self):
        with self.exclusive():
            self.stop_background()
            # RPyC says goodbye and waits for the answer; a server still busy with a call
            # that timed out would hold Close until it finishes.
            self.conn._config["sync_request_timeout"] = CLOSE_TIMEOUT
            self.conn.close()


def handshake_failure(address, err, seen, timeout, hint=""):
    """Says why the handshake with `address` failed, from the exception and the first bytes
    the peer sent (`seen`): an RPyC 5 server, an HTTP server, a peer that closed at once or
    sent nothing, or one that sent something else."""
    mine = "RPyC %s" % rpyc.__version__
    data = seen[FRAME_HEADER:]
    if len(seen) > FRAME_HEADER and seen[4] == 0 and data[0] == BRINE_TUP3:
        return ("%s speaks the RPyC 5 protocol (rpyc 5.x or older: the message type inside a brine "
                "tuple), and this client speaks the RPyC 6 protocol (%s), which rpyc 5 cannot read: "
                "run rpyc 6 on the server (pip install 'rpyc>=6,<7')" % (address, mine))
    if seen.startswith(b"HTTP/"):
        status = seen.split(b"\r\n", 1)[0].decode("latin-1")
        return ("%s is an HTTP server, not an RPyC server: it answered %r; check the port "
                "(rpyc_classic listens on 18812 by default)" % (address, status))
    if not seen and isinstance(err, EOFError):
        return ("%s closed the connection without sending anything: it is not an RPyC server, "
                "or it refused this client (%s: %s)%s" % (address, type(err).__name__, tls.reason(err), hint))
    if not seen and isinstance(err, AsyncResultTimeout):
        return ("%s accepted the connection but sent nothing within the connect timeout (%.1f s): "
                "it is not an RPyC server, or it is stuck%s" % (address, timeout, hint))
    if seen:
        return ("%s sent bytes that are not RPyC (%r...): %s: %s%s"
                % (address, seen[:24], type(err).__name__, tls.reason(err), hint))
    return "%s did not complete the RPyC handshake: %s: %s%s" % (address, type(err).__name__, tls.reason(err), hint)


def require_classic(conn, what):
    if not conn.classic:
        raise BridgeError(ERR_ARGUMENT, "%s needs a classic server; %s serves a custom service" % (what, conn.address))


def _take_kept(take, token, size, waited):
    """The buffer the server kept back as `token`, taken in pieces into an assembly (memory
    handed to Go without another copy: the caller's, or Rust's). At most TAKE_AHEAD are
    asked for and not yet copied into place: replies that came in (a serving thread stores
    them) would otherwise add up to a second copy of the buffer. `waited(piece)` is the
    piece, waited for under the request's deadline and cancel fd."""
    buf = native.assembly(size)
    asked = collections.deque()  # (offset, its size, its pending piece)

    def place():
        offset, expected, piece = asked.popleft()
        data = waited(piece)
        if type(data) is not bytes or len(data) != expected:
            got = "%d bytes" % len(data) if type(data) is bytes else type(data).__name__
            raise BridgeError(ERR_INTERNAL, "the server sent %s for the piece at %d of a %d-byte result, "
                              "not %d bytes" % (got, offset, size, expected))
        native.assembly_place(buf, offset, data)

    try:
        for offset in range(0, size, PIECE):
            n = min(PIECE, size - offset)
            asked.append((offset, n, take(token, offset, n)))
            if len(asked) == TAKE_AHEAD:
                place()
        while asked:
            place()
    except BaseException:
        native.assembly_discard(buf)  # the caller's memory goes back now, not with the traceback
        raise
    return buf


def resolve_objects(text, bufs, objs, local):
    """Replaces the server's {"$obj": i} placeholders: a remote object becomes a new Ref
    (`local` is None for it); an object of ours that came back (a dict a callback returned,
    say) is encoded here, its buffers appended to `bufs`. Returns (json, buffers)."""
    bufs = list(bufs)
    if not objs:
        return text, bufs

    def hook(obj):
        if len(obj) == 1 and "$obj" in obj:
            return local(objs[obj["$obj"]], bufs)
        return obj

    return json.dumps(json.loads(text, object_hook=hook), separators=(",", ":")), bufs
