"""A few seconds of timed work that tell ``keras_models.study.estimate`` how fast this machine
trains, measures the IWAE bound and trains the evaluation classifier; cached per machine."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from keras_models.config import TrainConfig
from keras_models.events import JobState, ProgressMeter
from keras_models.study.estimate import Throughput, cached_throughput, probe_key, save_throughput

# Each figure is the median time of several units (a training batch, a decoder call) after a
# few untimed ones (graph tracing): other jobs on the machine slow some units down, and a figure
# taken in a busy moment would stay in the cache. One ``fit`` each, as its per-call cost is large.
WARM_UP = 3
TRAIN_STEPS = 12
IWAE_IMAGES, IWAE_K, IWAE_CALLS = 8, 500, 6
CLASSIFIER_BATCH, CLASSIFIER_STEPS = 128, 12
# It takes ~20 s under load, most of it tracing graphs: long enough to look hung without a bar.
PROBE_STAGE = "measuring this machine's speed for the estimate (the first time only)"


def _fit_median_batch_s(model, images: np.ndarray, labels: np.ndarray, batch: int) -> float:
    """One epoch of ``model.fit`` over the images; the median seconds per batch after the warm-up.
    Keras reports once per compiled call, which trains ``steps_per_execution`` batches."""
    import keras

    from keras_models.data import make_pipeline

    ends: list[float] = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(make_pipeline(images, labels, batch, shuffle=False), epochs=1, verbose=0, shuffle=False,
              callbacks=[clock])
    return max(float(np.median(np.diff(ends[WARM_UP:]))) / model.steps_per_execution, 1e-6)


def measure_throughput(config: TrainConfig, image_shape: tuple[int, ...],
                       state: JobState | None = None) -> Throughput:
    """Time a few units of each kind of work for a study of ``config`` (its batch size, network
    and precision), on random binary images; the three kinds are reported on ``state``."""
    import keras
    import tensorflow as tf

    from keras_models import classifier as digit_classifier
    from keras_models.evaluation import _chunk_function
    from keras_models.models import build_model

    meter = ProgressMeter(state, PROBE_STAGE, 3)
    rng = np.random.default_rng(0)
    batch = config.batch_size
    model = build_model(dataclasses.replace(config, model="vae", beta=1.0), image_shape)
    n = (WARM_UP + TRAIN_STEPS + 1) * batch * model.steps_per_execution
    images = (rng.random((n, *image_shape), dtype="float32") < 0.2).astype("float32")
    labels = rng.integers(0, 10, n).astype("int32")
    train_s = _fit_median_batch_s(model, images, labels, batch)
    meter.advance()

    chunk_terms = _chunk_function(model)
    x, y = tf.constant(images[:IWAE_IMAGES]), tf.zeros([IWAE_IMAGES], tf.int32)
    calls = []
    for call in range(WARM_UP + IWAE_CALLS):
        start = time.perf_counter()
        chunk_terms(x, y, tf.constant(IWAE_IMAGES, tf.int32), tf.constant(IWAE_K, tf.int32),
                    tf.constant([0, call], tf.int32))[0].numpy()
        calls.append(time.perf_counter() - start)
    iwae_s = max(float(np.median(calls[WARM_UP:])), 1e-6)
    meter.advance()

    network = digit_classifier.build_classifier(image_shape)
    network.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    few = (WARM_UP + CLASSIFIER_STEPS + 1) * CLASSIFIER_BATCH
    classifier_s = _fit_median_batch_s(network, np.resize(images, (few, *image_shape)), np.resize(labels, few),
                                       CLASSIFIER_BATCH)
    meter.finish()
    return Throughput(batch / train_s, IWAE_IMAGES * IWAE_K / iwae_s, CLASSIFIER_BATCH / classifier_s)


def machine_throughput(config: TrainConfig, image_shape: tuple[int, ...],
                       state: JobState | None = None) -> Throughput:
    """The cached figures for this machine and these settings, measured (and cached) the first
    time, with its progress on ``state``."""
    key = probe_key(config.batch_size, config.arch, config.latent_dim, tuple(image_shape), config.precision)
    speed = cached_throughput(key)
    if speed is None:
        speed = measure_throughput(config, tuple(image_shape), state)
        save_throughput(key, speed)
    return speed
