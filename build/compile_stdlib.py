"""Compile Python sources into a tree of sourceless .pyc files, for the embedded zip.

Run by the very CPython that will load the bytecode (or a build Python of the same X.Y).
Usage: python -I compile_stdlib.py OUT_DIR [--no-docstrings] SRC_ROOT [[--no-docstrings] SRC_ROOT ...]

Each SRC_ROOT is copied into OUT_DIR as if it were a sys.path entry: `pkg/mod.py` becomes
`pkg/mod.pyc` (legacy layout, which zipimport loads without the source). Non-Python files of
packages (metadata, data) are copied as they are.

--no-docstrings leaves out the docstrings of the next SRC_ROOT's modules, classes and
functions, as `python -OO` does (their __doc__ is None), but keeps assert statements and
optimisation level 0: the stdlib's docstrings are a third of its bytecode, and the stdlib
is tested under -OO. Third-party packages keep theirs (plumbum builds help from them).
"""

import ast
import importlib.util
import os
import shutil
import sys
from importlib._bootstrap_external import _code_to_hash_pyc

# Top-level stdlib entries that never ship. pydoc_data is help()'s text for keywords and
# topics (100 kB compressed, against the 15 MB budget); without it pydoc.help("if") says so.
EXCLUDED_TOP = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages",
    "lib-dynload", "__phello__", "turtle.py", "pydoc_data",
}
EXCLUDED_DIRS = {"__pycache__"}


def wanted_top(name):
    return name not in EXCLUDED_TOP and not name.startswith("config-")


def main(out_dir, args):
    failures = []
    count = 0
    strip = False
    for root in args:
        if root == "--no-docstrings":
            strip = True
            continue
        strip_here, strip = strip, False
        for name in sorted(os.listdir(root)):
            if not wanted_top(name):
                continue
            top = os.path.join(root, name)
            if os.path.isfile(top):
                count += emit(root, top, out_dir, failures, strip_here)
                continue
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
                for filename in sorted(filenames):
                    count += emit(root, os.path.join(dirpath, filename), out_dir, failures, strip_here)
    for rel, err in failures:
        print(f"skipped {rel}: {err}", file=sys.stderr)
    print(f"compiled {count} modules")


def emit(root, path, out_dir, failures, strip_docstrings):
    rel = os.path.relpath(path, root)
    if rel.endswith(".py"):
        target = os.path.join(out_dir, rel[:-3] + ".pyc")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(path, "rb") as f:
            source = f.read()
        try:
            tree = ast.parse(source, rel)
            if strip_docstrings:
                remove_docstrings(tree)
            code = compile(tree, rel, "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError) as err:
            failures.append((rel, "%s: %s" % (type(err).__name__, err)))
            return 0
        # What py_compile writes for UNCHECKED_HASH: never compared with a source.
        with open(target, "wb") as f:
            f.write(_code_to_hash_pyc(code, importlib.util.source_hash(source), False))
        return 1
    if os.sep in rel and not rel.endswith((".pyc", ".pyo", ".so", ".exe")):
        # Data inside packages (stdlib resources, wheel metadata): kept as is.
        target = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)
    return 0


def remove_docstrings(tree):
    """Drops the docstring statement of the module and of every class and function."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            # A body that was only a docstring still needs a statement.
            node.body = body[1:] or [ast.copy_location(ast.Pass(), body[0])]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
