"""Sets downloaded through tensorflow-datasets: mnist, fashion_mnist and dSprites.

Named ``tfds_sets`` rather than ``tfds`` because every function here does
``import tensorflow_datasets as tfds``: a module called ``tfds`` would read as the
library wherever it is imported.

tensorflow_datasets is imported inside the functions, not at the top: it pulls in
TensorFlow (seconds), and ``import keras_models.data`` must stay cheap for the
window and for sets that never touch tfds (mnist-5k, shapes, IDX folders).
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import numpy as np

from keras_models.data.base import DataSplit, DatasetUnavailable, to_images
from keras_models.data.shapes import downsample, factor_names, split_with_factors

# Where tfds fetches each set from; probed first so an offline machine fails in seconds.
TFDS_HOSTS = {
    "mnist": ("storage.googleapis.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    # tfds 4.9 downloads dSprites from its GitHub repository, not from Google storage.
    "dsprites": ("github.com", 443),
}


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
    import tensorflow_datasets as tfds  # lazily: it loads TensorFlow (see the module docstring)

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not network_reachable(host, port, network_timeout):
            raise DatasetUnavailable(f"cannot download {name}: {host} is unreachable (no network?)")
        builder.download_and_prepare()
    return builder


def load_tfds(name: str, data_dir: str | None = None, network_timeout: float = 5.0) -> DataSplit:
    """``name`` through tensorflow-datasets, downloading it (with a progress bar) when needed."""
    import tensorflow_datasets as tfds  # lazily: it loads TensorFlow (see the module docstring)

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
    import tensorflow_datasets as tfds  # lazily: it loads TensorFlow (see the module docstring)

    builder = _prepared_builder("dsprites", data_dir, network_timeout)
    records = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    factors = np.stack([records[f"label_{name}"] for name in factor_names], axis=1)
    images = records["image"][..., 0] * np.uint8(255)  # tfds keeps dSprites' 0/1 pixels
    if size != 64:
        images = downsample(images)
    return split_with_factors("dsprites", images, factors, factor_names, max_images=max_images, seed=seed)
