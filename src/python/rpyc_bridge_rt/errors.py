"""Errors of the bridge, and their description for the C side (code, type, message, traceback).

The codes are `RpycStatus` of src/error.rs (RPYC_STATUS_* in the header), as the native
module gives them; go/status_test.go checks them against the header.
"""

import socket

import _rpyc_bridge_native as _native

OK = _native.STATUS_OK
ERR_ARGUMENT = _native.STATUS_ERR_ARGUMENT
ERR_INIT = _native.STATUS_ERR_INIT
ERR_CONNECT = _native.STATUS_ERR_CONNECT
ERR_PYTHON = _native.STATUS_ERR_PYTHON
ERR_HANDLE = _native.STATUS_ERR_HANDLE
ERR_TIMEOUT = _native.STATUS_ERR_TIMEOUT
ERR_CLOSED = _native.STATUS_ERR_CLOSED
ERR_INTERNAL = _native.STATUS_ERR_INTERNAL


class BridgeError(Exception):
    """A failure of the bridge itself (not a remote exception)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def describe_error(exc):
    """(code, type name or None, message, remote traceback or None) for any exception."""
    if isinstance(exc, BridgeError):
        return exc.code, None, str(exc), None
    remote_tb = getattr(exc, "_remote_tb", None)
    if remote_tb is not None:
        # rpyc's exception class appends the traceback to str(); the base class's does not.
        mro = type(exc).__mro__
        base = mro[1] if len(mro) > 1 else BaseException
        try:
            message = base.__str__(exc)
        except Exception:
            message = "<unprintable %s>" % type(exc).__name__
        return ERR_PYTHON, type(exc).__name__, message, remote_tb
    if isinstance(exc, EOFError):
        return ERR_CLOSED, type(exc).__name__, "the connection was closed: %s" % exc, None
    if isinstance(exc, (OSError, socket.timeout)):
        return ERR_CLOSED, type(exc).__name__, "connection failure: %s" % exc, None
    # A local exception from an operation on a local value (a Ref to a by-value result).
    return ERR_PYTHON, type(exc).__name__, str(exc), None
