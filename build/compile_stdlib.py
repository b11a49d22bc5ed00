"""Compile Python sources into a tree of sourceless .pyc files, for the embedded zip.

Run by the very CPython that will load the bytecode (or a build Python of the same X.Y).
Usage: python -I compile_stdlib.py OUT_DIR SRC_ROOT [SRC_ROOT ...]

Each SRC_ROOT is copied into OUT_DIR as if it were a sys.path entry: `pkg/mod.py` becomes
`pkg/mod.pyc` (legacy layout, which zipimport loads without the source). Non-Python files of
packages (metadata, data) are copied as they are.
"""

import os
import py_compile
import shutil
import sys

# Top-level stdlib entries that never ship.
EXCLUDED_TOP = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages",
    "lib-dynload", "__phello__", "turtle.py",
}
EXCLUDED_DIRS = {"__pycache__"}


def wanted_top(name):
    return name not in EXCLUDED_TOP and not name.startswith("config-")


def main(out_dir, roots):
    failures = []
    count = 0
    for root in roots:
        for name in sorted(os.listdir(root)):
            if not wanted_top(name):
                continue
            top = os.path.join(root, name)
            if os.path.isfile(top):
                count += emit(root, top, out_dir, failures)
                continue
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
                for filename in sorted(filenames):
                    count += emit(root, os.path.join(dirpath, filename), out_dir, failures)
    for rel, err in failures:
        print(f"skipped {rel}: {err}", file=sys.stderr)
    print(f"compiled {count} modules")


def emit(root, path, out_dir, failures):
    rel = os.path.relpath(path, root)
    if rel.endswith(".py"):
        target = os.path.join(out_dir, rel[:-3] + ".pyc")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            py_compile.compile(
                path, cfile=target, dfile=rel, doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            return 1
        except py_compile.PyCompileError as err:
            failures.append((rel, err.msg.strip().splitlines()[-1]))
            return 0
    if os.sep in rel and not rel.endswith((".pyc", ".pyo", ".so", ".exe")):
        # Data inside packages (stdlib resources, wheel metadata): kept as is.
        target = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)
    return 0


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
