"""Run by wire_test.go in the embedded Python: the hot path's native messages (src/wire)
against RPyC's own brine and the runtime's codec, then against a live server.

Usage: wire_check.py PORT. Prints "ok" and the counts, or raises.
"""

import json
import math
import sys

from rpyc.core import brine, consts

import _rpyc_bridge_native as native
import rpyc_bridge_rt as rt
from rpyc_bridge_rt import codec

ID_PACK = ("builtins.builtin_function_or_method", 140234567890123, 0)
TARGET = brine.dump(ID_PACK)

# JSON arguments as Go writes them, each encoded natively and by brine from json.loads.
ARGS = [
    "[]", "[16]", "[-48, 159, 160, -49, 0]", "[2.5, -0.0, 1e300, 5e-324, 1E3]",
    "[123456789012345678901234567890, -98765432109876543210]",
    '["", "a", "\\u00e9\\u20ac\\ud83d\\ude00", "quote\\"back\\\\slash\\n"]',
    "[true, false, null]", "[[1, [2, [3, []]]], [\"x\"]]",
    "[%s]" % ", ".join(str(i) for i in range(300)),
    "[\"%s\"]" % ("y" * 70000), ' [ 1 ,\t2 ,\n"\\/\\b\\f" ] ', "[1e400, -1e400, 1e-400]",
]
for seq in (0, 159, 160, 2**31 + 7):
    for text in ARGS:
        want = (brine.I1.pack(consts.MSG_REQUEST) + brine.dump((seq, (consts.HANDLE_CALL, (
            consts.LABEL_TUPLE, ((consts.LABEL_LOCAL_REF, ID_PACK),
                                 (consts.LABEL_VALUE, codec.tuples(json.loads(text))),
                                 (consts.LABEL_VALUE, ())))))))
        got = native.wire_request(seq, TARGET, text)
        assert got == want, (seq, text[:80], got[:60], want[:60])
# Left to the general path: tags, non-arrays, what json.loads reads but Rust strings cannot
# hold (lone surrogates) or JSON forbids, and nesting deep enough to be refused there.
for text in ['[{"$bytes": 0}]', "16", "[16", "{}", "[NaN]", '["\\ud800"]', "[01]", "[" * 300 + "]" * 300]:
    assert native.wire_request(1, TARGET, text) is None, text

# Results, brine-encoded as a reply; natively decoded they must be what codec writes.
VALUES = [
    None, True, False, 0, -48, 159, 160, -1, 2**70, -(2**70), 4.0, 0.1, -0.0, 1e16, 1e-5,
    123456789.125, 1 / 3, 5e-324, float("nan"), float("inf"), float("-inf"), "", "plain",
    "h\u00e9\u20ac\U0001f600\x00\x7f\b\f\n\r\t\"\\", b"", b"\x00\xff" * 300, (),
    (1, (2.5, "x", b"yz"), (None, (b"", float("nan")))), tuple(range(63)), "z" * 4096, "z" * 4097,
    "\u00e9" * 4097,
]
for seq in (3, 160, 2**40):
    for value in VALUES:
        message = brine.I1.pack(consts.MSG_REPLY) + brine.dump((seq, (consts.LABEL_VALUE, value)))
        got = native.wire_reply(message, seq)
        want = codec.encode_local(value, None, 0)
        assert got is not None and got[0] == want[0] and list(got[1]) == list(want[1]), (value, got, want)
        assert native.wire_reply(message, seq + 1) is None
# Long tuples are packed or pickled by the general path (wireformat.PICKLE_MIN).
for value in (tuple(range(64)), tuple(range(300)), ((0,) * 64,)):
    message = brine.I1.pack(consts.MSG_REPLY) + brine.dump((3, (consts.LABEL_VALUE, value)))
    assert native.wire_reply(message, 3) is None, value
# Boxed tuples (a tuple holding a netref elsewhere) unbox item by item.
boxed = (consts.LABEL_TUPLE, ((consts.LABEL_VALUE, 1), (consts.LABEL_VALUE, "a")))
assert native.wire_reply(brine.I1.pack(consts.MSG_REPLY) + brine.dump((5, boxed)), 5) == ("[1,\"a\"]", [])
# What RPyC must handle: netrefs, exceptions, and values brine has but the codec maps otherwise.
for seq, payload in [(5, (consts.LABEL_REMOTE_REF, ("builtins.object", 1, 0))),
                     (5, (consts.LABEL_VALUE, frozenset([1, 2]))), (5, (consts.LABEL_VALUE, slice(1, 2))),
                     (5, (consts.LABEL_VALUE, 1j)), (5, (consts.LABEL_VALUE, Ellipsis))]:
    assert native.wire_reply(brine.I1.pack(consts.MSG_REPLY) + brine.dump((seq, payload)), seq) is None, payload
assert native.wire_reply(brine.I1.pack(consts.MSG_EXCEPTION) + brine.dump((5, ("x",))), 5) is None
assert native.wire_reply(b"", 5) is None

# Frames off a socket: whole, a timeout before one begins, any timeout value, the peer gone.
import socket
a, b = socket.socketpair()
assert native.wire_recv(b.fileno(), 0.05) is None
for timeout in (None, 1e300, float("inf"), float("nan")):
    a.sendall(b"\0\0\0\2\1xy\n")
    assert native.wire_recv(b.fileno(), timeout) == (True, b"xy"), timeout
a.close()
try:
    native.wire_recv(b.fileno(), None)
    raise AssertionError("no EOFError when the peer closed")
except EOFError:
    pass
b.close()

# A live server: the hot path must answer from native replies, not RPyC's dispatch.
handle = rt.open_conn("127.0.0.1", int(sys.argv[1]), "")
conn = rt._conns[handle]
assert conn.wire is not None, "no native path on a plain TCP connection"
counts = {"native": 0, "dispatched": 0}
wire_reply, dispatch = native.wire_reply, conn.conn._dispatch


def counted_reply(data, seq, *limits):
    reply = wire_reply(data, seq, *limits)
    counts["native" if reply is not None else "dispatched"] += 1
    return reply


sys.modules["rpyc_bridge_rt.wire"].native = type("N", (), {
    "wire_request": staticmethod(native.wire_request), "wire_recv": staticmethod(native.wire_recv),
    "wire_reply": staticmethod(counted_reply)})
rt.request("call", handle, 0, "math", "sqrt", "[16]", None, (), 0, -1)  # resolves and caches math.sqrt
for i in range(50):
    text, bufs = rt.request("call", handle, 0, "math", "sqrt", "[%d]" % (i * i), None, (), 0, -1)
    assert float(text) == i, text
assert counts == {"native": 50, "dispatched": 0}, counts
try:
    rt.request("call", handle, 0, "math", "sqrt", "[-1]", None, (), 0, -1)
    raise AssertionError("math.sqrt(-1) did not raise")
except ValueError as err:
    assert "math domain error" in str(err), err
assert counts["dispatched"] == 1, counts
rt.close_conn(handle)
print("ok", counts["native"], len(ARGS), len(VALUES))
