"""Data sets: from NumPy arrays, from the library's data specs, back to NumPy."""
from __future__ import annotations

import ctypes
import gzip
import os
import struct
from typing import Optional, Tuple, Union

import numpy as np

from . import _structs as S
from ._handle import Handle, new_handle
from ._lib import check, lib, path_arg

# uint8 pixels become floats as the library's IDX reader makes them: byte * (1.0f / 255.0f).
BYTE_SCALE = np.float32(1) / np.float32(255)


def bytes_to_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.float32) * BYTE_SCALE


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


class Dataset(Handle):
    """Labelled images in memory (float32, C x H x W each), a libsparse sparse_dataset."""

    _free_name = "sparse_dataset_free"

    @classmethod
    def from_numpy(cls, images: np.ndarray, labels: np.ndarray, classes: Optional[int] = None) -> "Dataset":
        """A data set from an N x C x H x W (or N x H x W, one channel) array and N labels.

        uint8 images are scaled to [0, 1] (byte / 255, as the library's IDX
        reader does: byte * (1.0f / 255.0f)); float images are taken as they are and must be finite.
        ``classes`` defaults to the largest label + 1. The arrays are copied."""
        x = np.asarray(images)
        if x.ndim == 3:
            x = x[:, None, :, :]
        if x.ndim != 4:
            raise ValueError("images: expected N x C x H x W (or N x H x W), got shape %s" % (x.shape,))
        if x.dtype == np.uint8:
            x = bytes_to_float(x)
        elif np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32, copy=False)
        else:
            raise TypeError("images: expected uint8 or float32, got %s" % x.dtype)
        x = np.ascontiguousarray(x)
        y = np.ascontiguousarray(np.asarray(labels), dtype=np.int32)
        if y.shape != (x.shape[0],):
            raise ValueError("labels: expected %d labels, got shape %s" % (x.shape[0], y.shape))
        n, c, h, w = x.shape
        k = int(y.max()) + 1 if classes is None and n else int(classes or 0)
        return new_handle(cls, lambda p: lib().sparse_dataset_from_memory(
            p, n, c, h, w, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            y.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), k))

    def __len__(self) -> int:
        return lib().sparse_dataset_image_count(self)

    @property
    def shape(self) -> Tuple[int, int, int]:
        """(C, H, W) of every image."""
        L = lib()
        return (L.sparse_dataset_channels(self), L.sparse_dataset_height(self), L.sparse_dataset_width(self))

    @property
    def classes(self) -> int:
        return lib().sparse_dataset_class_count(self)

    def to_numpy(self) -> Tuple[np.ndarray, np.ndarray]:
        """(images, labels): an N x C x H x W float32 array and N int32 labels (copies)."""
        L = lib()
        n, (c, h, w) = len(self), self.shape
        x = np.empty((n, c, h, w), dtype=np.float32)
        y = np.empty(n, dtype=np.int32)
        per = c * h * w
        for i in range(n):
            x[i] = np.ctypeslib.as_array(L.sparse_dataset_image(self, i), (per,)).reshape(c, h, w)
            y[i] = L.sparse_dataset_label(self, i)
        return x, y

    def range(self, first: int, count: int) -> "Dataset":
        """Images [first, first + count), a copy."""
        return new_handle(Dataset, lambda p: lib().sparse_dataset_range(p, self, first, count))

    def __repr__(self) -> str:
        if self.closed:
            return "<sparsenas.Dataset (closed)>"
        return "<sparsenas.Dataset %d images of %s, %d classes>" % (len(self), self.shape, self.classes)


DataLike = Union[Dataset, Tuple[np.ndarray, np.ndarray]]


def as_dataset(data: DataLike) -> Tuple[Dataset, bool]:
    """(data set, True if made here and to be closed by the caller)."""
    if isinstance(data, Dataset):
        return data, False
    images, labels = data
    return Dataset.from_numpy(images, labels), True


def open_data(spec: Union[str, os.PathLike], val_count: int = 5000, test_fraction: float = 0.2, seed: int = 0,
              normalize: bool = True, binary: bool = False,
              max_train: int = 0) -> Tuple[Dataset, Dataset, Dataset]:
    """(train, validation, test) of a data spec: "mnist" (the cache of
    ``sparsenas data fetch mnist``), a directory holding the four MNIST IDX
    files, or a CSV file (sparse_data_open, include/sparse/data.h)."""
    o = S.DataOptions()
    check(lib().sparse_data_options_init(ctypes.byref(o), S.DataOptions.VERSION))
    o.val_count, o.test_fraction, o.seed = val_count, test_fraction, seed
    o.normalize, o.binary, o.max_train = int(normalize), int(binary), max_train
    ps = [ctypes.c_void_p() for _ in range(3)]
    check(lib().sparse_data_open(*[ctypes.byref(p) for p in ps], path_arg(spec), ctypes.byref(o)))
    return tuple(Dataset(p) for p in ps)  # type: ignore[return-value]


def cache_dir(name: str = "mnist") -> str:
    """Where ``sparsenas data fetch NAME`` caches a data set ($XDG_CACHE_HOME/sparse/NAME)."""
    buf = ctypes.create_string_buffer(4096)
    check(lib().sparse_data_cache_dir(buf, len(buf), name.encode()))
    return os.fsdecode(buf.value)


def _read_idx(path: str) -> np.ndarray:
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
            if zero != 0 or dtype != 0x08 or not 1 <= ndim <= 4:
                raise ValueError("%s: not an IDX file of unsigned bytes" % p)
            dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
            data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
            if data.size != int(np.prod(dims)):
                raise ValueError("%s: %d bytes of data for a shape of %s" % (p, data.size, dims))
            return data.reshape(dims)
    raise FileNotFoundError("%s: no such file (fetch MNIST with `sparsenas data fetch mnist`)" % path)


def load_mnist(directory: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as NumPy arrays: (x_train, y_train, x_test, y_test), images
    uint8 of shape N x 1 x 28 x 28, labels int64, read from ``directory``
    (default: the library's cache, see cache_dir())."""
    d = directory or cache_dir("mnist")
    xtr, ytr, xte, yte = (_read_idx(os.path.join(d, f)) for f in MNIST_FILES)
    return xtr[:, None], ytr.astype(np.int64), xte[:, None], yte.astype(np.int64)


def write_idx_dir(directory: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray) -> str:
    """Writes the four MNIST-named IDX files into directory (created), the
    form a search config's ``data`` reads. Images must be one-channel
    N x 1 x H x W (or N x H x W) uint8, or float in [0, 1] holding exact
    multiples of 1/255 (uint8 scaled), because IDX holds bytes."""
    os.makedirs(directory, exist_ok=True)
    for name, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        x = np.asarray(x)
        if x.ndim == 4:
            if x.shape[1] != 1:
                raise ValueError("%s images: IDX holds one channel, got %d" % (name, x.shape[1]))
            x = x[:, 0]
        if x.ndim != 3:
            raise ValueError("%s images: expected N x 1 x H x W, got shape %s" % (name, x.shape))
        if x.dtype != np.uint8:
            xf = np.asarray(x, dtype=np.float64) * 255
            scaled = np.rint(xf)
            if not np.all(np.abs(xf - scaled) < 1e-3) or scaled.min() < 0 or scaled.max() > 255:
                raise ValueError("%s images: float values that are not bytes / 255 cannot be searched "
                                 "through IDX; pass uint8 images or a data spec" % name)
            x = scaled.astype(np.uint8)
        y = np.asarray(y)
        if y.shape != (x.shape[0],) or y.min(initial=0) < 0 or y.max(initial=0) > 255:
            raise ValueError("%s labels: expected %d labels in 0..255" % (name, x.shape[0]))
        with open(os.path.join(directory, "%s-images-idx3-ubyte" % name), "wb") as f:
            f.write(struct.pack(">HBB3I", 0, 8, 3, *x.shape))
            f.write(np.ascontiguousarray(x).tobytes())
        with open(os.path.join(directory, "%s-labels-idx1-ubyte" % name), "wb") as f:
            f.write(struct.pack(">HBBI", 0, 8, 1, y.shape[0]))
            f.write(y.astype(np.uint8).tobytes())
    return directory
