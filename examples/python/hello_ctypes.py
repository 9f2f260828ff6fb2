#!/usr/bin/env python3
"""Smallest use of libsparse through ctypes: version, a tensor, an error.

Usage: hello_ctypes.py [PATH/TO/libsparse.so.0]
"""
import ctypes
import ctypes.util
import sys


def load(path=None):
    lib = ctypes.CDLL(path or ctypes.util.find_library("sparse") or "libsparse.so.0")
    lib.sparse_version.restype = ctypes.c_char_p
    lib.sparse_last_error.restype = ctypes.c_char_p
    lib.sparse_strerror.restype = ctypes.c_char_p
    lib.sparse_strerror.argtypes = [ctypes.c_int]
    lib.sparse_tensor_create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_size_t)]
    lib.sparse_tensor_free.argtypes = [ctypes.c_void_p]
    lib.sparse_tensor_element_count.argtypes = [ctypes.c_void_p]
    lib.sparse_tensor_element_count.restype = ctypes.c_size_t
    lib.sparse_tensor_data.argtypes = [ctypes.c_void_p]
    lib.sparse_tensor_data.restype = ctypes.POINTER(ctypes.c_float)
    return lib


class SparseError(Exception):
    def __init__(self, lib, code):
        super().__init__("%s: %s" % (lib.sparse_strerror(code).decode(),
                                     lib.sparse_last_error().decode()))
        self.code = code


def main():
    lib = load(sys.argv[1] if len(sys.argv) > 1 else None)
    print("libsparse", lib.sparse_version().decode())

    shape = (ctypes.c_size_t * 4)(2, 1, 28, 28)
    t = ctypes.c_void_p()
    rc = lib.sparse_tensor_create(ctypes.byref(t), 4, shape)
    if rc:
        raise SparseError(lib, rc)
    data = lib.sparse_tensor_data(t)
    data[0] = 1.5
    print("tensor of", lib.sparse_tensor_element_count(t), "floats, first =", data[0])
    lib.sparse_tensor_free(t)

    bad = (ctypes.c_size_t * 2)(3, 0)
    rc = lib.sparse_tensor_create(ctypes.byref(t), 2, bad)
    try:
        if rc:
            raise SparseError(lib, rc)
        raise SystemExit("expected an error for a zero-sized dimension")
    except SparseError as e:
        print("error as expected:", e)
        assert "size 0" in str(e), str(e)


if __name__ == "__main__":
    main()
