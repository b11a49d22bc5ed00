"""The Python half of rpyc-bridge: what src/bridge.rs calls.

Every function takes and returns plain values (ints, str, bytes, tuples) and raises on
failure; `describe_error` turns an exception into (code, type, message, traceback) for the
C side. Every request on a connection or a Ref goes through `request` (ops.run). Values
cross as tagged JSON plus byte buffers: see wireformat.py.
"""

import itertools
import json
import socket
import sys

import rpyc

from . import codec, ops
from .connection import Connection
from .errors import BridgeError, ERR_ARGUMENT, ERR_CLOSED, ERR_CONNECT, ERR_HANDLE, describe_error  # noqa: F401
from .refs import TABLE as _refs

_conns = ops.conns
_conn = ops.conn_of
_handles = itertools.count(1)
_default = 0

request = ops.run


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


def ref_count(handle):
    return _refs.count(handle if handle else None)


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


def seed_request(op, module, name, args_json):
    """The seed API (rpyc_call, rpyc_getattr): the general request on the default
    connection, whose result must have a plain JSON form (codec.plain_json)."""
    text, buffers = ops.run(op, default_handle(), 0, module, name, args_json, None, (), 0, -1)
    return codec.plain_json(text, buffers, _refs.release)


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
