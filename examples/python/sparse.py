"""A small Pythonic layer over libsparse's C API (ctypes, standard library only).

    import sparse
    with sparse.SearchConfig("examples/search/mnist-quick.yaml") as cfg:
        sparse.search(cfg, "runs/q", max_trials=10, on_trial=print)
    with sparse.Run("runs/q") as run:
        for t in run.pareto():
            print(t["id"], t["val_accuracy"], t["ms_bytes"], t["wm5_bytes"])

Errors raise SparseError, which carries the status code and the library's
own message (sparse_last_error()). Handles are freed by the context
managers, or by close().
"""
import ctypes
import ctypes.util
import json
import os

_lib = None


def lib():
    """The loaded libsparse: $SPARSE_LIB, else the system's libsparse.so.0."""
    global _lib
    if _lib is None:
        path = os.environ.get("SPARSE_LIB") or ctypes.util.find_library("sparse") or "libsparse.so.0"
        _lib = ctypes.CDLL(path)
        _declare(_lib)
    return _lib


class SparseError(Exception):
    """A libsparse failure: .code is the status, the message says what and where."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _check(rc):
    if rc != 0:
        L = lib()
        raise SparseError(rc, "%s: %s" % (L.sparse_strerror(rc).decode(), L.sparse_last_error().decode()))


class TrialEvent(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("trial", ctypes.c_size_t), ("total", ctypes.c_size_t),
                ("stage", ctypes.c_int), ("ok", ctypes.c_int), ("val_accuracy", ctypes.c_double),
                ("ms_bytes", ctypes.c_double), ("wm_bytes", ctypes.c_double),
                ("best_feasible_accuracy", ctypes.c_double), ("elapsed_s", ctypes.c_double),
                ("remaining_s", ctypes.c_double), ("record_json", ctypes.c_char_p)]


_TRIAL_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(TrialEvent))
_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                ctypes.c_size_t, ctypes.c_size_t, ctypes.c_double)


class SearchOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("max_trials", ctypes.c_size_t), ("time_budget_s", ctypes.c_double),
                ("threads", ctypes.c_int), ("data_override", ctypes.c_char_p), ("on_trial", _TRIAL_FN),
                ("on_progress", _PROGRESS_FN), ("user", ctypes.c_void_p)]


SEARCH_OPTIONS_VERSION = 1
_FIELDS = {"ok": 0, "stage": 1, "parent": 2, "val_accuracy": 3, "test_accuracy": 4, "ms_bytes": 5,
           "wm5_bytes": 6, "wm6_bytes": 7, "params": 8, "seconds": 9, "feasible": 10}


def _declare(L):
    P = ctypes.c_void_p
    L.sparse_version.restype = ctypes.c_char_p
    L.sparse_strerror.restype = ctypes.c_char_p
    L.sparse_strerror.argtypes = [ctypes.c_int]
    L.sparse_last_error.restype = ctypes.c_char_p
    L.sparse_search_config_load.argtypes = [ctypes.POINTER(P), ctypes.c_char_p]
    L.sparse_search_config_free.argtypes = [P]
    L.sparse_search_config_to_yaml.argtypes = [ctypes.POINTER(ctypes.c_void_p), P]
    L.sparse_search_config_trial_count.argtypes = [P]
    L.sparse_search_config_trial_count.restype = ctypes.c_size_t
    L.sparse_search_options_init.argtypes = [ctypes.POINTER(SearchOptions), ctypes.c_uint]
    L.sparse_search_run.argtypes = [P, ctypes.c_char_p, ctypes.POINTER(SearchOptions)]
    L.sparse_search_resume.argtypes = [ctypes.c_char_p, ctypes.POINTER(SearchOptions)]
    L.sparse_run_open.argtypes = [ctypes.POINTER(P), ctypes.c_char_p]
    L.sparse_run_free.argtypes = [P]
    L.sparse_run_trial_count.argtypes = [P]
    L.sparse_run_trial_count.restype = ctypes.c_size_t
    L.sparse_run_trial_json.argtypes = [P, ctypes.c_size_t]
    L.sparse_run_trial_json.restype = ctypes.c_char_p
    L.sparse_run_trial_value.argtypes = [P, ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    L.sparse_run_pareto.argtypes = [P, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
    L.sparse_free.argtypes = [ctypes.c_void_p]
    L.sparse_free.restype = None


def version():
    return lib().sparse_version().decode()


class _Handle:
    """Owns one libsparse handle, freed by close(), the context manager or GC."""
    _free = None  # name of the matching sparse_*_free

    def close(self):
        if getattr(self, "_h", None):
            getattr(lib(), self._free)(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class SearchConfig(_Handle):
    """A parsed search config (docs/search-config.md)."""
    _free = "sparse_search_config_free"

    def __init__(self, path):
        self._h = ctypes.c_void_p()
        _check(lib().sparse_search_config_load(ctypes.byref(self._h), os.fsencode(path)))

    @property
    def trials(self):
        return lib().sparse_search_config_trial_count(self._h)

    def to_yaml(self):
        p = ctypes.c_void_p()
        _check(lib().sparse_search_config_to_yaml(ctypes.byref(p), self._h))
        try:
            return ctypes.string_at(p).decode()
        finally:
            lib().sparse_free(p)


def _options(max_trials, time_budget_s, threads, data, on_trial, on_progress):
    o = SearchOptions()
    _check(lib().sparse_search_options_init(ctypes.byref(o), SEARCH_OPTIONS_VERSION))
    o.max_trials = max_trials or 0
    o.time_budget_s = time_budget_s or 0.0
    o.threads = threads or 0
    o.data_override = os.fsencode(data) if data else None
    keep = []  # the callbacks must outlive the call
    errors = []

    def trial_cb(user, ev):
        try:
            e = ev.contents
            record = json.loads(e.record_json.decode())
            return 1 if on_trial(record) is False else 0
        except Exception as exc:  # an exception stops the search, then re-raises
            errors.append(exc)
            return 1

    def progress_cb(user, trial, epoch, batch, per_epoch, loss):
        try:
            return 1 if on_progress(trial, epoch, batch, per_epoch, loss) is False else 0
        except Exception as exc:
            errors.append(exc)
            return 1

    if on_trial:
        o.on_trial = _TRIAL_FN(trial_cb)
        keep.append(o.on_trial)
    if on_progress:
        o.on_progress = _PROGRESS_FN(progress_cb)
        keep.append(o.on_progress)
    return o, keep, errors


def _call(fn, args, max_trials=None, time_budget_s=None, threads=None, data=None, on_trial=None,
          on_progress=None):
    o, keep, errors = _options(max_trials, time_budget_s, threads, data, on_trial, on_progress)
    rc = fn(*args, ctypes.byref(o))
    del keep
    if errors:
        raise errors[0]
    _check(rc)


def search(config, out_dir, **kw):
    """Runs a search into out_dir. Keywords: max_trials, time_budget_s, threads,
    data, on_trial(record) (each trial's record as a dict; returning False
    stops the search cleanly, resumably), on_progress(trial, epoch, batch,
    batches_per_epoch, loss)."""
    _call(lib().sparse_search_run, (config._h, os.fsencode(out_dir)), **kw)


def resume(run_dir, **kw):
    """Continues the run in run_dir exactly where it stopped (keywords as search)."""
    _call(lib().sparse_search_resume, (os.fsencode(run_dir),), **kw)


class Run(_Handle):
    """A run directory, read-only: trials and the Pareto front."""
    _free = "sparse_run_free"

    def __init__(self, path):
        self._h = ctypes.c_void_p()
        _check(lib().sparse_run_open(ctypes.byref(self._h), os.fsencode(path)))

    def __len__(self):
        return lib().sparse_run_trial_count(self._h)

    def trial(self, i):
        """The full record of trial i as a dict."""
        s = lib().sparse_run_trial_json(self._h, i)
        if s is None:
            raise IndexError(i)
        return json.loads(s.decode())

    def value(self, i, field):
        v = ctypes.c_double()
        _check(lib().sparse_run_trial_value(self._h, i, _FIELDS[field], ctypes.byref(v)))
        return v.value

    def pareto(self):
        """Records of the trials on the front (within the budgets)."""
        n = len(self)
        idx = (ctypes.c_size_t * max(n, 1))()
        count = ctypes.c_size_t()
        _check(lib().sparse_run_pareto(self._h, idx, ctypes.byref(count)))
        return [self.trial(idx[j]) for j in range(count.value)]
