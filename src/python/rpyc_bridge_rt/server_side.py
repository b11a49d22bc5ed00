"""Code the bridge installs on classic servers, once per connection (conn.execute).

It makes one round trip do a whole operation: import the module, look the function up,
turn array arguments into numpy arrays, call, and encode the result (see codec.py for the
tags). Results that RPyC would return as netrefs (numpy scalars, ndarrays) become values
there, so the client needs no numpy; arrays travel as raw bytes, never element by element,
large ones in pieces: arguments ahead of their call (put, assembled here; see
Connection.staged), results after it (take; see Connection.taken).
Objects with no value mapping come back as netrefs, which the client keeps as Refs.
"""

SOURCE = r'''
def _rpyc_bridge_install():
    import importlib, itertools, json, math, sys

    ARRAY_MARK = "\x00rpyc-bridge-array"
    DICT_MARK = "\x00rpyc-bridge-dict"
    PIECE = 512 * 1024
    KEPT_BACK = 8  # results' buffers kept for take() at most: a bound on what is never taken
    WIRE_DTYPES = {"<f8": "float64", "<f4": "float32", "<i8": "int64", "<i4": "int32", "|u1": "uint8"}
    functions = {}

    def resolve(module, name):
        key = (module, name)
        fn = functions.get(key)
        if fn is None:
            fn = functions[key] = getattr(importlib.import_module(module), name)
        return fn

    parts = {}  # token -> a large array argument's bytes, filled by put() ahead of its call

    def put(token, size, offset, data):
        """One piece of a large array argument. Many small frames cost this side far less
        than one large one: each large frame is copied three times into fresh pages."""
        buf = parts.get(token)
        if buf is None:
            buf = parts[token] = bytearray(size)
        buf[offset:offset + len(data)] = data

    def tune(root, compress):
        """This connection's end here: TCP_NODELAY, since put()'s replies are small frames
        in a row, which Nagle's algorithm would hold for the client's delayed ACK (40 ms);
        and the client's choice of RPyC's zlib compression for what is sent to it."""
        import socket
        channel = root._conn._channel
        channel.compress = compress
        channel.stream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def unwire(*values):
        """The client's wire forms -> numpy arrays and dicts, for each of `values`. Arrays
        sent ahead in pieces are taken out of `parts`; what a failed call left goes too."""
        try:
            return tuple(unwire_value(v) for v in values)
        finally:
            parts.clear()

    def unwire_value(value):
        if type(value) is tuple:
            if len(value) == 4 and value[0] == ARRAY_MARK:
                import numpy
                data = value[3]
                if type(data) is int:
                    data = parts.pop(data, None)
                    if data is None:
                        raise ValueError("rpyc-bridge: an array argument's data did not arrive")
                return numpy.frombuffer(data, dtype=value[1]).reshape(value[2])
            if len(value) == 2 and value[0] == DICT_MARK:
                return {unwire_value(k): unwire_value(v) for k, v in value[1]}
            return tuple(unwire_value(v) for v in value)
        return value

    def enc(o, bufs, objs):
        t = type(o)
        if o is None or t is bool or t is str or t is int:
            return o
        if t is float:
            if math.isfinite(o):
                return o
            return {"$float": "nan" if o != o else ("inf" if o > 0 else "-inf")}
        if t in (tuple, list, set, frozenset):
            return [enc(v, bufs, objs) for v in o]
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in o):
                return {k: enc(v, bufs, objs) for k, v in o.items()}
            return {"$dict": [[enc(k, bufs, objs), enc(v, bufs, objs)] for k, v in o.items()]}
        if t in (bytes, bytearray, memoryview):
            bufs.append(bytes(o))
            return {"$bytes": len(bufs) - 1}
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            if isinstance(o, numpy.ndarray):
                return enc_array(numpy, o, bufs, objs)
            if isinstance(o, numpy.generic):
                return enc(o.item(), bufs, objs)
        if isinstance(o, float):
            return enc(float(o), bufs, objs)
        if isinstance(o, int) and not isinstance(o, bool):
            return int(o)
        if isinstance(o, str):
            return str(o)
        objs.append(o)
        return {"$obj": len(objs) - 1}

    def enc_array(numpy, a, bufs, objs):
        wire = a.dtype.newbyteorder("<").str if a.dtype.kind in "fiu" else a.dtype.str
        if wire not in WIRE_DTYPES:
            if a.dtype.kind == "b" or a.dtype.kind == "u" and a.dtype.itemsize == 1:
                wire = "|u1"
            elif a.dtype.kind in "iu":
                wire = "<i8"
            elif a.dtype.kind == "f":
                wire = "<f8" if a.dtype.itemsize > 4 else "<f4"
            else:
                return enc(a.tolist(), bufs, objs)
        data = numpy.ascontiguousarray(a, dtype=wire).tobytes()
        bufs.append(data)
        return {"$array": [WIRE_DTYPES[wire], list(a.shape), len(bufs) - 1]}

    def encode(o):
        """(json, buffers, objects); just the JSON text when the value is one RPyC would
        have sent by value anyway, which tells the client it may call the function directly."""
        t = type(o)
        if t is int or t is str or o is None or t is bool or (t is float and math.isfinite(o)):
            return json.dumps(o)
        bufs, objs = [], []
        text = json.dumps(enc(o, bufs, objs), separators=(",", ":"))
        return text, tuple(kept_back(b) for b in bufs), tuple(objs)

    outgoing = {}  # token -> a large result buffer, until the client has taken its pieces
    tokens = itertools.count(1)

    def kept_back(buf):
        """A buffer over PIECE stays here as (token, size), for take(): RPyC's stock
        stream re-slices what is left of a frame after every 64 kB it writes, so one 8 MB
        frame costs ~125 copies of megabytes, and pieces cost a few."""
        if len(buf) <= PIECE:
            return buf
        token = next(tokens)
        outgoing[token] = buf
        if len(outgoing) > KEPT_BACK:
            # Results nobody came for (their call timed out): the oldest goes.
            del outgoing[next(iter(outgoing))]
        return token, len(buf)

    def take(token, offset, size):
        buf = outgoing[token]
        if offset + size >= len(buf):
            del outgoing[token]
        return buf[offset:offset + size]

    def drop(token):
        outgoing.pop(token, None)

    def call(module, name, args, kwarg_pairs, wired):
        fn = resolve(module, name)
        if wired:
            args, kwarg_pairs = unwire(args, kwarg_pairs)
        return encode(fn(*args, **dict(kwarg_pairs)))

    def getattr_(module, name):
        return encode(getattr(importlib.import_module(module), name))

    def call_object(fn, args, kwarg_pairs, wired):
        if wired:
            args, kwarg_pairs = unwire(args, kwarg_pairs)
        return fn(*args, **dict(kwarg_pairs))

    def set_item(obj, key, value):
        key, value = unwire(key, value)
        obj[key] = value

    def set_attr(obj, name, value):
        (value,) = unwire(value)
        setattr(obj, name, value)

    return {"call": call, "getattr": getattr_, "encode": encode, "call_object": call_object,
            "set_item": set_item, "set_attr": set_attr, "import": importlib.import_module,
            "resolve": resolve, "put": put, "tune": tune, "take": take, "drop": drop}

_rpyc_bridge = _rpyc_bridge_install()
'''
