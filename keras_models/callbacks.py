"""The one Keras callback that ends ``fit`` when a job is asked to stop."""
from __future__ import annotations

import keras

from keras_models.events import JobState, check_stop


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
