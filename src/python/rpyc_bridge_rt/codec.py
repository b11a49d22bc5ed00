"""The client side of the value format (see wireformat.py for the tags).

Go -> Python (`decode`): JSON null, bool, numbers, strings as themselves; arrays as tuples
(RPyC passes tuples by value, lists by reference); objects as dicts. For classic servers,
dicts and arrays travel in a "wire" form, plain tuples that RPyC sends by value, which the
server's helper turns back into dicts and numpy arrays (server_side.py).

Python -> Go (`encode_local`, and the server's encoder): the same tags, plus lists, tuples
and sets as arrays, and anything else as {"$ref": id} (a new Ref).
"""

import json

from rpyc.core.netref import BaseNetref

import _rpyc_bridge_native as native

from .errors import BridgeError, ERR_ARGUMENT
from .wireformat import decoder, dumps, encoder, is_scalar, tuples  # noqa: F401


def decode(text, buffers, refs, what, expect=None):
    """Go's tagged JSON -> Python values, here (for a direct call, a custom service, a
    callback's result): JSON arrays as tuples, objects as dicts; `refs` gives the objects of
    {"$ref": id} (refs.get) and {"$callback": id} (refs.callback). `expect` (list or dict) is
    the required top-level JSON type. Arrays need numpy, so only the server makes them
    (classic servers get the JSON itself: see ops.helper_args)."""
    if not text:
        return None
    if "{" not in text:
        # No objects, so no tags and no dicts: the common case of plain arguments.
        try:
            value = json.loads(text)
        except ValueError as err:
            raise BridgeError(ERR_ARGUMENT, "%s is not valid JSON: %s" % (what, err)) from None
        _check(value, expect, what)
        return tuples(value)
    loads = decoder(buffers, refs.get, _no_array, refs.callback)
    try:
        value = loads(text)
    except RecursionError:
        raise BridgeError(ERR_ARGUMENT, "%s is nested too deeply" % what) from None
    except (ValueError, TypeError) as err:
        raise BridgeError(ERR_ARGUMENT, "%s: %s" % (what, err)) from None
    _check(value, expect, what)
    return value


def _check(value, expect, what):
    if expect is not None and value is not None and type(value) not in ((list, tuple) if expect is list else (dict,)):
        raise BridgeError(ERR_ARGUMENT, "%s must be a JSON %s, not %s"
                          % (what, "array" if expect is list else "object", type(value).__name__))


def _no_array(dtype, shape, data):
    raise BridgeError(ERR_ARGUMENT, "array arguments need a classic server (numpy is made there)")


def encode_local(value, refs, conn_handle):
    """Encodes a local (by-value) Python value for Go: (json_text, buffers)."""
    if is_scalar(value):
        return json.dumps(value), []
    buffers = []
    return dumps(_local_encoder(refs, conn_handle)(value, buffers)), buffers


def encode_tree(value, buffers, refs, conn_handle):
    """Like encode_local, into a JSON-ready structure, appending to an existing buffer list."""
    return _local_encoder(refs, conn_handle)(value, buffers)


def _local_encoder(refs, conn_handle):
    def other(o, buffers, enc):
        if isinstance(o, BaseNetref):
            # Custom services have no server-side helper: remote lists, tuples, sets and dicts
            # are fetched element by element through the special methods RPyC always allows.
            kind = object.__getattribute__(o, "____id_pack__")[0]
            if kind in _SEQUENCES:
                return [enc(v, buffers) for v in o]
            if kind == "builtins.dict":
                return enc({k: o[k] for k in o}, buffers)
        return {"$ref": refs.add(conn_handle, o)}

    return encoder(other)


_SEQUENCES = ("builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset")


def _readable(buf):
    """A result buffer as bytes: one taken in pieces is an assembly (connection._take_kept)."""
    return buf if type(buf) is bytes else native.assembly_bytes(buf)


def plain_json(text, buffers, release):
    """The one rule of the seed API: a result has a plain JSON form when it holds no bytes,
    arrays or Refs (long strings are written inline). Refs it held are released."""
    if not buffers and '"$ref"' not in text:
        return text
    holds = []

    def hook(obj):
        if len(obj) == 1:
            ((key, val),) = obj.items()
            if key == "$str":
                return str(_readable(buffers[val]), "utf-8", "surrogatepass")
            if key == "$ref":
                release(val)
                holds.append("remote objects")
            elif key in ("$bytes", "$array"):
                holds.append("bytes or arrays")
        return obj

    value = json.loads(text, object_hook=hook)
    if holds:
        raise BridgeError(ERR_ARGUMENT, "the result has no plain JSON form (it holds %s); use the handle API"
                          % holds[0])
    return json.dumps(value)
