"""Compile modules into marshalled code objects, for CPython's frozen-module table.

Run by the CPython that will load them (or a build Python of the same X.Y).
Usage: python -I freeze.py OUT_DIR NAME=SOURCE[:FILENAME] ...

Each NAME becomes OUT_DIR/NAME.code: marshal.dumps of the module's code object, what a
.pyc holds after its 16-byte header. FILENAME is what tracebacks show (default: SOURCE).
"""

import marshal
import os
import sys


def main(out_dir, specs):
    os.makedirs(out_dir, exist_ok=True)
    for spec in specs:
        name, _, rest = spec.partition("=")
        source, _, filename = rest.partition(":")
        with open(source, "rb") as f:
            code = compile(f.read(), filename or source, "exec", dont_inherit=True)
        with open(os.path.join(out_dir, name + ".code"), "wb") as f:
            f.write(marshal.dumps(code))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
