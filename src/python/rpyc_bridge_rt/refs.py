"""The table of live Refs: id -> (connection handle, object).

The object is a netref (a remote object the server keeps alive while the Ref lives), or a
plain value RPyC sent by value (an int, a str, a tuple...), which then lives here. Ids are
never reused, so a stale id is always an error and never another object.
"""

import itertools

from .errors import BridgeError, ERR_HANDLE


class Refs:
    def __init__(self):
        self._objects = {}
        self._by_conn = {}
        self._ids = itertools.count(1)

    def add(self, conn_handle, obj):
        ref = next(self._ids)
        self._objects[ref] = (conn_handle, obj)
        self._by_conn.setdefault(conn_handle, set()).add(ref)
        return ref

    def entry(self, ref):
        try:
            return self._objects[ref]
        except (KeyError, TypeError):
            raise BridgeError(ERR_HANDLE, "unknown Ref %r (released, or its connection was closed)" % (ref,)) from None

    def get(self, ref):
        return self.entry(ref)[1]

    def release(self, ref):
        conn_handle, _ = self.entry(ref)
        del self._objects[ref]
        self._by_conn.get(conn_handle, set()).discard(ref)

    def release_conn(self, conn_handle):
        for ref in self._by_conn.pop(conn_handle, ()):
            self._objects.pop(ref, None)

    def count(self, conn_handle=None):
        if conn_handle is None:
            return len(self._objects)
        return len(self._by_conn.get(conn_handle, ()))


# The process's one table: Refs are unique across connections.
TABLE = Refs()
