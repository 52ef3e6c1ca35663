"""Image data for the self-consistency tests: scikit-learn's bundled 8x8 digits (offline) and
MNIST from local files (IDX, optionally gzipped, or .npz). Nothing is ever downloaded.

Images are returned as integer pixel levels, shape (n, H, W), with the number of levels, so
that callers can dequantise them: (level + U[0, 1)) / n_levels.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path
from typing import Tuple

import numpy as np

__all__ = ["load_digits_images", "load_mnist_images", "read_idx"]


def load_digits_images() -> Tuple[np.ndarray, int]:
    """scikit-learn's 1,797 handwritten digits, 8x8, pixel levels 0..16.
    Returns (images int64 (1797, 8, 8), 17)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - sklearn is a test/selfcheck dependency
        raise ImportError("the digits data set needs scikit-learn: pip install scikit-learn") from err
    return load_digits().images.astype(np.int64), 17


def read_idx(path: os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"mnist: {p} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"mnist: {p} has an unknown IDX data type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"mnist: {p} is truncated ({arr.size} values for shape {shape})")
    return arr.reshape(shape)


def load_mnist_images(path: os.PathLike) -> Tuple[np.ndarray, int]:
    """MNIST images from a local file: an IDX image file (e.g. train-images-idx3-ubyte[.gz])
    or a .npz holding an (n, 28, 28) uint8 array (key "x_train", "x", "images", or the only
    array). Returns (images int64 (n, H, W), 256)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"mnist: no such file {str(p)!r} (MNIST is never downloaded; point "
                         "--mnist at a local IDX or .npz file)")
    if p.suffix == ".npz":
        with np.load(p) as f:
            keys = list(f.keys())
            key = next((k for k in ("x_train", "x", "images") if k in keys),
                       keys[0] if len(keys) == 1 else None)
            if key is None:
                raise ValueError(f"mnist: {p} has arrays {keys}; expected one named x_train, x or images")
            arr = f[key]
    else:
        arr = read_idx(p)
    if arr.ndim != 3:
        raise ValueError(f"mnist: expected images of shape (n, H, W), got {arr.shape}")
    if arr.dtype.kind == "f":
        if arr.max() <= 1.0:
            arr = np.rint(arr * 255)
        arr = arr.astype(np.int64)
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError("mnist: expected pixel values in 0..255")
    return arr, 256
