"""The value format, defined once: tag marks, the dtype table, the helpers' names, and
the encoder core. Used by the client half (codec.py) and by the server helper
(server_side.py), whose classic-server copy gets this module's source ahead of its own.

Values cross as tagged JSON plus out-of-band byte buffers. Tags are objects with a single
"$" key:
    {"$float": "nan"|"inf"|"-inf"}     non-finite floats
    {"$bytes": i}                     bytes, buffers[i]
    {"$str": i}                       a str over BIG_STR characters, buffers[i] in UTF-8
    {"$array": [dtype, [shape], i]}   a numpy array, buffers[i] (little-endian, C order)
    {"$list": [dtype, i]}             a list of ints ("int64") or floats ("float64"),
                                      packed in buffers[i] (little-endian)
    {"$pickle": i}                    a large container of plain data, pickled in
                                      buffers[i] (plain_pickle; Go's go/pickler.go), and
                                      loaded with every global refused (plain_unpickle)
    {"$ref": id}                      the object a Ref holds
    {"$callback": id}                 a Go function (Go -> Python only)
    {"$dict": [[k, v], ...]}          a dict with non-string or "$" keys
    {"$obj": i}                       server -> client only: objects[i], kept as a Ref
"""

import array
import codecs
import gc
import io
import json
import math
import pickle

# Wire forms of dicts and arrays: plain tuples, which RPyC sends by value.
ARRAY_MARK = "\x00rpyc-bridge-array"
DICT_MARK = "\x00rpyc-bridge-dict"

# numpy dtypes that travel as raw buffers, by their Go names.
DTYPES = {"float64": "<f8", "float32": "<f4", "int64": "<i8", "int32": "<i4", "uint8": "|u1"}
WIRE_DTYPES = {wire: name for name, wire in DTYPES.items()}

# Strings longer than this travel as UTF-8 buffers: escaping them into JSON text and parsing
# them back costs far more than a copy.
BIG_STR = 4096

# The error handler for a Go string's text: Go does not check a long string's UTF-8 (it
# would cost as much as the copy), so each byte of an invalid sequence becomes one U+FFFD
# here, as encoding/json and string([]rune(s)) do there. Python's decoder reports a lead
# byte with its continuation bytes, none of which can start a sequence: one U+FFFD each.
GO_TEXT = "rpyc_bridge.go_text"


def _go_text(err):
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error(GO_TEXT, _go_text)


def go_text(data):
    """The str of a Go string's UTF-8 bytes."""
    return str(data, "utf-8", GO_TEXT)


# Large buffers move in pieces of this size (Connection.staged, Connection.taken).
PIECE = 512 * 1024

# Pieces of a large result asked for ahead of the one being copied (Connection.taken).
TAKE_AHEAD = 8

# A result's buffers up to this size come in the reply itself: taking them in pieces
# costs more round trips than it saves. Larger ones are kept back for take().
INLINE_MAX = 4 * PIECE

# Containers at least this long travel as one pickle ($pickle) when they hold plain data.
PICKLE_MIN = 64

# Lists of ints or floats at least this long travel packed ($list).
PACKED_MIN = 256
PACKED = {"int64": "q", "float64": "d"}

_SCALARS = frozenset((int, float, bool, type(None)))

# What the server helper offers, fetched once per connection.
HELPERS = ("call", "getattr", "encode", "call_object", "set_item", "set_attr", "import",
           "put", "tune", "take", "drop")


def is_scalar(o):
    """A value whose JSON text is itself, with no tag."""
    t = type(o)
    return t is int or o is None or t is bool or (t is str and len(o) <= BIG_STR) or (t is float and math.isfinite(o))


def dumps(tree):
    return json.dumps(tree, separators=(",", ":"))


class _PlainPickler(pickle.Pickler):
    """Pickles plain data only: the C pickler asks reducer_override about every object
    that is not None, a bool, or exactly an int, float, str, bytes, bytearray, list,
    tuple, dict, set or frozenset, and this one refuses them all."""

    def reducer_override(self, obj):
        raise _NotPlain


class _NotPlain(Exception):
    pass


def plain_pickle(o):
    """`o` as a pickle (protocol 5) when it holds plain data only, else None. Go decodes
    it (go/pickle.go): for large containers far faster than any per-object encoding.

    It is made without a memo first (the pickler's fast mode): 1M records take 0.35 s,
    not 1.7, and a 1M-entry dict 60 ms, not 350. An object that recurs is then written
    each time, so that pickle is capped (fast_pickle_cap); past the cap, or at a cycle, it
    is made again with the memo."""
    out = _CappedOutput(fast_pickle_cap(len(o)))
    pickler = _PlainPickler(out, protocol=5)
    pickler.fast = True
    try:
        pickler.dump(o)
        return out.getvalue()
    except (_NotPlain, pickle.PicklingError):
        return None
    except (_Full, ValueError, RecursionError):
        pass  # shared objects, or a cycle (fast mode raises ValueError): the memo copes
    out = io.BytesIO()
    try:
        _PlainPickler(out, protocol=5).dump(o)
    except (_NotPlain, RecursionError, pickle.PicklingError):
        return None
    return out.getvalue()


# A fast pickle's cap: this much, plus FAST_PICKLE_PER_ITEM for each of the container's
# elements. A value that shares objects wastes at most that much work before its memo
# pickle, which for 10M dict entries takes 4.3 s, not 0.4: so the cap grows with the
# container, and only a value whose elements average more than that each (shared, or
# large) pays for the memo.
FAST_PICKLE_BASE = 128 << 20
FAST_PICKLE_PER_ITEM = 256


def fast_pickle_cap(items):
    return FAST_PICKLE_BASE + FAST_PICKLE_PER_ITEM * items


class _Full(Exception):
    pass


class _CappedOutput(io.BytesIO):
    """A pickle's output that refuses to grow past `cap` bytes (the pickler writes a frame
    of about 64 kB at a time)."""

    def __init__(self, cap):
        super().__init__()
        self.cap = cap

    def write(self, data):
        if self.tell() + len(data) > self.cap:
            raise _Full
        return super().write(data)


class _PlainUnpickler(pickle.Unpickler):
    """Loads plain data only. Every callable a pickle could run (REDUCE, BUILD, NEWOBJ,
    INST, OBJ, the extension registry) must first come through find_class, refused here."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("%s.%s: a plain-data pickle holds no globals" % (module, name))


def plain_unpickle(data):
    """A pickle of plain data (Go's $pickle arguments) -> its value. ValueError for any
    other pickle, or for bytes that are no pickle.

    The cyclic GC is off meanwhile: a large pickle makes containers by the million, and
    each full collection they trigger walks every container in the process (loading 1M
    records took 3x as long). The unpickler runs no Python code but find_class, which
    refuses, so nothing else runs while it is off; a cycle made meanwhile is collected
    later as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        # A reader with peek(): the C unpickler then reads ahead, not one read() per
        # opcode, which an unframed pickle (Go's) would cost it (3x as long for 1M records).
        return _PlainUnpickler(io.BufferedReader(io.BytesIO(data), 1 << 16)).load()
    except Exception as err:  # the unpickler raises many kinds for malformed input
        raise ValueError("bad $pickle: %s" % (err,)) from None
    finally:
        if was_enabled:
            gc.enable()


def encode_container(o, bufs):
    """A large container of plain data, as {"$pickle": i}; None for any other."""
    t = type(o)
    if t is not list and t is not dict and t is not tuple and t is not set and t is not frozenset:
        return None
    if len(o) < PICKLE_MIN:
        return None
    data = plain_pickle(o)
    if data is None:
        return None
    bufs.append(data)
    return {"$pickle": len(bufs) - 1}


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
            # The common cases without a call per element: packed, pickled, or plain JSON.
            types = set(map(type, o))
            if len(o) >= PACKED_MIN and len(types) == 1:
                packed = _pack(o, types)
                if packed is not None:
                    bufs.append(packed[1])
                    return {"$list": [packed[0], len(bufs) - 1]}
            tree = encode_container(o, bufs)
            if tree is not None:
                return tree
            if _plain(o, types):
                return o
            return [enc(v, bufs) for v in o]
        if t is set or t is frozenset or t is dict:
            tree = encode_container(o, bufs)
            if tree is not None:
                return tree
        if t is set or t is frozenset:
            return [enc(v, bufs) for v in o]
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in o):
                if _plain(o.values(), set(map(type, o.values()))):
                    return o
                return {k: enc(v, bufs) for k, v in o.items()}
            return {"$dict": [[enc(k, bufs), enc(v, bufs)] for k, v in o.items()]}
        if t is bytes or t is bytearray or t is memoryview:
            bufs.append(bytes(o))
            return {"$bytes": len(bufs) - 1}
        return other(o, bufs, enc)

    return enc


def _pack(values, types):
    """(dtype, a bytes view of the packed array) for a list of only ints (that fit int64)
    or only floats, else None. A view, not tobytes(): a copy of 10M items is 80 MB of fresh
    memory, which cost a third of the whole result on the server."""
    if types == {int}:
        try:
            return "int64", memoryview(array.array("q", values)).cast("B")
        except OverflowError:
            return None
    if types == {float}:
        return "float64", memoryview(array.array("d", values)).cast("B")
    return None


def _plain(values, types):
    """Whether these values are their own JSON: scalars, finite floats, short strings."""
    if not types <= _SCALARS | {str}:
        return False
    if float in types and not all(map(math.isfinite, (v for v in values if type(v) is float))):
        return False
    if str in types and max(len(v) for v in values if type(v) is str) > BIG_STR:
        return False
    return True


def decoder(buffers, ref, make_array, callback=None, unpickle=plain_unpickle, text=go_text):
    """The decoder core: a function loads(text) -> Python values, for tagged JSON whose
    buffers are `buffers`. JSON arrays become tuples (RPyC sends tuples by value); `ref(i)`
    is the object of {"$ref": i}, `callback(id)` that of {"$callback": id} (None: the tag is
    refused); make_array(dtype, shape, data) makes an array; unpickle(data) the value of
    {"$pickle": i}, text(data) that of {"$str": i}. Raises ValueError for what does not
    follow the format."""

    def buffer(index):
        if type(index) is not int or not 0 <= index < len(buffers):
            raise ValueError("buffer index %r out of range (%d buffers)" % (index, len(buffers)))
        return buffers[index]

    def hook(obj):
        if len(obj) != 1:
            return obj
        ((key, val),) = obj.items()
        if key[:1] != "$":
            return obj
        if key == "$str":
            return text(buffer(val))
        if key == "$bytes":
            return bytes(buffer(val))
        if key == "$float":
            if val not in ("nan", "inf", "-inf"):
                raise ValueError("bad $float value %r" % (val,))
            return float(val)
        if key == "$list":
            dtype, index = val
            if dtype not in PACKED:
                raise ValueError("bad $list dtype %r" % (dtype,))
            data = buffer(index)
            if len(data) % 8:
                raise ValueError("a $list buffer of %d bytes" % len(data))
            return tuple(array.array(PACKED[dtype], data))
        if key == "$array":
            dtype, shape, index = val
            if dtype not in DTYPES:
                raise ValueError("array dtype %r is not one of %s" % (dtype, ", ".join(DTYPES)))
            data = buffer(index)
            count = 1
            for n in shape:
                count *= n
            if count * int(DTYPES[dtype][2:]) != len(data):
                raise ValueError("array of shape %s and dtype %s needs %d bytes, got %d"
                                 % (list(shape), dtype, count * int(DTYPES[dtype][2:]), len(data)))
            return make_array(DTYPES[dtype], tuple(shape), data)
        if key == "$pickle":
            return _Loaded(unpickle(buffer(val)))
        if key == "$ref":
            return ref(val)
        if key == "$callback" and callback is not None:
            if type(val) is not int:
                raise ValueError("bad $callback id %r" % (val,))
            return callback(val)
        if key == "$dict":
            return {tuples(k): tuples(v) for k, v in val}
        raise ValueError("unknown tag %r" % key)

    def loads(text):
        return tuples(json.loads(text, object_hook=hook))

    return loads


class _Loaded:
    """A $pickle's value, which has its tuples already: tuples() takes it out unwalked (a
    1M-entry dict's values took 27 ms to look at)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


_NESTED = frozenset((list, dict, _Loaded))


def tuples(v):
    """JSON's lists as tuples, all the way down."""
    t = type(v)
    if t is _Loaded:
        return v.value
    if t is list:
        if _NESTED.isdisjoint(set(map(type, v))):
            return tuple(v)
        return tuple([tuples(x) for x in v])
    if t is dict:
        if _NESTED.isdisjoint(set(map(type, v.values()))):
            return v
        return {k: tuples(x) for k, x in v.items()}
    return v
