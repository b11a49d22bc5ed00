"""The Python half of rpyc-bridge: what src/bridge.rs calls.

Every function takes and returns plain values (ints, str, bytes, tuples) and raises on
failure; `describe_error` turns an exception into (code, type, message, traceback) for the
C side. Values cross as tagged JSON plus byte buffers: see codec.py.
"""

import itertools
import json
import socket
import sys

import rpyc

from . import codec
from .connection import Connection, require_classic, resolve_objects
from .errors import BridgeError, ERR_ARGUMENT, ERR_CLOSED, ERR_CONNECT, ERR_HANDLE, describe_error  # noqa: F401
from . import callbacks
from .refs import TABLE as _refs

_conns = {}
_handles = itertools.count(1)
_default = 0


def _conn(handle):
    try:
        return _conns[handle]
    except (KeyError, TypeError):
        raise BridgeError(ERR_HANDLE, "unknown connection handle %r (closed, or never opened)" % (handle,)) from None


def _timeout(timeout_ms):
    return None if timeout_ms <= 0 else timeout_ms / 1000.0


def _args(handle, args_json, kwargs_json, buffers):
    """Decodes call arguments: (args tuple, kwargs dict, wired)."""
    refs = _RefsOf(handle)
    wire = _conn(handle).classic
    args, wired_a = codec.decode(args_json, buffers, refs, "args_json", wire, expect=list)
    kwargs, wired_k = codec.decode(kwargs_json, buffers, refs, "kwargs_json", wire, expect=dict)
    if type(kwargs) is tuple:
        kwargs = dict(kwargs[1])  # the keywords themselves, from their wire form; values stay wired
    return args or (), kwargs or {}, wired_a or wired_k


def _value(handle, text, buffers, what):
    """A single value (a key, an attribute value), wired for classic servers."""
    return codec.decode(text, buffers, _RefsOf(handle), what, _conn(handle).classic)


class _RefsOf:
    """The ref table as seen by one connection: a Ref of another connection is refused."""

    def __init__(self, handle):
        self.handle = handle

    def get(self, ref):
        conn_handle, obj = _refs.entry(ref)
        if conn_handle != self.handle:
            raise BridgeError(ERR_ARGUMENT, "Ref %d belongs to another connection" % ref)
        return obj


def _reply(handle, reply, plain=False):
    """The server's (json, buffers, objects), or its JSON alone, -> (json, buffers) with
    objects as new Refs. `plain` (the seed API) wants JSON alone: bytes, arrays and objects
    are an error."""
    if type(reply) is str:
        return reply, []
    text, bufs, objs = reply
    conn = _conn(handle)
    if plain and (bufs or objs):
        conn.drop_kept(bufs)
        raise _not_plain("remote objects" if objs else "bytes or arrays")
    def resolve(obj, buffers):
        if isinstance(obj, rpyc.BaseNetref):
            return {"$ref": _refs.add(handle, obj)}
        return codec.encode_tree(obj, buffers, _refs, handle)

    return resolve_objects(text, conn.taken(bufs), objs, resolve)


def _local(handle, value):
    text, bufs = codec.encode_local(value, _refs, handle)
    return text, bufs


# ---- connections --------------------------------------------------------------------------

def open_conn(host, port, options_json):
    if not 0 < port < 65536:
        raise BridgeError(ERR_ARGUMENT, "port %d is out of range" % port)
    try:
        options = json.loads(options_json) if options_json else {}
    except ValueError as err:
        raise BridgeError(ERR_ARGUMENT, "options_json is not valid JSON: %s" % err) from None
    if not isinstance(options, dict):
        raise BridgeError(ERR_ARGUMENT, "options_json must be a JSON object")
    handle = next(_handles)
    _conns[handle] = Connection(host, port, options, handle)
    return handle


def close_conn(handle):
    conn = _conns.pop(handle, None)
    if conn is None:
        raise BridgeError(ERR_HANDLE, "unknown connection handle %d (closed, or never opened)" % handle)
    _refs.release_conn(handle)
    conn.close()


def is_connected(handle):
    conn = _conns.get(handle)
    return conn is not None and not conn.closed


def call(handle, module, func, args_json, kwargs_json, buffers, timeout_ms, plain=False):
    conn = _conns.get(handle)
    args_json = args_json or "[]"
    if conn is not None and not kwargs_json and not buffers and "{" not in args_json:
        reply = _direct_call(handle, conn, (module, func), args_json, _timeout(timeout_ms), plain)
        if reply is not NotImplemented:
            return reply
    conn = _conn(handle)
    args, kwargs, arrays = _args(handle, args_json, kwargs_json, buffers)
    with conn.exclusive():
        if conn.classic:
            return _classic_call(handle, conn, module, func, args, kwargs, arrays, _timeout(timeout_ms), plain)
        if module not in ("", "root"):
            raise BridgeError(ERR_ARGUMENT, "%s serves a custom service: call the exposed methods of its root "
                              "(module \"root\"), not of module %r" % (conn.address, module))
        fn = getattr(conn.conn.root, func)
        return _local(handle, conn.request(lambda: fn(*args, **kwargs), (), None))


def _direct_call(handle, conn, key, args_json, timeout, plain):
    """The hot path: a known function with plain arguments, called straight through its
    netref, natively (wire.py) where it can be, else by RPyC. NotImplemented when neither
    applies, for the general path."""
    fn = conn.functions.get(key)
    if fn is None:
        return NotImplemented
    native = conn.wire is not None and conn.conn._config["sync_request_timeout"] is None
    if not native and timeout is not None:
        return NotImplemented  # a netref call has no timeout of its own
    with conn.exclusive():
        conn.check_open()
        if native:
            reply = conn.wire.call(fn, args_json, timeout,
                                   lambda obj: _direct_result(handle, conn, key, obj, timeout, plain))
            if reply is not NotImplemented:
                return _plain_only(reply, plain)
            if timeout is not None:
                return NotImplemented
        result = fn(*codec.decode(args_json, (), None, "args_json", False, list)[0])
        return _direct_result(handle, conn, key, result, None, plain)


def _classic_call(handle, conn, module, func, args, kwargs, wired, timeout, plain):
    """One round trip: straight to the function's netref when its results come by value,
    else through the server's helper, which also encodes what RPyC would send as netrefs."""
    key = (module, func)
    fn = conn.functions.get(key)
    if fn is not None and not wired:
        return _direct_result(handle, conn, key, conn.request(fn, args, timeout, kwargs), timeout, plain)
    # Keyword arguments travel as pairs: a tuple goes by value, a dict by reference.
    reply = conn.helper_request("call", (module, func, args, tuple(kwargs.items()), wired), timeout, wired)
    if type(reply) is str and not wired and key not in conn.indirect:
        conn.functions[key] = conn.helpers["resolve"](module, func)
    return _reply(handle, reply, plain)


def _direct_result(handle, conn, key, result, timeout, plain):
    """The result of a direct netref call, encoded here; or, when it holds netrefs, by the
    server's helper, and the function leaves the direct cache for good."""
    if not _holds_netref(result):
        return _plain_only(_local(handle, result), plain)
    conn.functions.pop(key, None)
    conn.indirect.add(key)
    return _reply(handle, conn.request(conn.helpers["encode"], (result,), timeout), plain)


def _plain_only(reply, plain):
    """A by-value (json, buffers) reply; with `plain` (the seed API, plain JSON only) an
    error when it holds bytes or arrays."""
    if plain and reply[1]:
        raise _not_plain("bytes or arrays")
    return reply


def _not_plain(holds):
    return BridgeError(ERR_ARGUMENT, "the result has no plain JSON form (it holds %s); use the handle API" % holds)


def _holds_netref(value):
    if isinstance(value, rpyc.BaseNetref):
        return True
    return type(value) is tuple and any(_holds_netref(v) for v in value)


def getattr_(handle, module, attr, timeout_ms, plain=False):
    conn = _conn(handle)
    with conn.exclusive():
        if conn.classic:
            return _reply(handle, conn.request(conn.helpers["getattr"], (module, attr), _timeout(timeout_ms)), plain)
        if module not in ("", "root"):
            raise BridgeError(ERR_ARGUMENT, "%s serves a custom service: only attributes of its root "
                              "(module \"root\") can be read" % conn.address)
        conn.check_open()
        return _local(handle, getattr(conn.conn.root, attr))


def import_module(handle, module):
    conn = _conn(handle)
    require_classic(conn, "import")
    with conn.exclusive():
        netref = conn.modules.get(module)
        if netref is None:
            netref = conn.modules[module] = conn.request(conn.helpers["import"], (module,), None)
        return _refs.add(handle, netref)


def root(handle):
    conn = _conn(handle)
    with conn.exclusive():
        conn.check_open()
        return _refs.add(handle, conn.conn.root)


def ref_count(handle):
    return _refs.count(handle if handle else None)


# ---- Refs ----------------------------------------------------------------------------------

def _ref(ref):
    handle, obj = _refs.entry(ref)
    return handle, _conn(handle), obj


def ref_getattr(ref, name):
    handle, conn, obj = _ref(ref)
    with conn.exclusive():
        return _refs.add(handle, getattr(obj, name))


def ref_setattr(ref, name, value_json, buffers):
    handle, conn, obj = _ref(ref)
    value, arrays = _value(handle, value_json, buffers, "value_json")
    with conn.exclusive():
        if arrays:
            conn.helper_request("set_attr", (obj, name, value), None, True)
        else:
            setattr(obj, name, value)


def ref_call(ref, args_json, kwargs_json, buffers, timeout_ms):
    handle, conn, obj = _ref(ref)
    args, kwargs, arrays = _args(handle, args_json, kwargs_json, buffers)
    with conn.exclusive():
        if conn.classic:
            result = conn.helper_request("call_object", (obj, args, tuple(kwargs.items()), arrays),
                                         _timeout(timeout_ms), arrays)
        else:
            result = conn.request(lambda: obj(*args, **kwargs), (), None)
        return _refs.add(handle, result)


def ref_getitem(ref, key_json, buffers):
    handle, conn, obj = _ref(ref)
    key, _ = _value(handle, key_json, buffers, "key_json")
    with conn.exclusive():
        return _refs.add(handle, obj[key])


def ref_setitem(ref, key_json, value_json, buffers):
    handle, conn, obj = _ref(ref)
    key, key_wired = _value(handle, key_json, buffers, "key_json")
    value, arrays = _value(handle, value_json, buffers, "value_json")
    arrays = arrays or key_wired
    with conn.exclusive():
        if arrays:
            conn.helper_request("set_item", (obj, key, value), None, True)
        else:
            obj[key] = value


def ref_len(ref):
    _, conn, obj = _ref(ref)
    with conn.exclusive():
        return len(obj)


def ref_repr(ref):
    _, conn, obj = _ref(ref)
    with conn.exclusive():
        return repr(obj)


def ref_str(ref):
    _, conn, obj = _ref(ref)
    with conn.exclusive():
        return str(obj)


def ref_decode(ref, timeout_ms):
    handle, conn, obj = _ref(ref)
    with conn.exclusive():
        if conn.classic and isinstance(obj, rpyc.BaseNetref):
            return _reply(handle, conn.request(conn.helpers["encode"], (obj,), _timeout(timeout_ms)))
        return _local(handle, obj)


def ref_iter(ref):
    handle, conn, obj = _ref(ref)
    with conn.exclusive():
        return _refs.add(handle, iter(obj))


def iter_next(ref):
    """The next item as a new Ref, or 0 when the iterator is exhausted."""
    handle, conn, obj = _ref(ref)
    with conn.exclusive():
        try:
            item = next(obj)
        except StopIteration:
            return 0
        return _refs.add(handle, item)


def ref_release(ref):
    _refs.release(ref)


def discover(service, registry_host, registry_port, tcp, timeout_ms):
    """Servers of `service` known to an RPyC registry: JSON [[host, port], ...], sorted."""
    from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient

    timeout = timeout_ms / 1000.0 if timeout_ms > 0 else 2.0
    client = (TCPRegistryClient if tcp else UDPRegistryClient)(ip=registry_host, port=registry_port, timeout=timeout)
    try:
        addrs = client.discover(service.upper())
    except (OSError, socket.timeout) as err:
        raise BridgeError(ERR_CONNECT, "registry %s:%d: %s" % (registry_host, registry_port, err)) from None
    return json.dumps(sorted([h, p] for h, p in addrs))


# ---- callbacks --------------------------------------------------------------------------------

def callback_new(handle, callback_id):
    """A Ref to a new Python callable that runs Go callback `callback_id` (see callbacks.py)."""
    _conn(handle).check_open()
    return _refs.add(handle, callbacks.GoFunction(callback_id, handle))


def serve_background(handle, enable):
    """Serves the server's requests (callbacks) from a background thread, also between calls."""
    conn = _conn(handle)
    if enable:
        conn.start_background()
    else:
        conn.stop_background()


# ---- the seed's single default connection -----------------------------------------------

def default_connect(host, port):
    global _default
    default_disconnect()
    _default = open_conn(host, port, None)


def default_disconnect():
    global _default
    handle, _default = _default, 0
    if handle:
        close_conn(handle)


def default_handle():
    if not _default:
        raise BridgeError(ERR_CLOSED, "not connected: call rpyc_connect first")
    return _default


def info():
    flags = sys.flags
    return json.dumps({
        "python_version": sys.version,
        "rpyc_version": rpyc.__version__,
        "builtin_modules": sorted(sys.builtin_module_names),
        "path": sys.path,
        "executable": sys.executable,
        "isolated": bool(flags.isolated),
        "ignore_environment": bool(flags.ignore_environment),
        "no_site": bool(flags.no_site),
        "utf8_mode": bool(flags.utf8_mode),
        "dont_write_bytecode": bool(sys.dont_write_bytecode),
    })
