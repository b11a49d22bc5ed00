"""Writes the seed corpus of the fuzz target wire_reply (fuzz/corpus/wire_reply/): the bytes
a real classic RPyC server sent to a real rpyc client, one call's frames per file, plus a
few frames made with rpyc's brine at the reader's edges (limits, truncation, bad tags).

Run with the server venv (scripts/setup-venv.sh): .venv/bin/python scripts/fuzz-seeds.py
The files are committed; run this again only to change the seeds.
"""

import os
import struct
import sys
import threading
import time

import rpyc
from rpyc.core import brine, consts
from rpyc.utils.classic import SlaveService
from rpyc.utils.server import ThreadedServer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "wire_reply")
MAX_SEED = 4096  # scripts/fuzz.sh runs with -max_len=4096


def frame(payload, compressed=False, length=None):
    return struct.pack("!LB", len(payload) if length is None else length, compressed) + payload + b"\n"


def reply(seq, value, label=consts.LABEL_VALUE):
    return bytes([consts.MSG_REPLY]) + brine.dump((seq, (label, value)))


def main():
    server = ThreadedServer(SlaveService, hostname="127.0.0.1", port=0,
                            protocol_config={"allow_all_attrs": True})
    threading.Thread(target=server.start, daemon=True).start()
    for _ in range(100):  # until it listens
        try:
            conn = rpyc.classic.connect("127.0.0.1", server.port)
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    else:
        sys.exit("the server did not start")
    conn._channel.compress = False
    received = []

    class Tee:
        """The client's stream, keeping a copy of every byte the server sent."""

        def __init__(self, stream):
            self.stream = stream

        def read(self, count):
            data = self.stream.read(count)
            received.append(data)
            return data

        def __getattr__(self, name):
            return getattr(self.stream, name)

    conn._channel.stream = Tee(conn._channel.stream)
    seeds = {}

    def capture(name, fn):
        received.clear()
        try:
            fn()
        except Exception:
            pass  # a remote exception: its frame is a seed too
        seeds[name] = b"".join(received)

    ev = conn.modules.builtins.eval
    capture("session_eval_netref", lambda: conn.modules.builtins.eval)
    for name, expr in [
        ("int_small", "7"), ("int_negative", "-48"), ("int_big", "2**200"), ("int_minus_big", "-10**30"),
        ("float", "2.5"), ("float_nan", "float('nan')"), ("float_inf", "-float('inf')"),
        ("str_ascii", "'hello'"), ("str_empty", "''"), ("str_unicode", "'h\\xe9\\u20ac\\U0001f600'"),
        ("str_long", "'x' * 300"), ("bytes", "b'\\x00\\xff' * 3"), ("bytes_empty", "b''"),
        ("tuple_mixed", "(1, 2.5, 'x', b'y', None, True, False)"),
        ("tuple_nested", "((((1,),),), (2, (3, ())))"), ("tuple_long", "tuple(range(300))"),
        ("none", "None"), ("list_netref", "[1, 2, 3]"), ("dict_netref", "{'a': 1}"),
        ("slice", "slice(1, 2, 3)"), ("frozenset", "frozenset([1, 2])"), ("complex", "1+2j"),
        ("ellipsis", "..."), ("not_implemented", "NotImplemented"),
        ("exception", "1/0"), ("exception_name", "undefined_name"),
    ]:
        capture("session_" + name, lambda expr=expr: ev(expr))
    conn.close()
    server.close()

    # At the reader's edges, made with rpyc's brine.
    deep = bytes([consts.MSG_REPLY]) + brine.dump((3, (consts.LABEL_VALUE, None)))[:-1]
    seeds.update({
        "edge_two_replies": frame(reply(1, (1, "a"))) + frame(reply(2, b"b")),
        "edge_compressed_flag": frame(reply(1, "z"), compressed=True),
        "edge_oversize_header": struct.pack("!LB", 0xFFFFFFFF, 0) + b"\x02",
        "edge_claims_1gib": frame(reply(1, 5), length=1 << 30),
        "edge_truncated_payload": frame(reply(1, "truncated"))[:-4],
        "edge_truncated_header": b"\x00\x00\x00",
        "edge_deep_1001": frame(bytes([consts.MSG_REPLY]) + brine.dump((3, (consts.LABEL_VALUE, ())))[:-1]
                                + b"\x10" * 1001 + b"\x00"),
        "edge_deep_999": frame(deep + b"\x10" * 999 + b"\x00"),
        # Deep but inside the limit: JSON nested 990 deep, past serde_json's own 128.
        "edge_deep_json_990": frame(deep + b"\x10" * 990 + b"\x00"),
        "edge_unknown_tag": frame(bytes([consts.MSG_REPLY]) + brine.dump((3, (consts.LABEL_VALUE, None)))[:-1]
                                  + b"\x07"),
        "edge_unicode_unicode": frame(deep + b"\x08\x08\x0a\x78"),
        "edge_bad_utf8": frame(deep + b"\x08\x0b\xc3\x28"),
        "edge_tuple_claims_4g": frame(deep + b"\x15\xff\xff\xff\xff\x51"),
        "edge_boxed_tuple": frame(bytes([consts.MSG_REPLY])
                                  + brine.dump((4, (consts.LABEL_TUPLE, ((consts.LABEL_VALUE, 1),
                                                                         (consts.LABEL_VALUE, "x")))))),
        "edge_int_plus": frame(deep + b"\x16\x02+1"),
        "edge_int_leading_zeros": frame(deep + b"\x16\x20-0000000000000000000001052452880"),
        "edge_int_canonical": frame(deep + b"\x11\x16\x010\x16\x03-10"),
    })
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    for name, data in sorted(seeds.items()):
        if not data:
            sys.exit("no bytes captured for %s" % name)
        if len(data) > MAX_SEED:
            sys.exit("seed %s is %d bytes, over %d" % (name, len(data), MAX_SEED))
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
