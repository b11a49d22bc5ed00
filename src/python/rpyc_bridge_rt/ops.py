"""Every request of the C ABI (rpyc_request) enters here: `run` looks the operation up in
OPS, applies the request's deadline and cancel fd (Connection.bounded), and returns the
result as (tagged JSON, buffers). A new operation is one entry in OPS, one RpycOp in
src/ffi/refs.rs and one Go method.

Calls pick the first strategy that takes them (CALL_STRATEGIES): the native wire path for a
known function with plain arguments, a direct netref call, the server's helper (which also
encodes results RPyC would send as netrefs), or the root of a custom service.
"""

import json

import rpyc
from rpyc.core import consts

from . import callbacks, codec, wireformat
from .connection import UNBOUNDED, Waits, require_classic, resolve_objects
from .errors import BridgeError, ERR_ARGUMENT, ERR_HANDLE
from .refs import TABLE as refs

conns = {}  # connection handle -> Connection

# Argument JSON longer than this goes to the server's helper as text (Request.server_decodes).
LARGE_JSON = 64 * 1024


def conn_of(handle):
    try:
        return conns[handle]
    except (KeyError, TypeError):
        raise BridgeError(ERR_HANDLE, "unknown connection handle %r (closed, or never opened)" % (handle,)) from None


class Request:
    """One request: its connection, the Ref it acts on, and its raw arguments."""

    __slots__ = ("handle", "conn", "obj", "module", "name", "a", "b", "buffers")

    def value(self, text, what):
        """A single argument value (a key, an attribute value), decoded here."""
        return codec.decode(text, self.buffers, _RefsOf(self.handle), what)

    def args(self):
        """(args tuple, kwargs dict), decoded here."""
        refs_of = _RefsOf(self.handle)
        args = codec.decode(self.a or "[]", self.buffers, refs_of, "args_json", expect=list)
        kwargs = codec.decode(self.b, self.buffers, refs_of, "kwargs_json", expect=dict)
        return args or (), kwargs or {}

    def server_decodes(self):
        """Whether the arguments go to a classic server's helper as JSON, which it decodes
        there (json.loads is far faster than RPyC's boxing of many small objects): when
        they have tags or objects, or are large."""
        return self.conn.classic and (bool(self.buffers) or "{" in (self.a or "") or "{" in (self.b or "")
                                      or len(self.a or "") + len(self.b or "") > LARGE_JSON)

    def call_json(self):
        """(args_json, kwargs_json) for the server's helper, each checked to be the right
        kind of JSON value here (a JSON array, a JSON object), as decode() checks it."""
        a, b = self.a or "[]", self.b
        if not a.lstrip().startswith("["):
            raise BridgeError(ERR_ARGUMENT, "args_json must be a JSON array")
        if b is not None and not b.lstrip().startswith("{"):
            raise BridgeError(ERR_ARGUMENT, "kwargs_json must be a JSON object")
        return a, b

    def for_server(self, *texts):
        """(texts, buffers, objects) for the server's helper: buffers over a piece are sent
        ahead, and each {"$ref": id} or {"$callback": id} becomes {"$ref": i}, an index into
        `objects`: the Ref's object, or a new callable for the Go function."""
        refs_of = _RefsOf(self.handle)
        for text in texts:
            if text is not None and len(text) <= LARGE_JSON:
                # Decoded here too when small, so that bad input from C is ErrArgument, not
                # the server's error (large input is left to the server: one parse; so are
                # pickles and long strings, whose buffers only the server reads).
                try:
                    skip = lambda *_: None  # noqa: E731
                    wireformat.decoder(self.buffers, refs_of.get, skip, skip, skip, skip)(text)
                except (ValueError, TypeError, RecursionError) as err:
                    raise BridgeError(ERR_ARGUMENT, "bad arguments: %s" % err) from None
        objs = []
        if any(t is not None and ('"$ref"' in t or '"$callback"' in t) for t in texts):
            made = {"$ref": refs_of.get, "$callback": refs_of.callback}

            def hook(obj):
                if len(obj) == 1:
                    ((key, val),) = obj.items()
                    if key in made:
                        objs.append(made[key](val))
                        return {"$ref": len(objs) - 1}
                return obj

            try:
                texts = [None if t is None else json.dumps(json.loads(t, object_hook=hook)) for t in texts]
            except ValueError as err:
                raise BridgeError(ERR_ARGUMENT, "arguments are not valid JSON: %s" % err) from None
        return texts, self.conn.staged(self.buffers), tuple(objs)

    def new_ref(self, obj):
        return '{"$ref":%d}' % refs.add(self.handle, obj), []

    def by_value(self, obj):
        return codec.encode_local(obj, refs, self.handle)

    def reply(self, reply):
        """The server helper's (json, buffers, objects), or its JSON alone -> (json, buffers),
        objects as new Refs."""
        if type(reply) is str:
            return reply, []
        text, bufs, objs = reply

        def resolve(obj, buffers):
            if isinstance(obj, rpyc.BaseNetref):
                return {"$ref": refs.add(self.handle, obj)}
            return codec.encode_tree(obj, buffers, refs, self.handle)

        return resolve_objects(text, self.conn.taken(bufs), objs, resolve)


class _RefsOf:
    """The ref table as seen by one connection: a Ref of another connection is refused."""

    def __init__(self, handle):
        self.handle = handle

    def get(self, ref):
        conn_handle, obj = refs.entry(ref)
        if conn_handle != self.handle:
            raise BridgeError(ERR_ARGUMENT, "Ref %d belongs to another connection" % ref)
        return obj

    def callback(self, callback_id):
        """A new callable for Go function `callback_id`, of this connection."""
        return callbacks.GoFunction(callback_id, self.handle)


def run(op, handle, target, module, name, a, b, buffers, timeout_ms, cancel_fd):
    entry = OPS.get(op)
    if entry is None:
        raise BridgeError(ERR_ARGUMENT, "unknown operation %r" % (op,))
    fn, on_ref = entry
    req = Request()
    if on_ref:
        req.handle, req.obj = refs.entry(target)
    else:
        req.handle, req.obj = handle, None
    req.conn = conn = conn_of(req.handle)
    req.module, req.name, req.a, req.b, req.buffers = module, name, a, b, buffers
    waits = UNBOUNDED if timeout_ms <= 0 and cancel_fd < 0 else Waits(
        timeout_ms / 1000.0 if timeout_ms > 0 else None, cancel_fd)
    with conn.exclusive(), conn.bounded(waits):
        conn.check_open()
        return fn(req)


# ---- calls ---------------------------------------------------------------------------------

def _native(req):
    """A known function, plain arguments, plain TCP: the request is made in Rust (wire.py)."""
    conn = req.conn
    fn = conn.functions.get((req.module, req.name))
    if fn is None or conn.wire is None or req.b or req.buffers or "{" in (req.a or "[]") or req.server_decodes():
        return NotImplemented
    if conn.conn._config["sync_request_timeout"] is not None:
        return NotImplemented
    return conn.wire.call(fn, req.a or "[]", conn.waits, lambda obj: _direct_result(req, obj))


def _direct(req):
    """A known function whose arguments need no helper: one plain RPyC request."""
    conn = req.conn
    fn = conn.functions.get((req.module, req.name))
    if fn is None or req.server_decodes():
        return NotImplemented
    args, kwargs = req.args()
    return _direct_result(req, conn.request(fn, args, kwargs))


def _direct_result(req, result):
    """A direct call's result, encoded here; or, when it holds netrefs, by the server's
    helper, and the function leaves the direct cache for good."""
    if not _holds_netref(result):
        return req.by_value(result)
    conn, key = req.conn, (req.module, req.name)
    conn.functions.pop(key, None)
    conn.indirect.add(key)
    return req.reply(conn.helper_request("encode", result))


def _helper(req):
    """Through the server's helper: one round trip, which also returns the function when
    its result came by value, so that later calls go direct."""
    conn = req.conn
    if not conn.classic:
        return NotImplemented
    key = (req.module, req.name)
    want_fn = key not in conn.indirect
    (a, b), buffers, objs = req.for_server(*req.call_json())
    fn, reply = conn.helper_request("call", req.module, req.name, a, b, buffers, objs, want_fn)
    if fn is not None:
        conn.functions[key] = fn
    return req.reply(reply)


def _service(req):
    """A custom service: the exposed methods of its root."""
    if req.module not in ("", "root"):
        raise BridgeError(ERR_ARGUMENT, "%s serves a custom service: call the exposed methods of its root "
                          "(module \"root\"), not of module %r" % (req.conn.address, req.module))
    args, kwargs = req.args()
    return req.by_value(req.conn.remote(consts.HANDLE_CALLATTR, req.conn.root(), req.name, args,
                                        tuple(kwargs.items())))


CALL_STRATEGIES = (_native, _direct, _helper, _service)


def call(req):
    for strategy in CALL_STRATEGIES:
        reply = strategy(req)
        if reply is not NotImplemented:
            return reply
    raise AssertionError("_service takes every call")


def _holds_netref(value):
    if isinstance(value, rpyc.BaseNetref):
        return True
    return type(value) is tuple and any(_holds_netref(v) for v in value)


def getattr_(req):
    conn = req.conn
    if conn.classic:
        return req.reply(conn.helper_request("getattr", req.module, req.name))
    if req.module not in ("", "root"):
        raise BridgeError(ERR_ARGUMENT, "%s serves a custom service: only attributes of its root "
                          "(module \"root\") can be read" % conn.address)
    return req.by_value(conn.remote(consts.HANDLE_GETATTR, conn.root(), req.name))


def import_(req):
    conn = req.conn
    require_classic(conn, "import")
    netref = conn.modules.get(req.module)
    if netref is None:
        netref = conn.modules[req.module] = conn.helper_request("import", req.module)
    return req.new_ref(netref)


def root(req):
    """A request of its own each time (calls use the connection's cached root)."""
    return req.new_ref(req.conn.remote(consts.HANDLE_GETROOT))


# ---- Refs: a netref's operation is one RPyC request; a local value's is done here ----------

def _on(req, handler, local, *args):
    obj = req.obj
    if isinstance(obj, rpyc.BaseNetref):
        return req.conn.remote(handler, obj, *args)
    return local(obj, *args)


def _method(req, name, *args):
    """obj.name(*args): for a netref, one HANDLE_CALLATTR request."""
    return _on(req, consts.HANDLE_CALLATTR, lambda obj, _name, a, _kw: getattr(obj, name)(*a), name, args, ())


def ref_getattr(req):
    return req.new_ref(_on(req, consts.HANDLE_GETATTR, getattr, req.name))


def ref_setattr(req):
    if req.server_decodes() and isinstance(req.obj, rpyc.BaseNetref):
        (a,), buffers, objs = req.for_server(req.a)
        req.conn.helper_request("set_attr", req.obj, req.name, a, buffers, objs)
    else:
        _on(req, consts.HANDLE_SETATTR, setattr, req.name, req.value(req.a, "value_json"))
    return "null", []


def ref_call(req):
    conn, obj = req.conn, req.obj
    if req.server_decodes() and isinstance(obj, rpyc.BaseNetref):
        (a, b), buffers, objs = req.for_server(*req.call_json())
        result = conn.helper_request("call_object", obj, a, b, buffers, objs)
    else:
        args, kwargs = req.args()
        result = _on(req, consts.HANDLE_CALL, lambda o, a, k: o(*a, **dict(k)), args, tuple(kwargs.items()))
    return req.new_ref(result)


def ref_getitem(req):
    return req.new_ref(_method(req, "__getitem__", req.value(req.a, "key_json")))


def ref_setitem(req):
    if req.server_decodes() and isinstance(req.obj, rpyc.BaseNetref):
        (a, b), buffers, objs = req.for_server(req.a, req.b)
        req.conn.helper_request("set_item", req.obj, a, b, buffers, objs)
    else:
        _method(req, "__setitem__", req.value(req.a, "key_json"), req.value(req.b, "value_json"))
    return "null", []


def ref_len(req):
    return json.dumps(_method(req, "__len__")), []


def ref_repr(req):
    return json.dumps(_on(req, consts.HANDLE_REPR, repr)), []


def ref_str(req):
    return json.dumps(_on(req, consts.HANDLE_STR, str)), []


def ref_value(req):
    conn, obj = req.conn, req.obj
    if conn.classic and isinstance(obj, rpyc.BaseNetref):
        return req.reply(conn.helper_request("encode", obj))
    return req.by_value(obj)


def ref_iter(req):
    return req.new_ref(_method(req, "__iter__"))


def iter_next(req):
    """The next item as a new Ref, or null when the iterator is exhausted."""
    try:
        item = _method(req, "__next__")
    except StopIteration:
        return "null", []
    return req.new_ref(item)


# name -> (function, whether it acts on a Ref); the names are RpycOp's (src/ffi/refs.rs).
OPS = {
    "call": (call, False),
    "getattr": (getattr_, False),
    "import": (import_, False),
    "root": (root, False),
    "ref_getattr": (ref_getattr, True),
    "ref_setattr": (ref_setattr, True),
    "ref_call": (ref_call, True),
    "ref_getitem": (ref_getitem, True),
    "ref_setitem": (ref_setitem, True),
    "ref_len": (ref_len, True),
    "ref_repr": (ref_repr, True),
    "ref_str": (ref_str, True),
    "ref_value": (ref_value, True),
    "ref_iter": (ref_iter, True),
    "iter_next": (iter_next, True),
}
