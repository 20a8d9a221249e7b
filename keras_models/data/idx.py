"""Local IDX files, the format MNIST is distributed in: one file, a folder of four, or
only a folder's test pair."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from keras_models.data.base import DataError, DataSplit, to_images

IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "val_x": "t10k-images-idx3-ubyte",
    "val_y": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"missing IDX file: {path}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"unreadable IDX file {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataError(f"corrupt IDX file {path}: not an IDX header")
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_end:
        raise DataError(f"corrupt IDX file {path}: header cut short")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    found = len(raw) - header_end
    if found != expected:
        raise DataError(f"corrupt IDX file {path}: expected {expected:,} bytes of data for shape {dims}, found {found:,}")
    return np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(dims)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise DataError(f"missing IDX file: {folder / stem}[.gz]")


def load_idx_test_set(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Only the t10k images and labels of an IDX folder: a local test set for evaluation."""
    folder = Path(folder).expanduser()
    images = read_idx(_find_idx(folder, IDX_FILES["val_x"]))
    labels = read_idx(_find_idx(folder, IDX_FILES["val_y"]))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"IDX test files in {folder} do not match: images {images.shape}, labels {labels.shape}")
    return to_images(images), labels.astype("int32")


def load_idx_folder(folder: str | Path) -> DataSplit:
    """The four standard MNIST-layout IDX files of ``folder`` (train = train, validation = t10k)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"IDX folder not found: {folder}")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_FILES.items()}
    for part in ("train", "val"):
        images, labels = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"IDX files in {folder} do not match: {part} images {images.shape}, labels {labels.shape}"
            )
    return DataSplit(
        name=f"idx:{folder}",
        train_x=to_images(arrays["train_x"]), train_y=arrays["train_y"].astype("int32"),
        val_x=to_images(arrays["val_x"]), val_y=arrays["val_y"].astype("int32"),
    )
