"""One RPyC connection and the operations on it.

A connection is used by one operation at a time (`lock`, whose acquire releases the GIL
while it waits); the socket layer releases the GIL while waiting on the network, so
operations on different connections overlap. Calls of cached functions with plain
arguments take the native path of wire.py; large array arguments go ahead in pieces
(`staged`).
"""

import contextlib
import itertools
import json
import socket
import threading

import rpyc
from rpyc.core.async_ import AsyncResultTimeout
from rpyc.core.netref import BaseNetref
from rpyc.core.service import ClassicClient, VoidService
from rpyc.core.stream import SocketStream
from rpyc.utils.factory import connect_stream

from . import callbacks, codec, server_side, tls
from .wire import Wire
from .errors import BridgeError, ERR_ARGUMENT, ERR_CLOSED, ERR_CONNECT, ERR_TIMEOUT

DEFAULT_CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 0.5
# Array arguments larger than this go to the server ahead of their call, in pieces this
# large (Connection.staged): 8 MB arrive ~5x faster as 16 frames than as one.
PIECE = 512 * 1024


class _Stream(SocketStream):
    """RPyC's socket stream, writing through a memoryview: its own write re-slices the
    remaining bytes after every 64 kB send, which copies an 8 MB array ~125 times."""

    __slots__ = ()

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
            if context is not None:
                # With TLS 1.3 a server that refuses our certificate says so only after the
                # TLS handshake: one round trip here makes Dial report it, not the first call.
                self.conn.ping(timeout=timeout)
        except Exception as err:
            stream.close()
            hint = "; does the server require a client certificate?" if context is not None else ""
            raise BridgeError(ERR_CONNECT, "%s did not complete the RPyC handshake: %s: %s%s"
                              % (self.address, type(err).__name__, tls.reason(err), hint)) from None
        # RPyC compresses every frame over 3 kB with zlib. Numeric payloads barely compress,
        # and it costs tens of milliseconds per 8 MB at each end: off unless asked for. Each
        # side decides for what it sends; on classic servers the helper sets the server's.
        compress = bool(options.get("compress", False))
        self.conn._channel.compress = compress
        self.lock = threading.Lock()
        self.helpers = None
        # (module, function) -> its netref, for functions whose results come by value:
        # calling them directly is exactly one plain RPyC request. Dropped with the connection.
        self.functions = {}
        # Functions whose direct results held netrefs (numpy's scalars, say): they stay with
        # the server's helper, which encodes such results in the same round trip.
        self.indirect = set()
        self.modules = {}  # module name -> its netref, for Import
        self.tokens = itertools.count(1)  # names of arrays sent ahead (staged)
        if service_kind == "classic":
            try:
                self.conn.execute(server_side.SOURCE)
                helpers = self.conn.namespace["_rpyc_bridge"]
                # Fetched once: each later use is a single round trip.
                self.helpers = {name: helpers[name] for name in
                                ("call", "getattr", "encode", "call_object", "set_item", "set_attr", "import",
                                 "resolve", "put", "tune", "take", "drop")}
            except Exception as err:
                self.conn.close()
                raise BridgeError(ERR_CONNECT, "%s is not a classic RPyC server (%s: %s); dial it as a custom "
                                  "service instead" % (self.address, type(err).__name__, err)) from None
            try:
                self.helpers["tune"](self.conn.root, compress)
            except (AttributeError, OSError):
                pass  # a server stream with no socket option: only slower
        self.conn._config["sync_request_timeout"] = options.get("sync_request_timeout")
        # The hot path's native requests (wire.py), on plain TCP.
        self.wire = (Wire(self.conn, self.address, options.get("max_frame_bytes"), options.get("max_nesting"))
                     if self.classic and Wire.usable(self.conn) else None)

    @property
    def classic(self):
        return self.helpers is not None

    def check_open(self):
        if self.conn.closed:
            raise BridgeError(ERR_CLOSED, "the connection to %s is closed" % self.address)

    def request(self, fn, args, timeout, kwargs=None):
        """Calls `fn(*args, **kwargs)` once, a netref call when `fn` is remote; `timeout`
        (seconds or None) bounds the wait for the reply; the connection stays usable after it."""
        self.check_open()
        kwargs = kwargs or {}
        if timeout is None or not isinstance(fn, BaseNetref):
            return fn(*args, **kwargs)
        result = rpyc.async_(fn)(*args, **kwargs)
        result.set_expiry(timeout)
        try:
            return result.value
        except AsyncResultTimeout:
            raise BridgeError(ERR_TIMEOUT, "no reply from %s within %.3f s" % (self.address, timeout)) from None

    def helper_request(self, name, args, timeout, wired):
        """Calls the server-side helper `name`; `wired` args may hold arrays, which are
        staged first."""
        return self.request(self.helpers[name], self.staged(args) if wired else args, timeout)

    def staged(self, value):
        """`value` (wired arguments) with each array larger than PIECE sent ahead to the
        server's put() in pieces, as async requests, and replaced there by its token. The
        server reads frames in order, so every piece is in before the call that uses it."""
        if type(value) is not tuple:
            return value
        if len(value) == 4 and value[0] == codec.ARRAY_MARK and type(value[3]) is bytes and len(value[3]) > PIECE:
            data = value[3]
            token = next(self.tokens)
            put = rpyc.async_(self.helpers["put"])
            for offset in range(0, len(data), PIECE):
                put(token, len(data), offset, data[offset:offset + PIECE])
            return value[:3] + (token,)
        return tuple(self.staged(v) for v in value)

    def taken(self, bufs):
        """A result's buffers, with those the server kept back, (token, size) for each
        buffer over its piece size, taken from it in pieces (async requests, in order)."""
        if all(type(b) is bytes for b in bufs):
            return bufs
        take = rpyc.async_(self.helpers["take"])
        out = []
        for buf in bufs:
            if type(buf) is tuple:
                token, size = buf
                pieces = [take(token, offset, min(PIECE, size - offset)) for offset in range(0, size, PIECE)]
                buf = b"".join(piece.value for piece in pieces)
            out.append(buf)
        return out

    def drop_kept(self, bufs):
        """Lets the server drop the buffers it kept back for a result nobody will take."""
        for buf in bufs:
            if type(buf) is tuple:
                rpyc.async_(self.helpers["drop"])(buf[0])

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


def require_classic(conn, what):
    if not conn.classic:
        raise BridgeError(ERR_ARGUMENT, "%s needs a classic server; %s serves a custom service" % (what, conn.address))


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
