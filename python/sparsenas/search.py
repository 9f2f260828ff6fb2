"""SpArSe searches and their run directories."""
from __future__ import annotations

import ctypes
import json
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _structs as S
from ._handle import Callbacks, Handle, YamlHandle
from ._lib import check, lib, path_arg, take_string
from .data import Dataset, write_idx_dir
from .net import Net

PathLike = Union[str, "os.PathLike[str]"]
ConfigLike = Union["SearchConfig", Mapping[str, Any], PathLike]

# sparse_trial_field (include/sparse/search.h)
TRIAL_FIELDS = {"ok": 0, "stage": 1, "parent": 2, "val_accuracy": 3, "test_accuracy": 4, "ms_bytes": 5,
                "wm5_bytes": 6, "wm6_bytes": 7, "params": 8, "seconds": 9, "feasible": 10,
                "int8_test_accuracy": 11, "val_se": 12, "posterior_accuracy": 13, "posterior_se": 14,
                "partial": 15, "epochs": 16}


class SearchConfig(YamlHandle):
    """A parsed search config (docs/search-config.md): SearchConfig.load(path),
    from_yaml(text) or from_dict(d), e.g. {"data": "mnist", "budgets": {"ms_bytes": 1024}}.
    Errors name file:line:column and the key."""

    _free_name = "sparse_search_config_free"
    _load_name = "sparse_search_config_load"
    _parse_name = "sparse_search_config_parse"

    def to_yaml(self) -> str:
        """The resolved config, every default filled in."""
        p = ctypes.c_void_p()
        check(lib().sparse_search_config_to_yaml(ctypes.byref(p), self))
        return take_string(p)

    @property
    def trial_count(self) -> int:
        """Trials the config plans (the three stages and the final one)."""
        return lib().sparse_search_config_trial_count(self)


def _config_with_data(config: ConfigLike, data_dir: str, shape: Sequence[int]) -> SearchConfig:
    """config with its data source replaced by data_dir (so config.yaml, a
    resume and Run.open_data all name the data the search read) and its
    data.shape set to the arrays' [H, W, C] (the library checks it against
    the IDX files at every open, a resume included); data.layout and
    data.label_column, which describe a CSV file's columns, are dropped."""
    if isinstance(config, Mapping):
        d = dict(config)
    else:
        cfg, owned = SearchConfig.coerce(config)  # the library's errors (file:line) first
        try:
            text = cfg.to_yaml()
        finally:
            if owned:
                cfg.close()
        try:
            import yaml  # PyYAML (Debian: python3-yaml), only for this
        except ImportError as exc:
            raise TypeError("search: NumPy data with a YAML config needs PyYAML (python3-yaml); "
                            "pass the config as a dict instead") from exc
        d = yaml.safe_load(text)
    old = d.get("data")
    data = {k: v for k, v in old.items() if k not in ("layout", "label_column")} if isinstance(old, Mapping) else {}
    if data.get("shape") is not None and list(data["shape"]) != list(shape):
        raise ValueError("search: the config's data.shape %s is not the arrays' [height, width, channels] %s"
                         % (list(data["shape"]), list(shape)))
    data.update(source=data_dir, shape=list(shape))
    d["data"] = data
    return SearchConfig.from_dict(d)


def _options(cb: Callbacks, max_trials: int, time_budget: Optional[float], threads: int,
             data_override: Optional[str], seed: Optional[int], on_trial: Optional[Callable[[dict], Any]],
             on_progress: Optional[Callable[..., Any]]) -> Tuple[S.SearchOptions, list]:
    o = S.SearchOptions()
    check(lib().sparse_search_options_init(ctypes.byref(o), S.SearchOptions.VERSION))
    o.max_trials, o.time_budget_s, o.threads = max_trials, float(time_budget or 0), threads
    o.data_override = path_arg(data_override) if data_override else None
    if seed is not None:
        o.seed = seed
    keep = []  # the C function pointers must outlive the call
    if on_trial is not None or cb.cancel is not None:
        o.on_trial = S.TRIAL_FN(cb.wrap(on_trial, lambda ev: (json.loads(ev.contents.record_json.decode()),)))
        keep.append(o.on_trial)
    if on_progress is not None or cb.cancel is not None:
        o.on_progress = S.SEARCH_PROGRESS_FN(cb.wrap(on_progress))
        keep.append(o.on_progress)
    return o, keep


def search(config: ConfigLike, out_dir: PathLike, data: Union[None, str, Sequence[Any]] = None, *,
           max_trials: int = 0, time_budget: Optional[float] = None, threads: int = 0, seed: Optional[int] = None,
           on_trial: Optional[Callable[[Dict[str, Any]], Any]] = None,
           on_progress: Optional[Callable[[int, int, int, int, float], Any]] = None,
           cancel: Optional[Any] = None) -> "Run":
    """Runs a SpArSe search into out_dir (created) and returns its Run.

    config: a SearchConfig, a dict, a YAML file or YAML text.
    data: None (the config's data), a data spec replacing it for this call
    (the library's data_override: a resume must name it again), or NumPy
    arrays (x_train, y_train, x_test, y_test): images N x C x H x W (or
    N x H x W, one channel) of any channel count, uint8 (scaled to [0, 1],
    byte / 255) or float32 (taken as they are, finite), both splits of the
    same dtype and image shape; labels N integers from 0 to 255. They are
    written as IDX files into out_dir/data (write_idx_dir: bytes or float32,
    4-D when C > 1), which become the config's data source, with data.shape
    set to [H, W, C], so that config.yaml, resume(), Run.open_data() and
    the sparsenas command all read the same data. Validation images are the
    last data.val_count of the training arrays; the search normalises the
    pixels by the training split's mean and std, as for any data. A bad
    array raises ValueError naming it.
    max_trials, time_budget (seconds), threads, seed: limits and overrides
    for this run (0 / None: the config's).
    on_trial(record) gets each trial's record (a dict) after it finished;
    on_progress(trial, epoch, batch, batches_per_epoch, loss) runs during
    training. A callback that returns False, or ``cancel`` (anything with
    is_set(), e.g. a threading.Event) once set, stops the search cleanly
    after the trial in flight (Run.cancelled is True; resume() continues it).
    An exception in a callback stops it too and is raised here."""
    override = None
    out = os.fspath(out_dir)
    if data is None or isinstance(data, (str, os.PathLike)):
        cfg, owned = SearchConfig.coerce(config)
        override = os.fspath(data) if data is not None else None
    else:
        x_train, y_train, x_test, y_test = data
        os.makedirs(out, exist_ok=True)
        data_dir = write_idx_dir(os.path.join(os.path.abspath(out), "data"), x_train, y_train, x_test, y_test)
        dims = np.shape(x_train)
        c, h, w = (1,) + tuple(dims[1:]) if len(dims) == 3 else dims[1:]
        cfg, owned = _config_with_data(config, data_dir, (h, w, c)), True
    cb = Callbacks(cancel)
    try:
        o, keep = _options(cb, max_trials, time_budget, threads, override, seed, on_trial, on_progress)
        rc = lib().sparse_search_run(cfg, path_arg(out), ctypes.byref(o))
        del keep
    finally:
        if owned:
            cfg.close()
    cancelled = cb.finish(rc)
    run = Run(out, data=override)
    run.cancelled = cancelled
    return run


def resume(run_dir: PathLike, data: Optional[str] = None, *, max_trials: int = 0,
           time_budget: Optional[float] = None, threads: int = 0,
           on_trial: Optional[Callable[[Dict[str, Any]], Any]] = None,
           on_progress: Optional[Callable[[int, int, int, int, float], Any]] = None,
           cancel: Optional[Any] = None) -> "Run":
    """Continues the search in run_dir exactly where it stopped (arguments as search())."""
    cb = Callbacks(cancel)
    o, keep = _options(cb, max_trials, time_budget, threads, data, None, on_trial, on_progress)
    rc = lib().sparse_search_resume(path_arg(run_dir), ctypes.byref(o))
    del keep
    cancelled = cb.finish(rc)
    run = Run(run_dir, data=data)
    run.cancelled = cancelled
    return run


class Run(Handle):
    """A run directory, read-only: its trials, Pareto front and trained networks."""

    _free_name = "sparse_run_free"

    def __init__(self, path: PathLike, data: Optional[str] = None):
        """Opens the run in path; data: a data spec replacing the config's for open_data()."""
        p = ctypes.c_void_p()
        check(lib().sparse_run_open(ctypes.byref(p), path_arg(path)))
        super().__init__(p)
        self.path = os.fspath(path)
        self.data = data
        self.cancelled = False

    def __len__(self) -> int:
        return lib().sparse_run_trial_count(self)

    def ids(self) -> List[int]:
        """Trial ids in file order."""
        out, i = [], ctypes.c_size_t()
        for k in range(len(self)):
            check(lib().sparse_run_trial_id(self, k, ctypes.byref(i)))
            out.append(i.value)
        return out

    def trial(self, id: int) -> Dict[str, Any]:
        """The record of trial id (trials.jsonl, docs/formats.md) as a dict."""
        s = lib().sparse_run_trial_json(self, id)
        if s is None:
            raise KeyError(id)
        return json.loads(s.decode())

    def trials(self) -> List[Dict[str, Any]]:
        """Every record, in file order."""
        return [self.trial(i) for i in self.ids()]

    def dataframe(self):
        """The records as a pandas DataFrame, one row per trial (needs pandas)."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError("Run.dataframe needs pandas (Debian: python3-pandas); "
                              "Run.trials() gives the same records as dicts") from exc
        return pandas.DataFrame.from_records(self.trials())

    def value(self, id: int, field: str) -> float:
        """One figure of trial id (a key of TRIAL_FIELDS); -1 when not measured."""
        v = ctypes.c_double()
        check(lib().sparse_run_trial_value(self, id, TRIAL_FIELDS[field], ctypes.byref(v)))
        return v.value

    @property
    def warnings(self) -> List[str]:
        """What opening the run read past (unreadable lines, a torn last record)."""
        return [lib().sparse_run_warning(self, i, None).decode() for i in range(lib().sparse_run_warning_count(self))]

    def pareto(self) -> List[Dict[str, Any]]:
        """Records of the trials on the Pareto front (within the config's budgets)."""
        n = len(self)
        ids = (ctypes.c_size_t * max(n, 1))()
        count = ctypes.c_size_t()
        check(lib().sparse_run_pareto(self, ids, ctypes.byref(count)))
        return [self.trial(ids[j]) for j in range(count.value)]

    def best(self, ms_bytes: Optional[float] = None, wm_bytes: Optional[float] = None) -> Dict[str, Any]:
        """The front's most accurate trial (posterior accuracy, as the front
        ranks) within ms_bytes and wm_bytes (the run's WM model); KeyError if none."""
        m = ctypes.c_int()
        check(lib().sparse_run_wm_model(self, ctypes.byref(m)))
        model = "wm%d_bytes" % m.value
        fits = [t for t in self.pareto() if (ms_bytes is None or t["ms_bytes"] <= ms_bytes)
                and (wm_bytes is None or t[model] <= wm_bytes)]
        if not fits:
            raise KeyError("no trial on the front within MS %s B and WM %s B" % (ms_bytes, wm_bytes))
        return max(fits, key=lambda t: self.value(t["id"], "posterior_accuracy"))

    def net(self, id: int) -> Net:
        """The network of trial id as the search evaluated it (trained, pruned), for batches of up to 256."""
        p = ctypes.c_void_p()
        check(lib().sparse_run_trial_net(ctypes.byref(p), None, self, id))
        return Net(p)

    def open_data(self, data: Optional[str] = None) -> Tuple[Dataset, Dataset, Dataset]:
        """(train, validation, test) exactly as the search split them."""
        ps = [ctypes.c_void_p() for _ in range(3)]
        spec = data or self.data
        check(lib().sparse_run_open_data(*[ctypes.byref(p) for p in ps], self,
                                         path_arg(spec) if spec else None))
        return tuple(Dataset(p) for p in ps)  # type: ignore[return-value]
