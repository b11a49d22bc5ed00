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

from .errors import BridgeError, ERR_ARGUMENT
from .wireformat import ARRAY_MARK, DICT_MARK, DTYPES as ARRAY_DTYPES, dumps, encoder, is_scalar  # noqa: F401


class ArrayArg:
    """An array argument on its way to the server, where it becomes a numpy.ndarray."""

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, shape, data


def decode(text, buffers, refs, what, wire, expect=None):
    """Go's tagged JSON -> Python values. With `wire` (classic servers), dicts and arrays
    take their wire form. `expect` (list or dict) is the required top-level JSON type.
    Returns (value, wired): whether anything took its wire form."""
    if not text:
        return None, False
    try:
        return _decode(text, buffers, refs, what, wire, expect)
    except RecursionError:
        raise BridgeError(ERR_ARGUMENT, "%s is nested too deeply" % what) from None


def _decode(text, buffers, refs, what, wire, expect):
    if "{" not in text:
        # No objects, so no tags and no dicts: the common case of plain arguments.
        try:
            value = json.loads(text)
        except ValueError as err:
            raise BridgeError(ERR_ARGUMENT, "%s is not valid JSON: %s" % (what, err)) from None
        if expect is not None and type(value) is not expect:
            raise BridgeError(ERR_ARGUMENT, "%s must be a JSON %s, not %s"
                              % (what, "array" if expect is list else "object", type(value).__name__))
        return _plain_tuples(value), False

    state = {"arrays": False, "wired": False}

    def hook(obj):
        if len(obj) == 1:
            ((key, val),) = obj.items()
            if key.startswith("$"):
                return _tag(key, val, buffers, refs, state)
        return obj

    try:
        value = json.loads(text, object_hook=hook) if text else None
    except ValueError as err:
        raise BridgeError(ERR_ARGUMENT, "%s is not valid JSON: %s" % (what, err)) from None
    if expect is not None and value is not None and type(value) is not expect:
        raise BridgeError(ERR_ARGUMENT, "%s must be a JSON %s, not %s"
                          % (what, "array" if expect is list else "object", type(value).__name__))
    if state["arrays"] and not wire:
        raise BridgeError(ERR_ARGUMENT, "array arguments need a classic server (numpy is made there)")
    return _Converter(wire, state).value(value), state["wired"]


def _tag(key, val, buffers, refs, state):
    if key == "$float":
        if val not in ("nan", "inf", "-inf"):
            raise BridgeError(ERR_ARGUMENT, "bad $float value %r" % (val,))
        return float(val)
    if key == "$bytes":
        return bytes(_buffer(buffers, val))
    if key == "$str":
        try:
            return str(_buffer(buffers, val), "utf-8", "surrogatepass")
        except UnicodeDecodeError as err:
            raise BridgeError(ERR_ARGUMENT, "a $str buffer is not UTF-8: %s" % err) from None

    if key == "$array":
        dtype, shape, index = val
        if dtype not in ARRAY_DTYPES:
            raise BridgeError(ERR_ARGUMENT, "array dtype %r is not one of %s" % (dtype, ", ".join(ARRAY_DTYPES)))
        data = bytes(_buffer(buffers, index))
        count = 1
        for n in shape:
            count *= n
        if count * int(ARRAY_DTYPES[dtype][2:]) != len(data):
            raise BridgeError(ERR_ARGUMENT, "array of shape %s and dtype %s needs %d bytes, got %d"
                              % (list(shape), dtype, count * int(ARRAY_DTYPES[dtype][2:]), len(data)))
        state["arrays"] = True
        return ArrayArg(ARRAY_DTYPES[dtype], tuple(shape), data)
    if key == "$ref":
        return refs.get(val)
    if key == "$dict":
        return _Pairs(val)
    raise BridgeError(ERR_ARGUMENT, "unknown tag %r" % key)


class _Pairs(list):
    """A $dict's pairs, made into a dict (or its wire form) by _Converter."""


def _buffer(buffers, index):
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise BridgeError(ERR_ARGUMENT, "buffer index %r out of range (%d buffers)" % (index, len(buffers)))
    return buffers[index]


def _plain_tuples(v):
    if type(v) is list:
        return tuple(_plain_tuples(x) for x in v)
    return v


class _Converter:
    """JSON arrays become tuples; dicts and arrays their wire form when `wire`."""

    def __init__(self, wire, state):
        self.wire, self.state = wire, state

    def value(self, v):
        t = type(v)
        if t is list:
            return tuple(self.value(x) for x in v)
        if t is dict:
            return self.dict((k, self.value(x)) for k, x in v.items())
        if t is _Pairs:
            return self.dict((self.value(k), self.value(x)) for k, x in v)
        if t is ArrayArg:
            self.state["wired"] = True
            # A tuple of plain values: RPyC sends it by value, bytes and all, in one message.
            return (ARRAY_MARK, v.dtype, v.shape, v.data)
        return v

    def dict(self, pairs):
        if not self.wire:
            return dict(pairs)
        self.state["wired"] = True
        return (DICT_MARK, tuple(pairs))


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
                return str(buffers[val], "utf-8", "surrogatepass")
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
