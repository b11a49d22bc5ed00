"""Imports the embedded stdlib zip straight from the executable's memory.

Frozen into the binary (build/frozen.rs) next to the `encodings` modules that CPython's
initialisation needs before any importer can be installed. After initialisation, Rust calls
install() with a zero-copy memoryview of the zip: this module reads the zip's central
directory with built-in modules only (_struct, zlib, marshal) and adds a path hook for the
virtual sys.path entry ROOT. No file, no memfd, no /proc: nothing is opened or written.
"""

import sys
import marshal
import zlib
from _struct import unpack_from

_zip = None        # memoryview of the whole zip
_root = None       # the virtual sys.path entry, e.g. "<rpyc-bridge>/stdlib.zip"
_entries = {}      # "pkg/mod.pyc" -> (method, compressed size, size, local header offset)
_dirs = set()      # "pkg", "pkg/sub": directories that hold at least one entry


def install(zip_view, root):
    """Indexes the zip and makes ROOT (and every package directory below it) importable."""
    global _zip, _root
    _zip, _root = zip_view, root
    _read_central_directory()
    sys.path_hooks.insert(0, _path_hook)
    for key in [k for k in sys.path_importer_cache if k == root or k.startswith(root + "/")]:
        del sys.path_importer_cache[key]
    # The frozen `encodings` package has no __path__ yet: point it into the zip, so that
    # codecs looked up later (latin_1, idna, ...) are found there.
    encodings = sys.modules.get("encodings")
    if encodings is not None:
        location = [root + "/encodings"]
        encodings.__path__ = location
        encodings.__spec__.submodule_search_locations = location


def _read_central_directory():
    end = len(_zip) - 22
    if unpack_from("<I", _zip, end)[0] != 0x06054B50:
        raise ImportError("the embedded stdlib zip has a comment or is not a zip")
    count, _size, offset = unpack_from("<HII", _zip, end + 10)
    for _ in range(count):
        (sig, method, csize, size, name_len, extra_len, comment_len, local) = unpack_from(
            "<I6xH8xIIHHH8xI", _zip, offset)
        if sig != 0x02014B50:
            raise ImportError("the embedded stdlib zip has a broken central directory")
        name = bytes(_zip[offset + 46:offset + 46 + name_len]).decode("utf-8")
        _entries[name] = (method, csize, size, local)
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            _dirs.add("/".join(parts[:i]))
        offset += 46 + name_len + extra_len + comment_len


def _read(name):
    """The bytes of one entry, inflated."""
    method, csize, size, local = _entries[name]
    name_len, extra_len = unpack_from("<HH", _zip, local + 26)
    start = local + 30 + name_len + extra_len
    data = _zip[start:start + csize]
    if method == 0:
        return bytes(data)
    if method == 93:  # zstd, decompressed in Rust straight from the executable's memory
        import _rpyc_bridge_native
        return _rpyc_bridge_native.zstd_entry(start, csize, size)
    if method == 8:
        return zlib.decompress(data, -15, size)
    raise ImportError(f"{name}: compression method {method} is not supported")


def _path_hook(path):
    if path == _root:
        return _Finder("")
    if path.startswith(_root + "/") and path[len(_root) + 1:] in _dirs:
        return _Finder(path[len(_root) + 1:] + "/")
    raise ImportError("not the embedded stdlib")


class _Finder:
    """Path entry finder for one directory of the zip ("" is its root)."""

    def __init__(self, prefix):
        self.prefix = prefix

    def find_spec(self, fullname, target=None):
        base = self.prefix + fullname.rpartition(".")[2]
        if base + "/__init__.pyc" in _entries:
            loader = _Loader(base + "/__init__.pyc", True)
        elif base + ".pyc" in _entries:
            loader = _Loader(base + ".pyc", False)
        else:
            return None
        spec = _bootstrap().ModuleSpec(fullname, loader, origin=loader.path, is_package=loader.package)
        spec.has_location = True
        if loader.package:
            spec.submodule_search_locations = [_root + "/" + base]
        return spec

    def invalidate_caches(self):
        pass

    def iter_modules(self, prefix=""):
        """For pkgutil.iter_modules: (name, is_package) for this directory."""
        seen = set()
        for name in sorted(_entries):
            if not name.startswith(self.prefix):
                continue
            rest = name[len(self.prefix):]
            head, slash, tail = rest.partition("/")
            if slash and tail == "__init__.pyc" and head not in seen:
                seen.add(head)
                yield prefix + head, True
            elif not slash and rest.endswith(".pyc") and rest != "__init__.pyc":
                if rest[:-4] not in seen:
                    seen.add(rest[:-4])
                    yield prefix + rest[:-4], False


class _Loader:
    """Loads sourceless .pyc from the zip; also reads package data (importlib.resources)."""

    def __init__(self, name, package):
        self.name = name
        self.package = package
        self.path = _root + "/" + name

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.get_code(module.__name__), module.__dict__)

    def get_code(self, fullname):
        # A .pyc is a 16-byte header (magic, flags, hash) and a marshalled code object.
        return marshal.loads(memoryview(_read(self.name))[16:])

    def is_package(self, fullname):
        return self.package

    def get_source(self, fullname):
        return None

    def get_filename(self, fullname):
        return self.path

    def get_data(self, path):
        if path.startswith(_root + "/") and path[len(_root) + 1:] in _entries:
            return _read(path[len(_root) + 1:])
        raise OSError(f"{path} is not in the embedded stdlib")

    def get_resource_reader(self, fullname):
        return _ResourceReader(self.name.rpartition("/")[0]) if self.package else None


class _ResourceReader:
    """importlib.resources for packages in the zip: files() returns a Traversable."""

    def __init__(self, directory):
        self.directory = directory

    def files(self):
        return _traversable_class()(self.directory)


_Traversable = None


def _traversable_class():
    # importlib.resources.abc is imported only when a program asks for package data.
    global _Traversable
    if _Traversable is None:
        from importlib.resources.abc import Traversable

        class ZipMemoryPath(Traversable):
            def __init__(self, at):
                self.at = at

            @property
            def name(self):
                return self.at.rpartition("/")[2]

            def is_file(self):
                return self.at in _entries

            def is_dir(self):
                return self.at in _dirs or self.at == ""

            def iterdir(self):
                prefix = self.at + "/" if self.at else ""
                children = {n[len(prefix):].partition("/")[0]
                            for n in _entries if n.startswith(prefix)}
                return (ZipMemoryPath(prefix + c) for c in sorted(children))

            def joinpath(self, *descendants):
                at = "/".join([self.at, *descendants]) if self.at else "/".join(descendants)
                return ZipMemoryPath(at)

            def __truediv__(self, child):
                return self.joinpath(child)

            def open(self, mode="r", *args, **kwargs):
                if not self.is_file():
                    raise FileNotFoundError(f"{_root}/{self.at}")
                import io
                data = io.BytesIO(_read(self.at))
                return data if "b" in mode else io.TextIOWrapper(data, *args, **kwargs)

            def __repr__(self):
                return f"ZipMemoryPath({_root}/{self.at!r})"

        _Traversable = ZipMemoryPath
    return _Traversable


def _bootstrap():
    return sys.modules["_frozen_importlib"]
