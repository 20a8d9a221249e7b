"""How a model's work is cut up for the CPU: batches per compiled call, slices per batch,
and the compiled loop that runs several batches per call.

Keras's own multi-batch loop runs each batch's step inside a conditional on whether
the data has one more batch, on top of the loop's own condition; TensorFlow then
runs the step as a branch, which on a 2-core AVX2 CPU cost about 5% of a batch-128
training step. ``multi_batch_function``'s loop stops at the end of the data by its
condition alone and runs the step unconditionally in its body.
"""
from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf

from keras_models import threads

# Batches one compiled call trains before returning to Python: about this many images, at most
# MAX_STEPS_PER_EXECUTION batches. Each return costs about a millisecond of Python and
# scheduling: on an AVX2 CPU, 4 batches of 1000 a call trained 8% faster than one, and 32
# batches of 128 about 12% faster than 8. A stop still comes within a fraction of a second.
IMAGES_PER_EXECUTION = 4096
MAX_STEPS_PER_EXECUTION = 32


def steps_per_execution(batch_size: int) -> int:
    return max(1, min(MAX_STEPS_PER_EXECUTION, IMAGES_PER_EXECUTION // batch_size))


def slice_sizes(count, slices: int):
    """``count`` (a scalar tensor) split into ``slices`` sizes: equal ones, the remainder in the last."""
    return tf.concat([tf.fill([slices - 1], count // slices), [count - (slices - 1) * (count // slices)]], 0)


def batch_slices() -> int:
    """Independent slices of each training batch (see ``VAE.elbo_terms``) and of each IWAE
    decoder call: one per core TensorFlow may run operations on at once
    (``keras_models.threads``); 1 where it runs one at a time (a one-CPU Ray trial, say)."""
    inter_op = (tf.config.threading.get_inter_op_parallelism_threads()
                or threads.thread_count_from_environment("TF_NUM_INTEROP_THREADS"))
    return threads.slice_count(threads.usable_cores(), inter_op)


def multi_batch_function(step: Callable[[Any], dict], batches: int, keras_function: Callable,
                         log_names: tuple[str, ...]) -> Callable:
    """A model's ``train_function``/``test_function``: up to ``batches`` batches of a ``tf.data``
    iterator through ``step`` per call, returning the last batch's logs (``log_names``, float32
    scalars) and raising StopIteration when the data has none left. Anything else Keras passes
    (a Python iterator of batches, from ``train_on_batch``) goes to ``keras_function``, Keras's own."""
    @tf.function(reduce_retracing=True)
    def batches_on_iterator(iterator):
        def more(done, logs, next_batch):
            return tf.logical_and(done < batches, next_batch.has_value())

        def one_batch(done, logs, next_batch):
            logs = {name: tf.cast(value, tf.float32) for name, value in step(next_batch.get_value()).items()}
            done += 1
            # Fetch only while this call still has batches to run: the next call starts there.
            next_batch = tf.cond(done < batches, iterator.get_next_as_optional, lambda: next_batch)
            return done, logs, next_batch

        start = {name: tf.constant(0.0) for name in log_names}
        done, logs, _ = tf.while_loop(more, one_batch, [tf.constant(0), start, iterator.get_next_as_optional()])
        return done, logs

    def function(iterator):
        if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
            return keras_function(iterator)
        done, logs = batches_on_iterator(iterator)
        if int(done) == 0:
            raise StopIteration
        return logs

    return function
