"""Shared test set-up: headless Qt and matplotlib, quiet TensorFlow, small data sets."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


def make_digits(n: int, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic 'digits': class c is a bright bar at a class-specific row, plus noise.

    Learnable in a few hundred steps, so tests can check that a model learns.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype("int32")
    images = rng.uniform(0.0, 0.1, (n, size, size, 1)).astype("float32")
    for i, c in enumerate(labels):
        row = 3 + 2 * int(c)
        images[i, row:row + 3, 4:24, 0] = rng.uniform(0.8, 1.0)
    return images, labels


@pytest.fixture
def tiny_split():
    """A DataSplit of 400 training and 100 validation synthetic images."""
    from keras_models.data import DataSplit

    train_x, train_y = make_digits(400, seed=1)
    val_x, val_y = make_digits(100, seed=2)
    return DataSplit("tiny", train_x, train_y, val_x, val_y)
