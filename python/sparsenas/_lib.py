"""Loading libsparse and declaring the C functions this package calls.

The library is found, in this order:
  1. $SPARSE_LIB: the path of libsparse.so.0, or a directory holding it
     (a meson build tree, for development);
  2. the dynamic loader's search path (an installed libsparse.so.0:
     /usr/lib, /usr/local/lib, $LD_LIBRARY_PATH).
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Optional

from . import _structs as S

P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
I = ctypes.c_int
Z = ctypes.c_size_t
U64 = ctypes.c_uint64
D = ctypes.c_double
STR = ctypes.c_char_p
ZP = ctypes.POINTER(ctypes.c_size_t)
DP = ctypes.POINTER(ctypes.c_double)
U64P = ctypes.POINTER(ctypes.c_uint64)
FP = ctypes.POINTER(ctypes.c_float)


def _ptr(struct):
    return ctypes.POINTER(struct)


# name: (restype, argtypes). Everything this package calls, nothing more.
_SIGNATURES = {
    "sparse_version": (STR, []),
    "sparse_strerror": (STR, [I]),
    "sparse_last_error": (STR, []),
    "sparse_free": (None, [P]),
    "sparse_set_thread_count": (I, [I]),
    "sparse_thread_count": (I, []),
    # data
    "sparse_dataset_from_memory": (I, [PP, Z, Z, Z, Z, FP, ctypes.POINTER(ctypes.c_int32), Z]),
    "sparse_dataset_free": (None, [P]),
    "sparse_dataset_image_count": (Z, [P]),
    "sparse_dataset_channels": (Z, [P]),
    "sparse_dataset_height": (Z, [P]),
    "sparse_dataset_width": (Z, [P]),
    "sparse_dataset_class_count": (Z, [P]),
    "sparse_dataset_label": (I, [P, Z]),
    "sparse_dataset_image": (FP, [P, Z]),
    "sparse_dataset_range": (I, [PP, P, Z, Z]),
    "sparse_data_options_init": (I, [_ptr(S.DataOptions), ctypes.c_uint]),
    "sparse_data_open": (I, [PP, PP, PP, STR, _ptr(S.DataOptions)]),
    "sparse_data_cache_dir": (I, [ctypes.c_char_p, Z, STR]),
    # architectures and networks
    "sparse_arch_load_yaml": (I, [PP, STR]),
    "sparse_arch_parse_yaml": (I, [PP, STR, Z, STR]),
    "sparse_arch_free": (None, [P]),
    "sparse_arch_clone": (I, [PP, P]),
    "sparse_arch_to_yaml": (I, [PP, P]),
    "sparse_arch_to_json": (I, [PP, P]),
    "sparse_arch_validate": (I, [P]),
    "sparse_arch_input_shape": (I, [P, ZP, ZP, ZP]),
    "sparse_arch_class_count": (Z, [P]),
    "sparse_arch_layer_count": (Z, [P]),
    "sparse_net_create": (I, [PP, P, Z, U64]),
    "sparse_net_free": (None, [P]),
    "sparse_net_arch": (P, [P]),
    "sparse_net_max_batch": (Z, [P]),
    "sparse_net_weight_count": (Z, [P]),
    "sparse_net_nonzero_count": (Z, [P]),
    "sparse_train_options_init": (I, [_ptr(S.TrainOptions), ctypes.c_uint]),
    "sparse_net_train": (I, [P, P, _ptr(S.TrainOptions), _ptr(S.TrainResult)]),
    "sparse_net_evaluate": (I, [P, P, DP]),
    "sparse_net_predict": (I, [P, FP, FP, ctypes.POINTER(I)]),
    "sparse_net_save": (I, [P, STR]),
    "sparse_net_load": (I, [P, STR, I]),
    "sparse_net_load_arch": (I, [PP, STR]),
    # memory
    "sparse_memory_options_init": (I, [_ptr(S.MemoryOptions), ctypes.c_uint]),
    "sparse_memreport_from_net": (I, [PP, P, _ptr(S.MemoryOptions)]),
    "sparse_memreport_to_json": (I, [PP, P]),
    "sparse_memreport_free": (None, [P]),
    # int8 and export
    "sparse_quant_options_init": (I, [_ptr(S.QuantOptions), ctypes.c_uint]),
    "sparse_qnet_create": (I, [PP, P, P, _ptr(S.QuantOptions)]),
    "sparse_qnet_free": (None, [P]),
    "sparse_qnet_evaluate": (I, [P, P, DP]),
    "sparse_qnet_predict": (I, [P, FP, ctypes.POINTER(ctypes.c_int8), ctypes.POINTER(I)]),
    "sparse_qnet_class_count": (Z, [P]),
    "sparse_qnet_input_shape": (I, [P, ZP, ZP, ZP]),
    "sparse_export_options_init": (I, [_ptr(S.ExportOptions), ctypes.c_uint]),
    "sparse_export_qnet": (I, [P, STR, _ptr(S.ExportOptions), _ptr(S.ExportFigures)]),
    # search and runs
    "sparse_search_config_load": (I, [PP, STR]),
    "sparse_search_config_parse": (I, [PP, STR, Z, STR]),
    "sparse_search_config_free": (None, [P]),
    "sparse_search_config_to_yaml": (I, [PP, P]),
    "sparse_search_config_trial_count": (Z, [P]),
    "sparse_search_options_init": (I, [_ptr(S.SearchOptions), ctypes.c_uint]),
    "sparse_search_run": (I, [P, STR, _ptr(S.SearchOptions)]),
    "sparse_search_resume": (I, [STR, _ptr(S.SearchOptions)]),
    "sparse_run_open": (I, [PP, STR]),
    "sparse_run_free": (None, [P]),
    "sparse_run_trial_count": (Z, [P]),
    "sparse_run_trial_id": (I, [P, Z, ZP]),
    "sparse_run_trial_json": (STR, [P, Z]),
    "sparse_run_trial_value": (I, [P, Z, I, DP]),
    "sparse_run_warning_count": (Z, [P]),
    "sparse_run_warning": (STR, [P, Z, ZP]),
    "sparse_run_pareto": (I, [P, ZP, ZP]),
    "sparse_run_wm_model": (I, [P, ctypes.POINTER(I)]),
    "sparse_run_trial_net": (I, [PP, PP, P, Z]),
    "sparse_run_open_data": (I, [PP, PP, PP, P, STR]),
}

_lib: Optional[ctypes.CDLL] = None
_lock = threading.Lock()


def library_path() -> str:
    """The file or name this package loads libsparse from ($SPARSE_LIB, else libsparse.so.0)."""
    env = os.environ.get("SPARSE_LIB")
    if env:
        return os.path.join(env, "libsparse.so.0") if os.path.isdir(env) else env
    return "libsparse.so.0"


def lib() -> ctypes.CDLL:
    """The loaded libsparse, declared on first use."""
    global _lib
    with _lock:
        if _lib is None:
            path = library_path()
            try:
                so = ctypes.CDLL(path)
            except OSError as exc:
                raise OSError("sparsenas: cannot load libsparse (%s): %s; install libsparse or set "
                              "SPARSE_LIB to libsparse.so.0 or to a build directory" % (path, exc)) from exc
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(so, name)
                fn.restype = res
                fn.argtypes = args
            _lib = so
        return _lib


class SparseError(Exception):
    """A libsparse failure.

    ``status`` is the negative status code (``SPARSE_E*``), ``name`` its
    description (sparse_strerror) and ``message`` what failed and where
    (sparse_last_error)."""

    def __init__(self, status: int, message: str, name: str = ""):
        super().__init__("%s: %s" % (name, message) if name else message)
        self.status = status
        self.name = name
        self.message = message


# Status codes (include/sparse/core.h).
OK, EINVAL, ENOMEM, EIO, EFORMAT, ESHAPE, ERANGE, ENUMERIC = 0, -1, -2, -3, -4, -5, -6, -7
EBUDGET, ECANCELLED, EVERSION, ENOTFOUND, EEMPTY, EUNSUPPORTED, EINTERNAL = -8, -9, -10, -11, -12, -13, -14


def check(rc: int) -> None:
    """Raises SparseError for a non-zero status, with the thread's last message."""
    if rc != 0:
        L = lib()
        raise SparseError(rc, (L.sparse_last_error() or b"").decode(errors="replace"),
                          L.sparse_strerror(rc).decode())


def take_string(p: ctypes.c_void_p) -> str:
    """Copies a string the library allocated and releases it with sparse_free."""
    try:
        return ctypes.string_at(p).decode()
    finally:
        lib().sparse_free(p)


def path_arg(path) -> bytes:
    return os.fsencode(os.fspath(path))
