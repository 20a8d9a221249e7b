"""A small CNN that tells the classes of an MNIST-like data set apart.

The β study uses it to judge generated digits: its penultimate-layer features
give the Fréchet distance between samples and test images, and its predictions
say whether a CVAE drew the class it was asked for. The tool trains it on the
training split of the data set being studied (a pretrained network would need
a download) and caches it under the user's cache folder, so later evaluations
load it in a second. No Qt, no network.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from keras_models.callbacks import ReportBatches, StopOnRequest
from keras_models.events import JobState
from keras_models.data import DataSplit, make_pipeline
from keras_models.files import atomic_path, cache_home, write_text_atomic
from keras_models.memory import gradients_released
from keras_models.models import NUM_CLASSES

FEATURE_LAYER = "features"
# Training sees at least this many images: a small training split (the 4,500-image
# offline set) gets more epochs, enough steps to reach 97% on MNIST (9 epochs, 11 s).
MIN_IMAGES_SEEN = 40_000
# And at most this many: two epochs of MNIST. Two epochs of the 663,552 shapes training
# images took 11 minutes here; telling three shapes apart needs far fewer.
MAX_IMAGES_SEEN = 120_000


@dataclasses.dataclass
class TrainedClassifier:
    """The network and what it was measured on, so reports can say how far to trust it."""

    model: keras.Model
    dataset: str
    test_accuracy: float  # on the data set's validation (test) split


def build_classifier(image_shape: tuple[int, ...] = (28, 28, 1), seed: int = 0) -> keras.Model:
    """Two 3×3 convolutions with max-pooling, a 128-unit feature layer, 10 logits.

    Each layer gets its own seeded initialiser, so training is repeatable
    without touching the global random state of the caller.
    """
    def init(i: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed + i)

    inputs = keras.Input(shape=image_shape, name="image")
    h = layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(0))(inputs)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Conv2D(64, 3, activation="relu", kernel_initializer=init(1))(h)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu", kernel_initializer=init(2), name=FEATURE_LAYER)(h)
    logits = layers.Dense(NUM_CLASSES, kernel_initializer=init(3), name="logits")(h)
    return keras.Model(inputs, logits, name="digit_classifier")


def _batched(network: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Run ``network`` on ``images`` in batches; a direct call avoids ``predict``'s
    per-model tracing, which would repeat for every freshly built feature network."""
    images = np.asarray(images, dtype="float32")
    return np.concatenate([ops.convert_to_numpy(network(images[i:i + batch_size], training=False))
                           for i in range(0, len(images), batch_size)])


def features(classifier: TrainedClassifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Penultimate-layer activations ``(n, 128)`` for images ``(n, 28, 28, 1)`` in [0, 1]."""
    model = classifier.model
    feature_network = keras.Model(model.input, model.get_layer(FEATURE_LAYER).output)
    return _batched(feature_network, images, batch_size)


def predict(classifier: TrainedClassifier, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The most likely class of each image, as int32 ``(n,)``."""
    return _batched(classifier.model, images, batch_size).argmax(axis=1).astype("int32")


def default_epochs(n_train: int) -> int:
    """Two epochs, or more when the training split is small (see ``MIN_IMAGES_SEEN``)."""
    return max(2, -(-MIN_IMAGES_SEEN // max(n_train, 1)))


def training_images(n_train: int) -> int:
    """How many images the classifier trains on (each epoch): all of them, or a seeded subset of
    a training split so large that its default epochs would pass ``MAX_IMAGES_SEEN``."""
    return min(n_train, MAX_IMAGES_SEEN // default_epochs(n_train))


def train_classifier(data: DataSplit, epochs: int | None = None, seed: int = 0, batch_size: int = 128,
                     state: JobState | None = None) -> TrainedClassifier:
    """Train on ``data``'s training split and measure accuracy on its validation split.

    A stop requested on ``state`` raises ``Stopped`` after the batch in progress.
    """
    epochs = default_epochs(len(data.train_x)) if epochs is None else epochs
    model = build_classifier(data.image_shape, seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.optimizer.build(model.trainable_variables)  # as in models.build_model: one trace, not two
    n = training_images(len(data.train_x))
    # A seeded random subset when the split is larger than needed: the shapes set is ordered by factor.
    chosen = np.sort(np.random.default_rng(seed).permutation(len(data.train_x))[:n]) if n < len(data.train_x) \
        else slice(None)
    batches = make_pipeline(data.train_x[chosen], data.train_y[chosen], batch_size, shuffle=True, seed=seed)
    progress = ReportBatches(state, "training the evaluation classifier", epochs, -(-n // batch_size))
    # The pipeline does the shuffling. Released: the train step's graph must not outlive the model.
    with gradients_released():
        model.fit(batches, epochs=epochs, shuffle=False, verbose=0, callbacks=[StopOnRequest(state), progress])
    predicted = _batched(model, data.val_x, batch_size=1000).argmax(axis=1)
    return TrainedClassifier(model, data.name, test_accuracy=float(np.mean(predicted == data.val_y)))


# ----- cache --------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    return cache_home("classifiers")


def file_safe(name: str) -> str:
    """``idx:/data/my set`` -> ``idx__data_my_set``: only letters, digits, '.', '_' and '-'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "dataset"


def data_fingerprint(data: DataSplit) -> str:
    """A hash of every image and label, so a cached classifier is only reused for the
    very data it was trained and tested on (``idx:`` folders can change, and two
    names can map to the same file-safe name)."""
    digest = hashlib.sha256()
    for array in (data.train_x, data.train_y, data.val_x, data.val_y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def load_or_train_classifier(data: DataSplit, cache_dir: str | Path | None = None, epochs: int | None = None,
                             seed: int = 0, state: JobState | None = None) -> TrainedClassifier:
    """The classifier for ``data``, from the cache when one was trained on the same
    data, otherwise trained now and cached (model and a JSON of its test accuracy).

    A cache entry that cannot be read is replaced, as it can always be rebuilt.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    model_path = folder / f"{file_safe(data.name)}.keras"
    info_path = model_path.with_suffix(".json")
    fingerprint = data_fingerprint(data)
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("fingerprint") == fingerprint:
            model = keras.models.load_model(model_path, compile=False)
            return TrainedClassifier(model, data.name, float(info["test_accuracy"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        pass  # missing or unreadable: train below
    classifier = train_classifier(data, epochs=epochs, seed=seed, state=state)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_path) as tmp:
        classifier.model.save(tmp)
    # Written after the model, so an entry with a JSON always has its model.
    write_text_atomic(info_path, json.dumps({
        "dataset": data.name, "test_accuracy": classifier.test_accuracy, "fingerprint": fingerprint,
        "train_images": len(data.train_x), "test_images": len(data.val_x), "seed": seed,
        "keras": keras.__version__,
    }, indent=2) + "\n")
    return classifier
