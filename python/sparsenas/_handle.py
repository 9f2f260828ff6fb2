"""Ownership of C handles and Python callbacks called from C."""
from __future__ import annotations

import ctypes
import json
import os
import weakref
from typing import Any, Callable, Mapping, Optional, Tuple

from ._lib import ECANCELLED, check, lib, path_arg


class Handle:
    """Owns one libsparse handle: freed by close(), by the context manager or
    when the object is garbage-collected, whichever comes first (once)."""

    _free_name = ""

    def __init__(self, ptr: ctypes.c_void_p):
        if not ptr.value:
            raise ValueError("%s: NULL handle" % type(self).__name__)
        self._h = ptr
        self._finalizer = weakref.finalize(self, getattr(lib(), self._free_name), ptr.value)

    @property
    def _as_parameter_(self) -> ctypes.c_void_p:
        # ctypes passes the object itself as the handle.
        if not self._finalizer.alive:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the C handle now (the object is unusable afterwards)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def new_handle(cls, create: Callable[[ctypes.c_void_p], int]):
    """Calls create(&p) and wraps p in cls, raising SparseError on failure."""
    p = ctypes.c_void_p()
    check(create(ctypes.byref(p)))
    return cls(p)


class YamlHandle(Handle):
    """A handle the library reads from YAML: a file, text, or a dict (as JSON,
    which is YAML too). Errors name file:line:column (or the source given)."""

    _load_name = ""   # sparse_*_load(out, path)
    _parse_name = ""  # sparse_*_parse(out, text, len, source)

    @classmethod
    def load(cls, path):
        """Reads a YAML file."""
        return new_handle(cls, lambda p: getattr(lib(), cls._load_name)(p, path_arg(path)))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>"):
        """Parses YAML text; source names it in error messages."""
        data = text.encode()
        return new_handle(cls, lambda p: getattr(lib(), cls._parse_name)(p, data, len(data), source.encode()))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        """From a dict with the YAML keys."""
        return cls.from_yaml(json.dumps(d), "<dict>")

    @classmethod
    def coerce(cls, x: Any) -> Tuple[Any, bool]:
        """(object, True if made here and to be closed by the caller) from an
        object of this class, a dict, a YAML file or YAML text."""
        if isinstance(x, cls):
            return x, False
        if isinstance(x, Mapping):
            return cls.from_dict(x), True
        if isinstance(x, (str, os.PathLike)) and os.path.exists(x):
            return cls.load(x), True
        return cls.from_yaml(str(x)), True


class Callbacks:
    """Runs Python callbacks for a C call: a callback that returns False, or
    a set cancel event, asks the library to stop; an exception stops it too
    and is raised again once the C call has returned (a ctypes callback
    cannot raise through C)."""

    def __init__(self, cancel: Optional[Any] = None):
        self.cancel = cancel
        self.error: Optional[BaseException] = None
        self.stopped = False

    def wrap(self, fn: Optional[Callable[..., Any]], convert: Callable[..., tuple] = lambda *a: a):
        def call(user, *args):
            if self.error is not None:
                return 1
            try:
                if self.cancel is not None and self.cancel.is_set():
                    self.stopped = True
                    return 1
                if fn is not None and fn(*convert(*args)) is False:
                    self.stopped = True
                    return 1
                return 0
            except BaseException as exc:  # KeyboardInterrupt too: stop cleanly, then raise it
                self.error = exc
                return 1
        return call

    def finish(self, rc: int) -> bool:
        """True if the call stopped because a callback or the cancel event asked."""
        if self.error is not None:
            raise self.error
        if rc == ECANCELLED and self.stopped:
            return True
        check(rc)
        return False
