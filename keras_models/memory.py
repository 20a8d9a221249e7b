"""What TensorFlow keeps, process-wide, of every model trained, and how training lets go of it.

A process that trained one model after another kept about 20 MB of each for
good: the β study and the window grew by that much per model. The model
itself was freed; its train-step graph was not. The chain that held it:

- Keras's TensorFlow optimizer sums the gradients across replicas
  (``replica_context.all_reduce``) in every traced train step, one replica or
  many, and that sum is a ``tf.custom_gradient``.
- In graph mode ``tf.custom_gradient`` registers its gradient function in
  TensorFlow's global gradient registry under a fresh name
  (``CustomGradient-<uid>``) and never removes it; the function's closure holds
  tensors of the graph being traced, hence the graph, its ops and its nested
  cond-branch graphs (~50 graphs, ~20 MB a model). TensorFlow bug
  tensorflow/tensorflow#97697, still present in TensorFlow 2.21.
  ``keras.backend.clear_session()`` does not touch that registry.

``gradients_released`` removes, when its block ends, the registry entries that
traces inside the block added. That is safe because an entry is only read while
TensorFlow builds the gradient of the graph op that names it: inside the trace
that made it (``tape.gradient`` in the train step), or when a traced function is
differentiated from outside, which nothing does with a train or test step.
Running a traced function never reads the registry.

The other per-model cost, ~0.8 MB of kernels TensorFlow's eager context caches
for each model's traced functions, needs nothing here: ``keras.utils.set_random_seed``,
which every training session calls first, clears that cache.

TensorFlow runs on one thread at a time in this tool (the window's worker, or
the main thread headless). A trace on another thread that registered a custom
gradient during the block and had not yet built its gradient would lose it.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

# The prefix tf.custom_gradient gives the names it registers (custom_gradient.generate_name).
CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict | None:
    """TensorFlow's name -> gradient function table, or None if a TensorFlow version moved it
    (then nothing is released and the leak this module fixes comes back; tests say so)."""
    from tensorflow.python.framework import ops  # lazily: only a training needs TensorFlow

    table = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return table if isinstance(table, dict) else None


def custom_gradient_names() -> set[str]:
    """The custom-gradient names registered now."""
    table = _gradient_registry()
    return {name for name in (table or ()) if name.startswith(CUSTOM_GRADIENT_PREFIX)}


@contextlib.contextmanager
def gradients_released() -> Iterator[None]:
    """Drop, when the block ends (normally or not), the custom gradients its traces registered.

    Wrap a ``fit``: once it returns, its train and test steps are traced and will
    not be differentiated again, so their registry entries only keep their graphs alive.
    """
    before = custom_gradient_names()
    try:
        yield
    finally:
        table = _gradient_registry()
        if table is not None:
            for name in custom_gradient_names() - before:
                table.pop(name, None)
