"""Arrays to ``tf.data``: the only part of the data package that uses TensorFlow.

TensorFlow is imported inside the functions, not at the top: the registry
(``keras_models.data``) re-exports ``make_pipeline``, and importing the registry
must not load TensorFlow, which takes seconds that reading an IDX folder, the
offline set or the shapes set never needs.
"""
from __future__ import annotations

import numpy as np


def _to_tensor(array: np.ndarray, chunk_bytes: int = 16 << 20):
    """``tf.constant`` in slices: one big copy would hold Python's GIL for a few hundred
    milliseconds and freeze every other thread (the window) meanwhile."""
    import tensorflow as tf  # lazily: see the module docstring

    rows = max(1, chunk_bytes // max(array[:1].nbytes, 1))
    if len(array) <= rows:
        return tf.constant(array)
    return tf.concat([tf.constant(array[i:i + rows]) for i in range(0, len(array), rows)], axis=0)


def make_pipeline(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0):
    """A ``tf.data`` pipeline of (images, labels) batches, reshuffled each epoch when asked.

    Only indices are shuffled; each batch is one gather from the arrays held
    as tensors. One private data thread without autotuning: on a 2-core
    machine extra data threads steal a core from training (measured up to a
    third slower, in bursts).
    """
    import tensorflow as tf  # lazily: see the module docstring

    images_t, labels_t = _to_tensor(images), tf.constant(labels)
    ds = tf.data.Dataset.range(len(images))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda idx: (tf.gather(images_t, idx), tf.gather(labels_t, idx)))
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return ds.with_options(options)
