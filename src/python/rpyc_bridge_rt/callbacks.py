"""Go functions that the server calls back: RPyC sees a local callable (a netref on the
server); calling it runs the Go function through the library's one registered handler.

Threads: a callback runs in the thread that is serving the connection: the one waiting for
a reply, or the background serving thread. The GIL is released while Go runs. Calls the Go
function makes on the same connection, from its own goroutine, are nested requests: they do
not wait for the connection's lock (see Connection.exclusive).
"""

import threading

from . import codec
from .errors import BridgeError, ERR_ARGUMENT
from .refs import TABLE

class _Scopes(threading.local):
    """Per thread: the connections whose callbacks it is running, innermost last. A class
    default, so the check on every call never raises and catches an AttributeError."""

    conns = ()


_scopes = _Scopes()


class GoError(Exception):
    """The Go callback returned an error; the message is its text."""


class GoPanic(Exception):
    """The Go callback panicked; the panic was recovered and its value is the message."""


def in_callback(conn_handle):
    return conn_handle in _scopes.conns


class _Scope:
    __slots__ = ("conn_handle",)

    def __init__(self, conn_handle):
        self.conn_handle = conn_handle

    def __enter__(self):
        if not _scopes.conns:
            _scopes.conns = []
        _scopes.conns.append(self.conn_handle)

    def __exit__(self, *exc):
        _scopes.conns.pop()


class GoFunction:
    """A callable for Go callback `callback_id`, made where {"$callback": id} is decoded,
    inside the request that passed it. The Go side counts these objects: each one tells Go
    when it is made (retain) and when it is garbage (the server dropped it, no Ref holds it)."""

    __slots__ = ("callback_id", "conn_handle", "released")

    def __init__(self, callback_id, conn_handle):
        import _rpyc_bridge_native as native

        self.callback_id, self.conn_handle, self.released = callback_id, conn_handle, True
        if type(callback_id) is not int or not native.retain(callback_id, conn_handle):
            raise BridgeError(ERR_ARGUMENT, "unknown callback id %r (the handler does not know it)" % (callback_id,))
        self.released = False

    def __call__(self, *args, **kwargs):
        import _rpyc_bridge_native as native

        args_json, buffers = codec.encode_local(args, TABLE, self.conn_handle)
        if kwargs:
            # One buffer list for both: the keyword arguments' indexes follow the args'.
            kwargs_json = codec.dumps(codec.encode_tree(kwargs, buffers, TABLE, self.conn_handle))
        else:
            kwargs_json = "{}"
        with _Scope(self.conn_handle):
            status, result, message = native.invoke(self.callback_id, self.conn_handle, args_json, kwargs_json,
                                                    tuple(buffers))
        if status == 0:
            return codec.decode(result, (), _Refs(self.conn_handle), "callback result")
        raise (GoPanic if status == 2 else GoError)(message)

    def __repr__(self):
        return "<Go function %d>" % self.callback_id

    def __del__(self):
        if not self.released:
            self.released = True
            try:
                import _rpyc_bridge_native as native
                native.release(self.callback_id)
            except Exception:
                pass  # interpreter shutdown


class _Refs:
    """What a callback's result may refer to: Refs, not other callbacks (Go refuses them)."""

    def __init__(self, conn_handle):
        self.conn_handle = conn_handle

    def get(self, ref):
        return TABLE.get(ref)

    def callback(self, callback_id):
        raise ValueError("a callback result cannot hold a callback")
