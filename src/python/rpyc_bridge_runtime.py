"""The Python half of rpyc-bridge: connections, calls and conversions.

The Rust C ABI (src/ffi.rs) calls the functions below with plain values (ints, str) and
gets str back. Every failure is raised as an exception; `describe_error` turns it into
(code, type, message, traceback) for the C side. Codes match `RpycStatus` in src/error.rs.

Threads: any thread may call in. A connection is used by one call at a time (`_Conn.lock`,
whose acquire releases the GIL while it waits); the GIL itself is released by the socket
layer while waiting on the network, so calls on different connections overlap.
"""

import itertools
import json
import socket
import sys
import threading

import rpyc
from rpyc.core.async_ import AsyncResultTimeout
from rpyc.core.service import ClassicClient, VoidService
from rpyc.core.stream import SocketStream
from rpyc.utils.factory import connect_stream

OK, ERR_ARGUMENT, ERR_INIT, ERR_CONNECT, ERR_PYTHON, ERR_HANDLE, ERR_TIMEOUT, ERR_CLOSED, ERR_INTERNAL = range(9)


class BridgeError(Exception):
    """A failure of the bridge itself (not a remote exception)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# Installed on classic servers once per connection: a call, its conversion to JSON and
# the import of its module happen in one round trip, and results that RPyC would return
# as netrefs (numpy scalars, ndarrays) become plain JSON there, so the client needs no numpy.
_SERVER_HELPERS = r'''
def _rpyc_bridge_helpers():
    import importlib, json

    def default(obj):
        tolist = getattr(obj, "tolist", None)
        if callable(tolist):
            return tolist()
        if isinstance(obj, (set, frozenset)):
            return list(obj)
        raise TypeError("a result of type %s.%s has no JSON form; fetch it as a remote object instead"
                        % (type(obj).__module__, type(obj).__qualname__))

    def to_json(obj):
        try:
            return json.dumps(obj, default=default, allow_nan=False)
        except ValueError as err:
            raise ValueError("%s (NaN and infinities have no JSON form)" % err) from None

    def call(module, func, args, kwarg_pairs):
        fn = getattr(importlib.import_module(module), func)
        return to_json(fn(*args, **dict(kwarg_pairs)))

    def getattr_(module, attr):
        return to_json(getattr(importlib.import_module(module), attr))

    return call, getattr_

_rpyc_bridge_call, _rpyc_bridge_getattr = _rpyc_bridge_helpers()
'''

_DEFAULT_CONNECT_TIMEOUT = 10.0


class _Conn:
    def __init__(self, host, port, options):
        service_kind = options.get("service", "classic")
        if service_kind not in ("classic", "service"):
            raise BridgeError(ERR_ARGUMENT, "option service must be \"classic\" or \"service\", not %r" % (service_kind,))
        config = {"sync_request_timeout": options.get("sync_request_timeout")}
        if "allow_public_attrs" in options:
            config["allow_public_attrs"] = bool(options["allow_public_attrs"])
        timeout = options.get("connect_timeout", _DEFAULT_CONNECT_TIMEOUT)
        try:
            stream = SocketStream.connect(host, port, timeout=timeout, keepalive=bool(options.get("keepalive", False)))
        except (OSError, socket.timeout) as err:
            raise BridgeError(ERR_CONNECT, "cannot connect to %s:%d: %s" % (host, port, err)) from None
        service = ClassicClient if service_kind == "classic" else VoidService
        try:
            self.conn = connect_stream(stream, service, config)
        except Exception as err:
            stream.close()
            raise BridgeError(ERR_CONNECT, "%s:%d did not complete the RPyC handshake: %s: %s"
                              % (host, port, type(err).__name__, err)) from None
        self.lock = threading.Lock()
        self.address = "%s:%d" % (host, port)
        self.classic = service_kind == "classic"
        self.helpers = None
        if self.classic:
            try:
                self.conn.execute(_SERVER_HELPERS)
                ns = self.conn.namespace
                self.helpers = (ns["_rpyc_bridge_call"], ns["_rpyc_bridge_getattr"])
            except Exception as err:
                self.conn.close()
                raise BridgeError(ERR_CONNECT, "%s is not a classic RPyC server (%s: %s); open it with "
                                  "{\"service\": \"service\"}" % (self.address, type(err).__name__, err)) from None

    def _request(self, fn, args, kwargs, timeout):
        """Calls the netref `fn` once; `timeout` (seconds or None) bounds the wait for the reply."""
        if self.conn.closed:
            raise BridgeError(ERR_CLOSED, "the connection to %s is closed" % self.address)
        if timeout is None:
            return fn(*args, **kwargs)
        result = rpyc.async_(fn)(*args, **kwargs)
        result.set_expiry(timeout)
        try:
            return result.value
        except AsyncResultTimeout:
            raise BridgeError(ERR_TIMEOUT, "no reply from %s within %.3f s" % (self.address, timeout)) from None

    def call(self, module, func, args, kwargs, timeout):
        with self.lock:
            if self.helpers is not None:
                # Keyword arguments travel as a tuple of pairs: by value, where a dict would be a netref.
                pairs = tuple(kwargs.items())
                return self._request(self.helpers[0], (module, func, args, pairs), {}, timeout)
            if module not in ("", "root"):
                raise BridgeError(ERR_ARGUMENT, "%s is not a classic server: call functions of its service "
                                  "root (module \"root\"), not of module %r" % (self.address, module))
            return _local_json(self._request(getattr(self.conn.root, func), args, kwargs, timeout))

    def getattr(self, module, attr, timeout):
        with self.lock:
            if self.helpers is not None:
                return self._request(self.helpers[1], (module, attr), {}, timeout)
            if module not in ("", "root"):
                raise BridgeError(ERR_ARGUMENT, "%s is not a classic server: only attributes of its service "
                                  "root (module \"root\") can be read" % self.address)
            return _local_json(getattr(self.conn.root, attr))

    def close(self):
        with self.lock:
            self.conn.close()


def _local_json(value):
    """JSON for a value that came back by value (custom services: no server-side helper)."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise BridgeError(ERR_ARGUMENT, "the result has no JSON form (%s)" % err) from None


_conns = {}
_handles = itertools.count(1)
_default = 0


def _tuples(value):
    """JSON arrays become tuples: RPyC passes tuples by value, lists by reference."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _parse_args(args_json, kwargs_json):
    try:
        args = json.loads(args_json) if args_json else []
    except ValueError as err:
        raise BridgeError(ERR_ARGUMENT, "args_json is not valid JSON: %s" % err) from None
    if not isinstance(args, list):
        raise BridgeError(ERR_ARGUMENT, "args_json must be a JSON array of positional arguments, not %s"
                          % type(args).__name__)
    try:
        kwargs = json.loads(kwargs_json) if kwargs_json else {}
    except ValueError as err:
        raise BridgeError(ERR_ARGUMENT, "kwargs_json is not valid JSON: %s" % err) from None
    if not isinstance(kwargs, dict):
        raise BridgeError(ERR_ARGUMENT, "kwargs_json must be a JSON object, not %s" % type(kwargs).__name__)
    return _tuples(args), _tuples(kwargs)


def _conn(handle):
    try:
        return _conns[handle]
    except KeyError:
        raise BridgeError(ERR_HANDLE, "unknown connection handle %d (closed, or never opened)" % handle) from None


def _timeout(timeout_ms):
    return None if timeout_ms <= 0 else timeout_ms / 1000.0


# ---- handle API -------------------------------------------------------------------------

def open_conn(host, port, options_json):
    if not 0 < port < 65536:
        raise BridgeError(ERR_ARGUMENT, "port %d is out of range" % port)
    try:
        options = json.loads(options_json) if options_json else {}
    except ValueError as err:
        raise BridgeError(ERR_ARGUMENT, "options_json is not valid JSON: %s" % err) from None
    if not isinstance(options, dict):
        raise BridgeError(ERR_ARGUMENT, "options_json must be a JSON object")
    conn = _Conn(host, port, options)
    handle = next(_handles)
    _conns[handle] = conn
    return handle


def close_conn(handle):
    conn = _conns.pop(handle, None)
    if conn is None:
        raise BridgeError(ERR_HANDLE, "unknown connection handle %d (closed, or never opened)" % handle)
    conn.close()


def is_connected(handle):
    conn = _conns.get(handle)
    return conn is not None and not conn.conn.closed


def call(handle, module, func, args_json, kwargs_json, timeout_ms):
    args, kwargs = _parse_args(args_json, kwargs_json)
    return _conn(handle).call(module, func, args, kwargs, _timeout(timeout_ms))


def getattr_(handle, module, attr, timeout_ms):
    return _conn(handle).getattr(module, attr, _timeout(timeout_ms))


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


# ---- errors and introspection -----------------------------------------------------------

def describe_error(exc):
    """(code, type name or None, message, remote traceback or None) for any exception."""
    if isinstance(exc, BridgeError):
        return exc.code, None, str(exc), None
    remote_tb = getattr(exc, "_remote_tb", None)
    if remote_tb is not None:
        base = type(exc).__mro__[1] if len(type(exc).__mro__) > 1 else BaseException
        try:
            message = base.__str__(exc)
        except Exception:
            message = "<unprintable %s>" % type(exc).__name__
        return ERR_PYTHON, type(exc).__name__, message, remote_tb
    if isinstance(exc, EOFError):
        return ERR_CLOSED, type(exc).__name__, "the connection was closed: %s" % exc, None
    if isinstance(exc, (OSError, socket.timeout)):
        return ERR_CLOSED, type(exc).__name__, "connection failure: %s" % exc, None
    return ERR_INTERNAL, type(exc).__name__, str(exc), None


def info():
    flags = sys.flags
    return json.dumps({
        "python_version": sys.version,
        "rpyc_version": rpyc.__version__,
        "builtin_modules": sorted(sys.builtin_module_names),
        "path": sys.path,
        "isolated": bool(flags.isolated),
        "ignore_environment": bool(flags.ignore_environment),
        "no_site": bool(flags.no_site),
        "utf8_mode": bool(flags.utf8_mode),
        "dont_write_bytecode": bool(sys.dont_write_bytecode),
    })
