"""Architectures, networks (train, evaluate, predict, memory) and int8 networks (evaluate, export)."""
from __future__ import annotations

import ctypes
import json
import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from . import _structs as S
from ._handle import Callbacks, Handle, YamlHandle, new_handle
from ._lib import check, lib, path_arg, take_string
from .data import Dataset, DataLike, as_dataset, bytes_to_float

PathLike = Union[str, "os.PathLike[str]"]

OPTIMIZERS = {"adam": 0, "sgd": 1}
SCHEDULES = {"constant": 0, "step": 1, "cosine": 2, "one_cycle": 3}
SCRATCH_MODELS = {"im2col": 0, "im2col_2col": 1, "none": 2}


class Arch(YamlHandle):
    """A network architecture (docs/network-format.md): Arch.load(path),
    Arch.from_yaml(text) or Arch.from_dict(d), e.g.
    {"input": [1, 28, 28], "classes": 10, "layers": [{"type": "fc", "units": 10}]}.
    Errors name file:line and the layer."""

    _free_name = "sparse_arch_free"
    _load_name = "sparse_arch_load_yaml"
    _parse_name = "sparse_arch_parse_yaml"

    def to_yaml(self) -> str:
        p = ctypes.c_void_p()
        check(lib().sparse_arch_to_yaml(ctypes.byref(p), self))
        return take_string(p)

    def to_dict(self) -> Dict[str, Any]:
        p = ctypes.c_void_p()
        check(lib().sparse_arch_to_json(ctypes.byref(p), self))
        return json.loads(take_string(p))

    def validate(self) -> None:
        """Checks names, inputs and every shape (SparseError naming the layer)."""
        check(lib().sparse_arch_validate(self))

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        c, h, w = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
        check(lib().sparse_arch_input_shape(self, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w)))
        return c.value, h.value, w.value

    @property
    def classes(self) -> int:
        return lib().sparse_arch_class_count(self)

    def __len__(self) -> int:
        return lib().sparse_arch_layer_count(self)


def _with_data(data: DataLike, fn: Callable[[Dataset], Any]) -> Any:
    ds, owned = as_dataset(data)
    try:
        return fn(ds)
    finally:
        if owned:
            ds.close()


def _images(x: np.ndarray, shape: Tuple[int, int, int]) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == np.uint8:
        a = bytes_to_float(a)
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.shape == shape:
        a = a[None]
    if a.shape[1:] != shape:
        raise ValueError("images: expected N x %d x %d x %d, got shape %s" % (shape + (a.shape,)))
    return a


class Net(Handle):
    """A network built from an architecture, with its weights and optimiser state."""

    _free_name = "sparse_net_free"

    def __init__(self, arch: Union[Arch, Mapping[str, Any], str, ctypes.c_void_p], max_batch: int = 64,
                 seed: int = 0):
        """Builds a network for ``arch`` (an Arch, a dict, YAML text or a YAML
        file) for up to max_batch images per pass, weights initialised from seed."""
        if isinstance(arch, ctypes.c_void_p):  # a handle the library handed over
            super().__init__(arch)
            return
        a, owned = Arch.coerce(arch)
        try:
            p = ctypes.c_void_p()
            check(lib().sparse_net_create(ctypes.byref(p), a, max_batch, seed))
        finally:
            if owned:
                a.close()
        super().__init__(p)

    @classmethod
    def load(cls, path: PathLike, max_batch: int = 64, allow_extra: bool = False) -> "Net":
        """A network from a safetensors file written by save() (its architecture is stored in it)."""
        with new_handle(Arch, lambda p: lib().sparse_net_load_arch(p, path_arg(path))) as arch:
            net = cls(arch, max_batch)
        check(lib().sparse_net_load(net, path_arg(path), int(allow_extra)))
        return net

    def save(self, path: PathLike) -> None:
        check(lib().sparse_net_save(self, path_arg(path)))

    @property
    def arch(self) -> Arch:
        """A copy of the network's architecture."""
        return new_handle(Arch, lambda p: lib().sparse_arch_clone(p, lib().sparse_net_arch(self)))

    @property
    def weight_count(self) -> int:
        return lib().sparse_net_weight_count(self)

    @property
    def nonzero_count(self) -> int:
        return lib().sparse_net_nonzero_count(self)

    def train(self, data: DataLike, progress: Optional[Callable[[int, int, int, float, float], Any]] = None,
              cancel: Optional[Any] = None, **options: Any) -> Dict[str, Any]:
        """Trains on ``data`` (a Dataset or (images, labels) arrays).

        options: the fields of sparse_train_options (include/sparse/layers.h):
        epochs, batch_size, optimizer ("adam", "sgd"), lr, momentum, beta1,
        beta2, eps, weight_decay, schedule ("constant", "step", "cosine",
        "one_cycle"), step_epochs, step_gamma, label_smoothing, seed, max_shift.
        progress(epoch, batch, batches_per_epoch, loss, images_per_s) is called
        after every batch; returning False, or setting ``cancel`` (anything
        with is_set(), e.g. a threading.Event), stops training with the weights
        kept. Returns what the run measured, with "cancelled": True if stopped."""
        o = S.TrainOptions()
        check(lib().sparse_train_options_init(ctypes.byref(o), S.TrainOptions.VERSION))
        for key, value in options.items():
            if key in ("optimizer", "schedule"):
                table = OPTIMIZERS if key == "optimizer" else SCHEDULES
                if value not in table:
                    raise ValueError("%s: %r is not one of %s" % (key, value, ", ".join(table)))
                value = table[value]
            if key in ("version", "progress", "user") or not hasattr(o, key):
                raise TypeError("train: unknown option %r" % key)
            setattr(o, key, value)
        cb = Callbacks(cancel)
        if progress is not None or cancel is not None:
            o.progress = S.TRAIN_PROGRESS_FN(cb.wrap(progress))
        res = S.TrainResult(version=S.TrainResult.VERSION)
        rc = _with_data(data, lambda ds: lib().sparse_net_train(self, ds, ctypes.byref(o), ctypes.byref(res)))
        cancelled = cb.finish(rc)
        out = {name: getattr(res, name) for name, _ in S.TrainResult._fields_ if name != "version"}
        out["cancelled"] = cancelled
        return out

    def evaluate(self, data: DataLike) -> float:
        """Top-1 accuracy in inference mode, in [0, 1]."""
        acc = ctypes.c_double()
        check(_with_data(data, lambda ds: lib().sparse_net_evaluate(self, ds, ctypes.byref(acc))))
        return acc.value

    def predict(self, images: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(labels, logits) of images (N x C x H x W, or one C x H x W; uint8 scaled by 1/255)."""
        x = _images(images, self.arch_shape())
        k = self.classes()
        labels = np.empty(len(x), dtype=np.int64)
        logits = np.empty((len(x), k), dtype=np.float32)
        label = ctypes.c_int()
        fp = ctypes.POINTER(ctypes.c_float)
        for i in range(len(x)):
            check(lib().sparse_net_predict(self, x[i].ctypes.data_as(fp), logits[i].ctypes.data_as(fp),
                                           ctypes.byref(label)))
            labels[i] = label.value
        return labels, logits

    def arch_shape(self) -> Tuple[int, int, int]:
        with self.arch as a:
            return a.input_shape

    def classes(self) -> int:
        with self.arch as a:
            return a.classes

    def memory(self, scratch: str = "im2col", dense: bool = False) -> Dict[str, Any]:
        """The network's memory figures at int8 (include/sparse/memory.h) as a
        dict: the paper's ms_bytes, wm5_bytes, wm6_bytes, the deploy figures
        flash_bytes and arena_bytes, and "layers", one dict per layer."""
        o = S.MemoryOptions()
        check(lib().sparse_memory_options_init(ctypes.byref(o), S.MemoryOptions.VERSION))
        if scratch not in SCRATCH_MODELS:
            raise ValueError("scratch: %r is not one of %s" % (scratch, ", ".join(SCRATCH_MODELS)))
        o.scratch, o.dense = SCRATCH_MODELS[scratch], int(dense)
        r = ctypes.c_void_p()
        check(lib().sparse_memreport_from_net(ctypes.byref(r), self, ctypes.byref(o)))
        try:
            s = ctypes.c_void_p()
            check(lib().sparse_memreport_to_json(ctypes.byref(s), r))
            return json.loads(take_string(s))
        finally:
            lib().sparse_memreport_free(r)

    def quantize(self, calib: DataLike, calib_images: int = 1000) -> "QNet":
        """The int8 network (TFLite rules), calibrated on the first calib_images
        images of calib (training images, never the test set; 0 = all)."""
        o = S.QuantOptions()
        check(lib().sparse_quant_options_init(ctypes.byref(o), S.QuantOptions.VERSION))
        o.calib_images = calib_images
        return _with_data(calib, lambda ds: new_handle(
            QNet, lambda p: lib().sparse_qnet_create(p, self, ds, ctypes.byref(o))))

    def export(self, directory: PathLike, calib: DataLike, prefix: str = "model",
               calib_images: int = 1000) -> Dict[str, Any]:
        """quantize(calib) then QNet.export(directory, prefix)."""
        with self.quantize(calib, calib_images) as q:
            return q.export(directory, prefix)


class QNet(Handle):
    """An int8 network: integer-only inference, as deployed."""

    _free_name = "sparse_qnet_free"

    def evaluate(self, data: DataLike) -> float:
        """Top-1 accuracy of the integer-only network, in [0, 1]."""
        acc = ctypes.c_double()
        check(_with_data(data, lambda ds: lib().sparse_qnet_evaluate(self, ds, ctypes.byref(acc))))
        return acc.value

    @property
    def input_shape(self) -> Tuple[int, int, int]:
        c, h, w = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
        check(lib().sparse_qnet_input_shape(self, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w)))
        return c.value, h.value, w.value

    def predict(self, images: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(labels, int8 logits) of images (N x C x H x W, or one C x H x W; uint8 scaled by 1/255)."""
        x = _images(images, self.input_shape)
        k = lib().sparse_qnet_class_count(self)
        labels = np.empty(len(x), dtype=np.int64)
        logits = np.empty((len(x), k), dtype=np.int8)
        label = ctypes.c_int()
        for i in range(len(x)):
            check(lib().sparse_qnet_predict(self, x[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                            logits[i].ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
                                            ctypes.byref(label)))
            labels[i] = label.value
        return labels, logits

    def export(self, directory: PathLike, prefix: str = "model") -> Dict[str, Any]:
        """Writes directory/PREFIX.h and PREFIX.c, freestanding int8 C99
        (include/sparse/export.h, docs/deploy.md); returns the exported
        model's figures (ms_bytes, wm5_bytes, flash_bytes, arena_bytes, ...)."""
        o = S.ExportOptions()
        check(lib().sparse_export_options_init(ctypes.byref(o), S.ExportOptions.VERSION))
        o.prefix = prefix.encode()
        fig = S.ExportFigures(version=S.ExportFigures.VERSION)
        check(lib().sparse_export_qnet(self, path_arg(directory), ctypes.byref(o), ctypes.byref(fig)))
        return {name: getattr(fig, name) for name, _ in S.ExportFigures._fields_ if name != "version"}
