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


# Every name the library's directory reader (sparse_dataset_load_mnist_dir)
# may take for the images of a split, in the order it looks for them; a file
# left from an earlier write under another of these names would shadow or
# be shadowed by a new one.
IMAGE_KINDS = ("idx3-ubyte", "idx4-ubyte", "idx3-float", "idx4-float")


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
    """The array of an IDX file (path or path.gz) of bytes or float32, as the file shapes it."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            zero, code, ndim = struct.unpack(">HBB", raw[:4])
            dtype = {0x08: np.dtype(np.uint8), 0x0D: np.dtype(">f4")}.get(code)
            if zero != 0 or dtype is None or not 1 <= ndim <= 4:
                raise ValueError("%s: not an IDX file of unsigned bytes or float32" % p)
            dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
            if len(raw) - 4 - 4 * ndim != int(np.prod(dims)) * dtype.itemsize:
                raise ValueError("%s: %d bytes of data for a shape of %s" % (p, len(raw) - 4 - 4 * ndim, dims))
            return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).astype(dtype.newbyteorder("="))\
                .reshape(dims)
    raise FileNotFoundError("%s: no such file (fetch MNIST with `sparsenas data fetch mnist`)" % path)


def _read_images(directory: str, split: str) -> np.ndarray:
    """The images of a split (train or t10k) as N x C x H x W, under the
    first of the names the library looks for."""
    for kind in IMAGE_KINDS:
        path = os.path.join(directory, "%s-images-%s" % (split, kind))
        if os.path.exists(path) or os.path.exists(path + ".gz"):
            x = _read_idx(path)
            return x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2).copy()
    return _read_idx(os.path.join(directory, "%s-images-idx3-ubyte" % split))  # names the missing file


def load_mnist(directory: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as NumPy arrays: (x_train, y_train, x_test, y_test), images
    uint8 of shape N x 1 x 28 x 28, labels int64, read from ``directory``
    (default: the library's cache, see cache_dir()). Any directory that
    write_idx_dir wrote reads back the same way: N x C x H x W images,
    uint8 or float32 as written."""
    d = directory or cache_dir("mnist")
    xtr, xte = _read_images(d, "train"), _read_images(d, "t10k")
    ytr, yte = (_read_idx(os.path.join(d, "%s-labels-idx1-ubyte" % s)) for s in ("train", "t10k"))
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def _split_images(name: str, x: np.ndarray) -> np.ndarray:
    """x as N x C x H x W, uint8 or float32 (finite), checked."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError("x_%s: expected N x C x H x W (or N x H x W) images, got shape %s" % (name, x.shape))
    if min(x.shape) == 0:
        raise ValueError("x_%s: every dimension must be at least 1, got shape %s" % (name, x.shape))
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError("x_%s: expected uint8 or float32 images, got %s" % (name, x.dtype))
        x = x.astype(np.float32, copy=False)
        bad = ~np.isfinite(x)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError("x_%s: value %s at index %s is not finite (NaN and infinities cannot be "
                             "trained on)" % (name, x[where], where))
    return x


def _split_labels(name: str, y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError("y_%s: expected %d labels (one per image), got shape %s" % (name, n, y.shape))
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.rint(y)):
            raise ValueError("y_%s: labels must be integers, got %s" % (name, y.dtype))
    if y.min() < 0 or y.max() > 255:
        i = int(np.argmax((y < 0) | (y > 255)))
        raise ValueError("y_%s: label %s at index %d is out of range: IDX labels are bytes, 0 to 255"
                         % (name, y[i], i))
    return y.astype(np.uint8)


def _write_images(path: str, x: np.ndarray) -> None:
    """x (N x C x H x W) as IDX: one channel as N x H x W (MNIST's own
    form), more as N x H x W x C, the 4-D layout the reader expects."""
    n, c, h, w = x.shape
    code, be = (0x08, np.uint8) if x.dtype == np.uint8 else (0x0D, np.dtype(">f4"))
    if c == 1:
        header, data = struct.pack(">HBB3I", 0, code, 3, n, h, w), x[:, 0]
    else:
        header, data = struct.pack(">HBB4I", 0, code, 4, n, h, w, c), x.transpose(0, 2, 3, 1)
    with open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(data, dtype=be).tobytes())


def write_idx_dir(directory: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray) -> str:
    """Writes the four MNIST-named IDX files into directory (created), the
    form a search config's ``data`` reads (sparse_dataset_load_mnist_dir).

    Images: N x C x H x W (or N x H x W, one channel), any channel count,
    both splits of the same dtype and C x H x W. uint8 images are written as
    IDX bytes (``*-images-idx3-ubyte``, or ``idx4`` when C > 1), which the
    library scales to [0, 1] (byte / 255) as Dataset.from_numpy does; float
    images are written as float32 IDX (``*-images-idx3-float`` or
    ``idx4-float``) and read back bit for bit, unscaled; they must be finite
    (other float dtypes are converted to float32 first, as from_numpy does).
    C > 1 is stored N x H x W x C (IDX's 4-D layout for the library).
    Labels: N integers from 0 to 255 (IDX labels are bytes); every test
    label must be a label of the training set's classes (0 to max(y_train)).
    Files of other names from an earlier write are removed. Raises
    ValueError naming the array for a bad shape, dtype, value or label."""
    xtr, xte = _split_images("train", x_train), _split_images("test", x_test)
    if xtr.shape[1:] != xte.shape[1:]:
        raise ValueError("x_test: images of C x H x W = %s, but x_train has %s" % (xte.shape[1:], xtr.shape[1:]))
    if xtr.dtype != xte.dtype:
        raise ValueError("x_test is %s but x_train is %s: give both splits the same dtype (uint8 pixels are "
                         "scaled by 1/255, float32 ones are not)" % (xte.dtype, xtr.dtype))
    ytr, yte = _split_labels("train", y_train, xtr.shape[0]), _split_labels("test", y_test, xte.shape[0])
    if yte.max() > ytr.max():
        raise ValueError("y_test: label %d is not a class of y_train (labels 0 to %d)" % (yte.max(), ytr.max()))
    os.makedirs(directory, exist_ok=True)
    kind = "idx%d-%s" % (3 if xtr.shape[1] == 1 else 4, "ubyte" if xtr.dtype == np.uint8 else "float")
    for name, x, y in (("train", xtr, ytr), ("t10k", xte, yte)):
        keep = "%s-images-%s" % (name, kind)
        for old in ["%s-images-%s%s" % (name, k, gz) for k in IMAGE_KINDS for gz in ("", ".gz")] + \
                ["%s-labels-idx1-ubyte.gz" % name]:
            if old != keep and os.path.lexists(os.path.join(directory, old)):
                os.remove(os.path.join(directory, old))
        _write_images(os.path.join(directory, "%s-images-%s" % (name, kind)), x)
        with open(os.path.join(directory, "%s-labels-idx1-ubyte" % name), "wb") as f:
            f.write(struct.pack(">HBBI", 0, 8, 1, y.shape[0]))
            f.write(y.tobytes())
    return directory
