"""sparsenas: Python bindings of libsparse, SpArSe (Fedorov et al., NeurIPS 2019)
sparse architecture search for CNNs that fit microcontrollers.

    import sparsenas as sn
    x_train, y_train, x_test, y_test = sn.load_mnist()
    run = sn.search("examples/search/mnist-quick.yaml", "runs/q",
                    data=(x_train, y_train, x_test, y_test), time_budget=120)
    best = run.best(ms_bytes=1024)
    with run.net(best["id"]) as net:
        train, val, test = run.open_data()
        print(net.export("out", calib=train)["flash_bytes"])

ctypes over the C library's stable ABI (libsparse.so.0), found through
$SPARSE_LIB (the library file or a build directory) or the loader's path.
Every C failure raises SparseError (status and message); every object that
holds a C handle frees it on close(), at the end of a ``with`` block, or when
it is garbage-collected.
"""
from ._lib import SparseError, library_path
from .data import Dataset, cache_dir, load_mnist, open_data, write_idx_dir
from .net import Arch, Net, QNet
from .search import Run, SearchConfig, TRIAL_FIELDS, resume, search

__all__ = ["SparseError", "Dataset", "Arch", "Net", "QNet", "SearchConfig", "Run", "TRIAL_FIELDS", "search",
           "resume", "open_data", "load_mnist", "cache_dir", "write_idx_dir", "version", "library_path",
           "set_threads"]
__version__ = "0.1.0"


def version() -> str:
    """Version of the libsparse loaded ("MAJOR.MINOR.PATCH")."""
    from ._lib import lib
    return lib().sparse_version().decode()


def set_threads(n: int) -> None:
    """Compute threads of the library (BLIS); same seed + same count = same results."""
    from ._lib import check, lib
    check(lib().sparse_set_thread_count(n))
