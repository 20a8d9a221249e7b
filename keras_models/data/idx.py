"""Local IDX files, the format MNIST is distributed in: one file, a folder of four, or
only a folder's test pair."""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from keras_models.data.base import DataError, DataSplit, check_images, to_images

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "val_x": "t10k-images-idx3-ubyte",
    "val_y": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# The most data one IDX file may hold: 20 times MNIST's training images and twice EMNIST's
# largest file, and 4 GiB once converted to float32. A header claiming more is refused before
# a byte of data is read, so a small file that lies cannot take the machine's memory.
MAX_IDX_BYTES = 1 << 30
READ_CHUNK = 1 << 20


def _read_at_most(stream: BinaryIO, limit: int) -> bytearray:
    """Up to ``limit`` bytes of ``stream``, read a chunk at a time: memory follows what the
    stream really holds, never more than ``limit``, whatever its header claimed."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(READ_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _idx_header(stream: BinaryIO, path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(dims, element type, header length) from the start of ``stream``."""
    magic = _read_at_most(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise DataError(f"corrupt IDX file {path}: not an IDX header")
    ndim = magic[3]
    sizes = _read_at_most(stream, 4 * ndim)
    if ndim == 0 or len(sizes) < 4 * ndim:
        raise DataError(f"corrupt IDX file {path}: header cut short")
    return struct.unpack(f">{ndim}I", sizes), np.dtype(IDX_DTYPES[magic[2]]), 4 + 4 * ndim


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array.

    The header comes first and fixes how many bytes of data may follow; a claim past
    ``MAX_IDX_BYTES`` is refused at once, and a compressed file is decompressed in chunks
    that stop one byte past the claim, so a file longer or shorter than its header says
    is refused without ever holding more than the claim.
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as stream:
            dims, dtype, header_end = _idx_header(stream, path)
            # Python integers: a product of sizes up to 2**32 - 1 each cannot overflow here.
            expected = math.prod(dims) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise DataError(f"IDX file {path} is too large: its header claims shape {dims}, {expected:,} "
                                f"bytes of data, more than the {MAX_IDX_BYTES:,} bytes this tool reads")
            if not compressed:
                found = path.stat().st_size - header_end
                if found != expected:
                    raise DataError(f"corrupt IDX file {path}: expected {expected:,} bytes of data for "
                                    f"shape {dims}, found {found:,}")
            raw = _read_at_most(stream, expected + 1)
    except FileNotFoundError:
        raise DataError(f"missing IDX file: {path}") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"unreadable IDX file {path}: {exc}") from None
    if len(raw) != expected:
        found = "more" if len(raw) > expected else f"{len(raw):,}"
        raise DataError(f"corrupt IDX file {path}: expected {expected:,} bytes of data for shape {dims}, "
                        f"found {found}")
    return np.frombuffer(raw, dtype=dtype).reshape(dims)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise DataError(f"missing IDX file: {folder / stem}[.gz]")


def _labels(array: np.ndarray, folder: Path, part: str) -> np.ndarray:
    """A label file's values as int32; refused when they are not whole numbers, which the
    conversion would silently truncate (3.7 -> 3) or turn to garbage (NaN)."""
    if array.dtype.kind not in "iu":
        raise DataError(f"idx:{folder}: the {part} labels must be whole numbers, got {array.dtype} values")
    return array.astype("int32")


def load_idx_test_set(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Only the t10k images and labels of an IDX folder: a local test set for evaluation."""
    folder = Path(folder).expanduser()
    images = to_images(read_idx(_find_idx(folder, IDX_FILES["val_x"])))
    labels = _labels(read_idx(_find_idx(folder, IDX_FILES["val_y"])), folder, "test")
    # Not a DataSplit, so the split's own checks are called by hand.
    check_images(f"idx:{folder}", "test", images, labels)
    return images, labels


def load_idx_folder(folder: str | Path) -> DataSplit:
    """The four standard MNIST-layout IDX files of ``folder`` (train = train, validation = t10k)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"IDX folder not found: {folder}")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    # Counts, shapes, empty files and pixel values are the split's own checks (DataSplit.check).
    return DataSplit(
        name=f"idx:{folder}",
        train_x=to_images(arrays["train_x"]), train_y=_labels(arrays["train_y"], folder, "training"),
        val_x=to_images(arrays["val_x"]), val_y=_labels(arrays["val_y"], folder, "validation"),
    )
