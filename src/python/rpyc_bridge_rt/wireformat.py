"""The value format, defined once: tag marks, the dtype table, the helpers' names, and
the encoder core. Used by the client half (codec.py) and by the server helper
(server_side.py), whose classic-server copy gets this module's source ahead of its own.

Values cross as tagged JSON plus out-of-band byte buffers. Tags are objects with a single
"$" key:
    {"$float": "nan"|"inf"|"-inf"}     non-finite floats
    {"$bytes": i}                     bytes, buffers[i]
    {"$str": i}                       a str over BIG_STR characters, buffers[i] in UTF-8
    {"$array": [dtype, [shape], i]}   a numpy array, buffers[i] (little-endian, C order)
    {"$ref": id}                      the object a Ref holds
    {"$callback": id}                 a Go function (Go -> Python only)
    {"$dict": [[k, v], ...]}          a dict with non-string or "$" keys
    {"$obj": i}                       server -> client only: objects[i], kept as a Ref
"""

import json
import math

# Wire forms of dicts and arrays: plain tuples, which RPyC sends by value.
ARRAY_MARK = "\x00rpyc-bridge-array"
DICT_MARK = "\x00rpyc-bridge-dict"

# numpy dtypes that travel as raw buffers, by their Go names.
DTYPES = {"float64": "<f8", "float32": "<f4", "int64": "<i8", "int32": "<i4", "uint8": "|u1"}
WIRE_DTYPES = {wire: name for name, wire in DTYPES.items()}

# Strings longer than this travel as UTF-8 buffers: escaping them into JSON text and parsing
# them back costs far more than a copy.
BIG_STR = 4096

# Large buffers move in pieces of this size (Connection.staged, Connection.taken).
PIECE = 512 * 1024

# What the server helper offers, fetched once per connection.
HELPERS = ("call", "getattr", "encode", "call_object", "set_item", "set_attr", "import",
           "put", "tune", "take", "drop")


def is_scalar(o):
    """A value whose JSON text is itself, with no tag."""
    t = type(o)
    return t is int or o is None or t is bool or (t is str and len(o) <= BIG_STR) or (t is float and math.isfinite(o))


def dumps(tree):
    return json.dumps(tree, separators=(",", ":"))


def encoder(other):
    """The encoder core: a function enc(o, bufs) -> a JSON-ready tree, appending buffers to
    `bufs` (a list, or anything with append and __len__). Values it has no mapping for go to
    other(o, bufs, enc)."""

    def enc(o, bufs):
        t = type(o)
        if o is None or t is bool or t is int:
            return o
        if t is str:
            if len(o) <= BIG_STR:
                return o
            bufs.append(o.encode("utf-8", "surrogatepass"))
            return {"$str": len(bufs) - 1}
        if t is float:
            if math.isfinite(o):
                return o
            return {"$float": "nan" if o != o else ("inf" if o > 0 else "-inf")}
        if t is tuple or t is list:
            # The common cases without a call per element.
            if all(type(v) is int for v in o) or all(type(v) is float and math.isfinite(v) for v in o):
                return o
            return [enc(v, bufs) for v in o]
        if t is set or t is frozenset:
            return [enc(v, bufs) for v in o]
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in o):
                return {k: enc(v, bufs) for k, v in o.items()}
            return {"$dict": [[enc(k, bufs), enc(v, bufs)] for k, v in o.items()]}
        if t is bytes or t is bytearray or t is memoryview:
            bufs.append(bytes(o))
            return {"$bytes": len(bufs) - 1}
        return other(o, bufs, enc)

    return enc
