"""Unit tests of the value format's Python modules, as plain modules: wireformat.py (the
tags, the encoder and decoder cores) and server_side.py (the classic server's helper),
imported here rather than sent to a server.

Run: .venv/bin/python -m unittest discover -s tests/python   (scripts/test.sh does)
"""

import array
import gc
import math
import os
import pickle
import pickletools
import sys
import types
import unittest
import weakref

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src", "python"))

# The package's __init__ needs the embedded runtime's native module; these two do not.
package = types.ModuleType("rpyc_bridge_rt")
package.__path__ = [os.path.join(os.path.dirname(__file__), "..", "..", "src", "python", "rpyc_bridge_rt")]
sys.modules["rpyc_bridge_rt"] = package
from rpyc_bridge_rt import server_side, wireformat  # noqa: E402


def memoizes(data):
    return any(op.name == "MEMOIZE" for op, _, _ in pickletools.genops(data))


def encode(value):
    bufs = []
    tree = wireformat.encoder(lambda o, b, enc: {"$obj": repr(o)})(value, bufs)
    return tree, bufs


class _Holder:
    """A weakly referable object inside a cycle: it goes when the cycle is collected."""

    def __init__(self, cycle):
        cycle.append(self)
        self.cycle = cycle


class EncoderTest(unittest.TestCase):
    def test_scalars_are_themselves(self):
        for value in (None, True, 0, -7, 2**100, 1.5, "", "héllo"):
            self.assertEqual(encode(value), (value, []))
        self.assertTrue(wireformat.is_scalar("x" * wireformat.BIG_STR))
        self.assertFalse(wireformat.is_scalar("x" * (wireformat.BIG_STR + 1)))

    def test_non_finite_floats_are_tagged(self):
        self.assertEqual(encode([1.0, math.nan, -math.inf])[0],
                         [1.0, {"$float": "nan"}, {"$float": "-inf"}])

    def test_long_strings_are_buffers(self):
        text = "é" * (wireformat.BIG_STR + 1)
        tree, bufs = encode(text)
        self.assertEqual(tree, {"$str": 0})
        self.assertEqual(bufs, [text.encode("utf-8")])
        # A lone surrogate survives the trip.
        tree, bufs = encode("\ud800" * (wireformat.BIG_STR + 1))
        self.assertEqual(str(bufs[0], "utf-8", "surrogatepass"), "\ud800" * (wireformat.BIG_STR + 1))

    def test_number_lists_are_packed(self):
        ints = list(range(wireformat.PACKED_MIN))
        tree, bufs = encode(ints)
        self.assertEqual(tree, {"$list": ["int64", 0]})
        self.assertEqual(len(bufs[0]), 8 * len(ints))
        tree, _ = encode([0.5] * wireformat.PACKED_MIN)
        self.assertEqual(tree, {"$list": ["float64", 0]})
        # Beyond int64, or mixed: not packed.
        self.assertNotIn("$list", str(encode([2**70] * wireformat.PACKED_MIN)[0]))
        self.assertNotIn("$list", str(encode([1, 1.5] * wireformat.PACKED_MIN)[0]))

    def test_large_plain_containers_are_pickled(self):
        records = [{"id": i, "tags": ["a", "b"], "score": i / 3} for i in range(wireformat.PICKLE_MIN)]
        tree, bufs = encode(records)
        self.assertEqual(tree, {"$pickle": 0})
        self.assertEqual(pickle.loads(bufs[0]), records)
        # Anything outside plain data is refused, and the container is encoded element-wise.
        tree, bufs = encode([object] * wireformat.PICKLE_MIN)
        self.assertEqual(tree[0], {"$obj": repr(object)})
        self.assertIsNone(wireformat.plain_pickle([1, {"x": object()}]))

    def test_containers_are_pickled_without_a_memo_up_to_a_cap(self):
        records = [{"id": i, "tags": ["a"]} for i in range(1000)]
        data = wireformat.plain_pickle(records)
        self.assertEqual(pickle.loads(data), records)
        self.assertFalse(memoizes(data))  # fast mode: every key written as itself
        # A cycle, and a shared object that would outgrow the cap, fall back to the memo.
        cycle = [1]
        cycle.append(cycle)
        loaded = pickle.loads(wireformat.plain_pickle(cycle))
        self.assertIs(loaded[1], loaded)
        shared = ["x" * 1000] * 100
        many = {"key%d" % i: i for i in range(5000)}  # 80 kB: past the base, not the cap
        cap = wireformat.FAST_PICKLE_BASE
        wireformat.FAST_PICKLE_BASE = 10_000
        try:
            data = wireformat.plain_pickle(shared)
            many_data = wireformat.plain_pickle(many)
        finally:
            wireformat.FAST_PICKLE_BASE = cap
        self.assertTrue(memoizes(data))
        self.assertLess(len(data), 2000)
        self.assertEqual(pickle.loads(data), shared)
        # The cap grows with the container: many small elements stay in fast mode.
        self.assertGreater(len(many_data), 10_000)
        self.assertFalse(memoizes(many_data))
        self.assertEqual(pickle.loads(many_data), many)

    def test_dicts(self):
        self.assertEqual(encode({"a": 1})[0], {"a": 1})
        self.assertEqual(encode({1: "a"})[0], {"$dict": [[1, "a"]]})
        self.assertEqual(encode({"$a": 1})[0], {"$dict": [["$a", 1]]})

    def test_bytes(self):
        self.assertEqual(encode(b"xy"), ({"$bytes": 0}, [b"xy"]))


class DecoderTest(unittest.TestCase):
    def loads(self, text, buffers=(), refs=()):
        return wireformat.decoder(list(buffers), lambda i: refs[i], lambda *a: ("array",) + a)(text)

    def test_arrays_become_tuples_all_the_way_down(self):
        self.assertEqual(self.loads('[1, [2, [3]], {"a": [4]}]'), (1, (2, (3,)), {"a": (4,)}))

    def test_tags(self):
        buffers = [b"xy", "é".encode(), bytes(16)]
        value = self.loads('[{"$bytes": 0}, {"$str": 1}, {"$list": ["int64", 2]}, {"$float": "inf"},'
                           '{"$dict": [[[1, 2], "k"]]}, {"$ref": 0}]', buffers, ["obj"])
        self.assertEqual(value, (b"xy", "é", (0, 0), math.inf, {(1, 2): "k"}, "obj"))
        self.assertEqual(self.loads('{"$array": ["uint8", [2], 0]}', buffers), ("array", "|u1", (2,), b"xy"))

    def test_invalid_utf8_from_go_is_one_replacement_per_byte(self):
        # Go's rule (encoding/json, string([]rune(s))): a truncated sequence, a stray
        # continuation byte, an encoded surrogate and an overlong form, each byte one U+FFFD.
        bad = b"a\xe2\x82b\x80c\xed\xa0\x80d\xc0\xafe\xff"
        want = "a\ufffd\ufffdb\ufffdc\ufffd\ufffd\ufffdd\ufffd\ufffde\ufffd"
        self.assertEqual(self.loads('{"$str": 0}', [bad]), want)
        self.assertEqual(self.loads('{"$str": 0}', ["é😀".encode()]), "é😀")

    def test_pickles_of_plain_data_load(self):
        data = pickle.dumps(({"a": (1, 2.5)}, b"x", None), protocol=5)
        self.assertEqual(self.loads('[{"$pickle": 0}]', [data]), (({"a": (1, 2.5)}, b"x", None),))

    def test_unpickling_leaves_the_gc_as_it_found_it(self):
        cycle = []
        cycle.append(cycle)
        data = pickle.dumps(cycle, protocol=5)
        for enabled in (True, False, True):
            (gc.enable if enabled else gc.disable)()
            try:
                for good in (True, False):
                    if good:
                        ref = weakref.ref(_Holder(wireformat.plain_unpickle(data)))
                    else:
                        with self.assertRaises(ValueError):
                            wireformat.plain_unpickle(b"\x80\x05(")
                    self.assertEqual(gc.isenabled(), enabled)
                gc.collect()  # the cycle made while the GC was off is collected later
                self.assertIsNone(ref())
            finally:
                gc.enable()

    def test_pickles_that_would_run_code_are_refused(self):
        ran = []
        wireformat.__dict__["_ran"] = ran.append  # a global such a pickle would call
        try:
            # What pickle.dumps writes for any object with a reducer: a global, then REDUCE.
            module = b"rpyc_bridge_rt.wireformat"
            evil = b"\x80\x05\x8c%c%s\x8c\x04_ran\x93K\x01\x85R." % (len(module), module)
            for data in (evil, pickle.dumps(os.getcwd, protocol=5), pickle.dumps(range(3), protocol=2)):
                with self.assertRaisesRegex(ValueError, "holds no globals"):
                    self.loads('{"$pickle": 0}', [data])
            self.assertEqual(ran, [])
        finally:
            del wireformat.__dict__["_ran"]

    def test_bad_input_is_a_value_error(self):
        for text in ('{"$bytes": 5}', '{"$nope": 1}', '{"$float": "x"}', '{"$list": ["int8", 0]}',
                     '{"$array": ["uint8", [3], 0]}', "[1,", '{"$pickle": 0}', '{"$pickle": 1}'):
            with self.assertRaises(ValueError, msg=text):
                self.loads(text, [b"xy"])


class ServerSideTest(unittest.TestCase):
    """The helper's functions, called in-process as the server would call them."""

    def setUp(self):
        for name in ("HELPERS", "INLINE_MAX", "WIRE_DTYPES", "decoder", "dumps", "encoder", "is_scalar"):
            self.assertTrue(hasattr(server_side, name), name)
        self.helpers = server_side.install()

    def test_names_match_the_format(self):
        self.assertEqual(tuple(self.helpers), wireformat.HELPERS)

    def test_call_returns_the_function_with_a_by_value_result(self):
        fn, reply = self.helpers["call"]("math", "sqrt", "[16]", None, (), (), True)
        self.assertIs(fn, math.sqrt)
        self.assertEqual(reply, "4.0")
        fn, reply = self.helpers["call"]("math", "sqrt", "[16]", None, (), (), False)
        self.assertIsNone(fn)

    def test_call_decodes_arguments_and_pieces(self):
        token = 7
        data = b"a" * (wireformat.PIECE + 1)
        self.helpers["put"](token, len(data), 0, data[:wireformat.PIECE])
        self.helpers["put"](token, len(data), wireformat.PIECE, data[wireformat.PIECE:])
        _, reply = self.helpers["call"]("builtins", "len", '[{"$bytes": 0}]', None, (token,), (), False)
        self.assertEqual(reply, str(len(data)))
        # A token that never arrived is an error, not a hang or a wrong value.
        with self.assertRaises(ValueError):
            self.helpers["call"]("builtins", "len", '[{"$bytes": 0}]', None, (99,), (), False)

    def test_encode_keeps_large_buffers_back_for_take(self):
        text, bufs, objs = self.helpers["encode"](b"z" * (wireformat.INLINE_MAX + 5))
        self.assertEqual(self.helpers["encode"](b"y" * wireformat.INLINE_MAX)[1], (b"y" * wireformat.INLINE_MAX,))
        (token, size), = bufs
        pieces = [self.helpers["take"](token, off, wireformat.PIECE) for off in range(0, size, wireformat.PIECE)]
        self.assertEqual(b"".join(pieces), b"z" * size)
        self.assertEqual(text, '{"$bytes":0}')

    def test_packed_lists_go_as_bytes_inline_or_in_pieces(self):
        # The encoder packs into a view of the array, not a copy; what RPyC sends is bytes.
        small, large = [0.5] * 1000, list(range(wireformat.INLINE_MAX // 8 + 100))
        text, bufs, _ = self.helpers["encode"](small)
        self.assertEqual((text, bufs), ('{"$list":["float64",0]}', (array.array("d", small).tobytes(),)))
        self.assertIs(type(bufs[0]), bytes)
        text, ((token, size),), _ = self.helpers["encode"](large)
        self.assertEqual((text, size), ('{"$list":["int64",0]}', 8 * len(large)))
        pieces = [self.helpers["take"](token, off, wireformat.PIECE) for off in range(0, size, wireformat.PIECE)]
        self.assertTrue(all(type(p) is bytes for p in pieces))
        self.assertEqual(b"".join(pieces), array.array("q", large).tobytes())

    def test_objects_without_a_mapping_come_back_as_objects(self):
        text, bufs, objs = self.helpers["encode"]([1, object])
        self.assertEqual(text, '[1,{"$obj":0}]')
        self.assertEqual(objs, (object,))


if __name__ == "__main__":
    unittest.main()
