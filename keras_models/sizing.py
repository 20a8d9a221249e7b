"""Batch size and epochs sized to the training set, by optimizer steps rather than epochs.

The reference trains 10 epochs at batch 1000 on 60,000 MNIST images: 600 optimizer
steps. The same 10 epochs on the 4,500-image offline set are only 50 steps at batch
1000, and the model learns a grey blur. What a model learns follows the number of
steps and the images they see, so the default asks for both:

- batch: the largest of ``BATCH_SIZES`` that still gives at least
  ``MIN_STEPS_PER_EPOCH`` steps an epoch (1000 for MNIST, 100 for 4,500 images);
- epochs: enough for ``MIN_STEPS`` steps and ``MIN_IMAGES_SEEN`` images, between 1
  and ``MAX_AUTO_EPOCHS``.

Measured on the offline set at batch 100 (test NELBO on the real MNIST test set, β = 1):
600 steps (14 epochs) 127.2 nats, 900 steps (20 epochs) 122.5, 1,350 steps (30 epochs)
118.9. 600 steps alone missed 30 epochs by more than 8 nats; 90,000 images seen
(900 steps) is within 4.5. On full MNIST the rule gives the reference's own choice,
and on the 663,552 training images of ``shapes`` one epoch of 664 steps.

No TensorFlow here: the window and the command line size a run before it loads.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Iterable

from keras_models.schedules import epochs_text

if TYPE_CHECKING:
    from keras_models.config import TrainConfig

BATCH_SIZES = (1000, 500, 200, 100, 50, 20, 10)
MIN_STEPS_PER_EPOCH = 45
MIN_STEPS = 600
MIN_IMAGES_SEEN = 90_000
MAX_AUTO_EPOCHS = 100


@dataclasses.dataclass(frozen=True)
class TrainingSize:
    """A batch size and epoch count, the optimizer steps they make, and the one line that says why."""

    batch_size: int
    epochs: int
    steps: int
    reason: str


def _epochs_for(batch_size: int, train_images: int) -> int:
    per_epoch = math.ceil(train_images / batch_size)
    epochs = max(math.ceil(MIN_STEPS / per_epoch), math.ceil(MIN_IMAGES_SEEN / train_images))
    return min(max(epochs, 1), MAX_AUTO_EPOCHS)


def _size(batch_size: int, epochs: int, train_images: int, batch_note: str = "", epochs_note: str = "") -> TrainingSize:
    steps = epochs * math.ceil(train_images / batch_size)
    return TrainingSize(batch_size, epochs, steps,
                        f"batch {batch_size:,}{batch_note}, {epochs_text(epochs)}{epochs_note}: "
                        f"{steps:,} steps over {train_images:,} training image{'s' if train_images != 1 else ''}")


def default_training_size(train_images: int) -> TrainingSize:
    """The default batch size and epochs for a training set of ``train_images`` images."""
    if isinstance(train_images, bool) or not isinstance(train_images, int) or train_images < 1:
        raise ValueError(f"training images must be a whole number >= 1, got {train_images!r}")
    fitting = [b for b in BATCH_SIZES if train_images / b >= MIN_STEPS_PER_EPOCH]
    batch = fitting[0] if fitting else min(BATCH_SIZES[-1], train_images)
    return _size(batch, _epochs_for(batch, train_images), train_images)


def resolve_training_size(batch_size: int | None, epochs: int | None, train_images: int) -> TrainingSize | None:
    """The size to train with when ``batch_size`` or ``epochs`` is None ("auto"): the missing
    one(s) chosen by the rule, a given one kept. None when both were given."""
    if batch_size is not None and epochs is not None:
        return None
    if batch_size is None and epochs is None:
        return default_training_size(train_images)
    if batch_size is None:
        return _size(default_training_size(train_images).batch_size, epochs, train_images, " (chosen)", " (given)")
    return _size(batch_size, _epochs_for(batch_size, train_images), train_images, " (given)", " (chosen)")


def apply_training_size(config: "TrainConfig", train_images: int) -> TrainingSize | None:
    """Fill ``config``'s batch size and epochs where they are None ("auto") for a training set
    of ``train_images`` images, and check it again; the size chosen, or None when both were given.
    ConfigError, leaving ``config`` as it was, when what depends on the epochs does not fit them."""
    size = resolve_training_size(config.batch_size, config.epochs, train_images)
    if size is not None:
        check_sized(config, size, train_images)
        config.batch_size, config.epochs = size.batch_size, size.epochs
        config.validate()  # passes now; it settles what follows the epochs (the KL cycles' span)
    return size


def check_sized(config: "TrainConfig", size: TrainingSize, train_images: int) -> None:
    """Validate ``config`` as it will train with ``size``, on a copy. An error about epochs nobody
    typed ("warm-up must be at most 20") names where they came from and how to give more."""
    from keras_models.config import ConfigError

    sized = dataclasses.replace(config, batch_size=size.batch_size, epochs=size.epochs)
    try:
        sized.validate()  # what depends on the epochs (a KL schedule's span) is settled now
    except ConfigError as exc:
        if config.epochs is not None:
            raise
        raise ConfigError(f"{exc} (auto sized the epochs to {size.epochs:,} for {train_images:,} training "
                          f"images: set the epochs to train longer)") from None


def check_sized_all(configs: "Iterable[TrainConfig]", train_images: int) -> None:
    """``check_sized`` for each of ``configs`` (a study's trials, each with its own schedule) at
    the size auto will choose: one trial that cannot train is refused before any trains."""
    for config in configs:
        size = resolve_training_size(config.batch_size, config.epochs, train_images)
        if size is not None:
            check_sized(config, size, train_images)


# Training images of the named sets, for what the window shows before a set is loaded. The
# tensorflow-datasets sets fall back to the offline set (or shapes) when they cannot download.
KNOWN_TRAINING_IMAGES = {"mnist": 60_000, "fashion_mnist": 60_000, "mnist-5k": 4_500, "shapes": 663_552,
                         "dsprites": 663_552}
OFFLINE_FALLBACK = {"mnist": "mnist-5k", "fashion_mnist": "mnist-5k"}


def _auto_choice(size: TrainingSize, batch_size: int | None, epochs: int | None) -> str:
    """The part of ``size`` that auto chose: a given batch size or epoch count is the user's, not
    auto's, and saying auto picked another would be false."""
    parts = ([f"batch {size.batch_size:,}"] if batch_size is None else []) + \
        ([epochs_text(size.epochs)] if epochs is None else [])
    return ", ".join(parts)


def expected_size_text(dataset: str, batch_size: int | None = None, epochs: int | None = None) -> str:
    """What "auto" will choose for a named data set, in one line (and for its offline stand-in),
    around a batch size or epoch count already given; for a set of unknown size, that it is
    chosen once the set is loaded."""
    images = KNOWN_TRAINING_IMAGES.get(dataset)
    if images is None:
        return "auto: sized to the training set once it is loaded"
    size = resolve_training_size(batch_size, epochs, images)
    if size is None:  # both given: nothing is left to auto
        return ""
    given = f" at batch {batch_size:,}" if batch_size is not None else ""
    text = f"auto: {_auto_choice(size, batch_size, epochs)} for {images:,} images{given}"
    fallback = OFFLINE_FALLBACK.get(dataset)
    if fallback is not None:
        offline = resolve_training_size(batch_size, epochs, KNOWN_TRAINING_IMAGES[fallback])
        text += f" (offline, {fallback}: {_auto_choice(offline, batch_size, epochs)})"
    return text
