"""Keras callbacks for jobs: one ends ``fit`` when a job is asked to stop, one reports its batches."""
from __future__ import annotations

import keras

from keras_models.events import JobState, ProgressMeter, check_stop


def batches_done(batch: int, steps: int) -> int:
    """Batches of an epoch of ``steps`` done when Keras's ``on_train_batch_end`` says ``batch``.

    Keras calls it once per compiled execution, which may train several batches, and passes the
    index the execution would end on, even where the epoch's data ran out before it.
    """
    return min(batch + 1, steps)


class StopOnRequest(keras.callbacks.Callback):
    """Raises ``Stopped`` out of ``fit`` after the batch in progress when ``state`` asks to stop.

    Raising leaves ``fit`` at once; ``model.stop_training`` would finish the
    epoch and run a whole validation pass first.
    """

    def __init__(self, state: JobState | None) -> None:
        super().__init__()
        self.state = state

    def on_train_batch_end(self, batch, logs=None) -> None:
        check_stop(self.state)


class ReportBatches(keras.callbacks.Callback):
    """Reports ``StageProgress`` for a ``fit`` of ``epochs`` × ``steps`` batches under ``stage``."""

    def __init__(self, state: JobState | None, stage: str, epochs: int, steps: int) -> None:
        super().__init__()
        self.meter = ProgressMeter(state, stage, epochs * steps)
        self.steps = steps
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.meter.update(self.epoch * self.steps + batches_done(batch, self.steps))

    def on_train_end(self, logs=None) -> None:
        self.meter.finish()
