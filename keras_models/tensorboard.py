"""TensorBoard logs of a run, in ``RUN_DIR/tensorboard``: ``tensorboard --logdir RUN_DIR`` shows them.

Keras' own callback writes the per-epoch scalars (loss, rec, kl, nelbo, train under
``train/`` and validation under ``validation/``); this one adds the two preview grids
the window shows (reconstructions and prior samples) as images under ``pictures/``.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_models.views import preview_grids

TENSORBOARD_DIR = "tensorboard"
PICTURE_TAGS = ("reconstructions", "samples")


class RunTensorBoard(keras.callbacks.TensorBoard):
    """Scalars and preview grids once per epoch, numbered from 1 as metrics.csv numbers epochs.

    ``close()`` must follow ``fit`` however it ended: a Stop leaves ``fit`` by an exception,
    before ``on_train_end`` closes Keras' writers, which would leave the event files open and
    their last epochs unwritten.
    """

    def __init__(self, run_dir: str | Path, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
        log_dir = Path(run_dir) / TENSORBOARD_DIR
        super().__init__(log_dir=str(log_dir), histogram_freq=0, write_graph=False, update_freq="epoch",
                         profile_batch=0)
        self.images, self.labels, self.seed = images, labels, seed
        self.pictures_writer = tf.summary.create_file_writer(str(log_dir / "pictures"))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch + 1, logs)
        reconstructions, samples = preview_grids(self.model, self.images, self.labels, self.seed)
        with self.pictures_writer.as_default():
            for tag, grid in zip(PICTURE_TAGS, (reconstructions, samples)):
                tf.summary.image(tag, grid[None, :, :, None], step=epoch + 1)

    def close(self) -> None:
        # Closing twice is harmless, so this need not know whether on_train_end ran.
        self._close_writers()
        self.pictures_writer.close()
