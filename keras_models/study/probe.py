"""A few seconds of timed work that tell ``keras_models.study.estimate`` how fast this machine
trains, measures the IWAE bound and trains the evaluation classifier; cached per machine."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from keras_models.config import TrainConfig
from keras_models.study.estimate import Throughput, cached_throughput, probe_key, save_throughput

# Work per timed part, after one untimed warm-up (graph tracing): enough to be past the per-call
# overheads, little enough that the whole probe takes a few seconds on two cores.
TRAIN_IMAGES = 8_000
IWAE_IMAGES, IWAE_K = 40, 500
CLASSIFIER_IMAGES = 1_280


def _timed(work) -> float:
    work()  # warm-up: traces the graphs
    start = time.perf_counter()
    work()
    return max(time.perf_counter() - start, 1e-6)


def measure_throughput(config: TrainConfig, image_shape: tuple[int, ...]) -> Throughput:
    """Time a few steps of each kind of work for a study of ``config`` (its batch size, network
    and precision), on random binary images."""
    import keras

    from keras_models import classifier as digit_classifier
    from keras_models.data import make_pipeline
    from keras_models.evaluation import likelihood_bounds
    from keras_models.models import build_model

    rng = np.random.default_rng(0)
    batch = min(config.batch_size, TRAIN_IMAGES)
    n = max(TRAIN_IMAGES // batch, 2) * batch
    images = (rng.random((n, *image_shape)) < 0.2).astype("float32")
    labels = rng.integers(0, 10, n).astype("int32")
    model = build_model(dataclasses.replace(config, model="vae", beta=1.0), image_shape)
    batches = make_pipeline(images, labels, batch, shuffle=False)
    train_s = _timed(lambda: model.fit(batches, epochs=1, verbose=0, shuffle=False))
    iwae_s = _timed(lambda: likelihood_bounds(model, images[:IWAE_IMAGES], k=IWAE_K))
    network = digit_classifier.build_classifier(image_shape)
    network.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    few = make_pipeline(images[:CLASSIFIER_IMAGES], labels[:CLASSIFIER_IMAGES], 128, shuffle=False)
    classifier_s = _timed(lambda: network.fit(few, epochs=1, verbose=0, shuffle=False))
    return Throughput(n / train_s, IWAE_IMAGES * IWAE_K / iwae_s, CLASSIFIER_IMAGES / classifier_s)


def machine_throughput(config: TrainConfig, image_shape: tuple[int, ...]) -> Throughput:
    """The cached figures for this machine and these settings, measured (and cached) the first time."""
    key = probe_key(config.batch_size, config.arch, config.latent_dim, tuple(image_shape), config.precision)
    speed = cached_throughput(key)
    if speed is None:
        speed = measure_throughput(config, tuple(image_shape))
        save_throughput(key, speed)
    return speed
