"""The Training tab: live loss curves, the KL of each latent dimension, reconstructions and samples."""
from __future__ import annotations

from typing import Callable

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from gui.image_panel import ImagePanel
from gui.kl_bars import KLBars
from gui.loss_plot import LossPlot
from keras_models.events import EpochDone


class TrainingTab(QWidget):
    """Shows the model being trained; it draws what it is sent and computes nothing."""

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = LossPlot(on_error)
        self.kl_bars = KLBars(on_error)
        self.reconstructions = ImagePanel("Reconstructions", "reconstructions", on_error)
        self.reconstructions.caption.setText("originals above, reconstructions below")
        self.samples = ImagePanel("Samples", "samples", on_error)
        self.samples.caption.setText("fixed prior codes, decoded every epoch")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.loss_plot, 3)
        top.addWidget(self.kl_bars, 1)
        images = QHBoxLayout()
        images.addWidget(self.reconstructions, 1)
        images.addWidget(self.samples, 1)
        layout.addLayout(top, 1)
        layout.addLayout(images, 1)

    def panels(self) -> list[QWidget]:
        """Every picture of the tab, for Save all."""
        return [self.loss_plot, self.kl_bars, self.reconstructions, self.samples]

    def show_epoch(self, event: EpochDone, conditional: bool) -> None:
        """Add the epoch's numbers to the curves and, when it brings them, draw its pictures."""
        record, pictures = event.record, event.pictures
        if "loss" in record:
            self.loss_plot.add_epoch(record)
        if pictures is None:
            return
        columns = "; column c has label c" if conditional else ""
        # One event each: together they kept the GUI thread busy for over 50 ms at every epoch's end.
        for update in (
            lambda: self.reconstructions.set_grid(pictures.reconstructions, "originals above, reconstructions below"),
            lambda: self.samples.set_grid(pictures.samples, f"fixed prior codes, epoch {int(record['epoch'])}{columns}"),
            lambda: self.kl_bars.set_values(pictures.kl_per_dim, pictures.active_units),
        ):
            QTimer.singleShot(0, update)
