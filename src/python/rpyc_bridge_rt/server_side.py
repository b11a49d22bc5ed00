"""The helper the bridge installs on classic servers, once per connection.

Classic servers get this module's source, after wireformat.py's, through conn.execute:
there `install()` returns the helpers by name (wireformat.HELPERS). Here it is an
ordinary module, imported by the tests.

One round trip does a whole operation: import the module, look the function up, turn
array arguments into numpy arrays, call, and encode the result. Results that RPyC would
return as netrefs (numpy scalars, ndarrays) become values here, so the client needs no
numpy; arrays and large strings travel as raw buffers, large ones in pieces: arguments
ahead of their call (put; see Connection.staged), results after it (take; see
Connection.taken). Objects with no value mapping come back as netrefs, kept as Refs.
"""

try:
    from .wireformat import HELPERS, INLINE_MAX, WIRE_DTYPES, decoder, dumps, encoder, is_scalar
except ImportError:  # on the server: wireformat's source ran first, in this namespace
    pass

KEPT_BACK = 8  # results' buffers kept for take() at most: a bound on what is never taken


def install():
    import importlib
    import itertools
    import sys

    functions = {}

    def resolve(module, name):
        key = (module, name)
        fn = functions.get(key)
        if fn is None:
            fn = functions[key] = getattr(importlib.import_module(module), name)
        return fn

    parts = {}  # token -> a large argument's bytes, filled by put() ahead of its call

    def put(token, size, offset, data):
        """One piece of a large argument. Many small frames cost this side far less than
        one large one: RPyC's stock stream copies what is left of a frame per 64 kB sent."""
        buf = parts.get(token)
        if buf is None:
            buf = parts[token] = bytearray(size)
        buf[offset:offset + len(data)] = data

    def tune(root, compress):
        """This connection's end here: TCP_NODELAY, since put()'s replies are small frames
        in a row, which Nagle's algorithm would hold for the client's delayed ACK; the
        client's choice of compression; and a stream that sends large frames without
        copying what is left of them after every 64 kB (quadratic in the frame's size)."""
        import socket
        channel = root._conn._channel
        channel.compress = compress
        stream = channel.stream
        stream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        base = type(stream)

        def write(self, data):
            view = memoryview(data)
            try:
                while view:
                    view = view[self.sock.send(view[:self.MAX_IO_CHUNK]):]
            except OSError as err:
                self.close()
                raise EOFError(err) from None

        stream.__class__ = type(base.__name__, (base,), {"__slots__": (), "write": write})

    def make_array(dtype, shape, data):
        import numpy
        return numpy.frombuffer(data, dtype=dtype).reshape(shape)

    def decode(texts, buffers, objs):
        """The client's tagged JSON texts -> values. Buffers sent ahead in pieces (put) are
        taken out of `parts`; what a failed call left goes too."""
        try:
            bufs = [piece(b) for b in buffers]
            loads = decoder(bufs, objs.__getitem__, make_array)
            return [None if t is None else loads(t) for t in texts]
        finally:
            parts.clear()

    def piece(data):
        if type(data) is int:
            data = parts.pop(data, None)
            if data is None:
                raise ValueError("rpyc-bridge: an argument's data did not arrive")
        return data

    def other(o, bufs, enc):
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            if isinstance(o, numpy.ndarray):
                return enc_array(numpy, o, bufs, enc)
            if isinstance(o, numpy.generic):
                return enc(o.item(), bufs)
        if isinstance(o, float):
            return enc(float(o), bufs)
        if isinstance(o, int) and not isinstance(o, bool):
            return int(o)
        if isinstance(o, str):
            return enc(str(o), bufs)
        bufs.objects.append(o)
        return {"$obj": len(bufs.objects) - 1}

    enc = encoder(other)

    def enc_array(numpy, a, bufs, enc):
        wire = a.dtype.newbyteorder("<").str if a.dtype.kind in "fiu" else a.dtype.str
        if wire not in WIRE_DTYPES:
            if a.dtype.kind == "b" or a.dtype.kind == "u" and a.dtype.itemsize == 1:
                wire = "|u1"
            elif a.dtype.kind in "iu":
                wire = "<i8"
            elif a.dtype.kind == "f":
                wire = "<f8" if a.dtype.itemsize > 4 else "<f4"
            else:
                return enc(a.tolist(), bufs)
        bufs.append(numpy.ascontiguousarray(a, dtype=wire).tobytes())
        return {"$array": [WIRE_DTYPES[wire], list(a.shape), len(bufs) - 1]}

    class Buffers(list):
        __slots__ = ("objects",)

    def encode(o):
        """(json, buffers, objects); just the JSON text when the value is one RPyC would
        have sent by value anyway, which tells the client it may call the function directly."""
        if is_scalar(o):
            return dumps(o)
        bufs = Buffers()
        bufs.objects = []
        text = dumps(enc(o, bufs))
        return text, tuple(kept_back(b) for b in bufs), tuple(bufs.objects)

    outgoing = {}  # token -> a large result buffer, until the client has taken its pieces
    tokens = itertools.count(1)

    def kept_back(buf):
        """A buffer over INLINE_MAX stays here as (token, size), for take() in pieces."""
        if len(buf) <= INLINE_MAX:
            return bytes(buf)  # what RPyC sends: a packed list's view is copied (bytes stay)
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
        return bytes(buf[offset:offset + size])

    def drop(token):
        outgoing.pop(token, None)

    def call(module, name, args_json, kwargs_json, buffers, objs, want_fn):
        """(the function, when asked for and its result came by value, or None; the
        encoded result): the client calls such a function directly from then on."""
        fn = resolve(module, name)
        args, kwargs = decode((args_json, kwargs_json), buffers, objs)
        result = encode(fn(*(args or ()), **(kwargs or {})))
        return (fn if want_fn and type(result) is str else None), result

    def getattr_(module, name):
        return encode(getattr(importlib.import_module(module), name))

    def call_object(fn, args_json, kwargs_json, buffers, objs):
        args, kwargs = decode((args_json, kwargs_json), buffers, objs)
        return fn(*(args or ()), **(kwargs or {}))

    def set_item(obj, key_json, value_json, buffers, objs):
        key, value = decode((key_json, value_json), buffers, objs)
        obj[key] = value

    def set_attr(obj, name, value_json, buffers, objs):
        (value,) = decode((value_json,), buffers, objs)
        setattr(obj, name, value)

    helpers = {"call": call, "getattr": getattr_, "encode": encode, "call_object": call_object,
               "set_item": set_item, "set_attr": set_attr, "import": importlib.import_module,
               "put": put, "tune": tune, "take": take, "drop": drop}
    assert tuple(helpers) == HELPERS
    return helpers
