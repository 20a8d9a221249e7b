"""The KL bar chart: how much each latent dimension is used.

The chart is handed the values it shows; it never computes model output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QSizePolicy, QWidget

from gui.figure_panel import FigurePanel
from gui.live_canvas import Limits, LiveCanvas
# The bars take the train curve's colour: both describe the model as it trains.
from gui.loss_plot import TRAIN_COLOUR
from keras_models.images import save_figure


def style_kl_axes(ax: Axes) -> None:
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))


def kl_limits(kl: np.ndarray, top: float) -> Limits:
    """Keep the y limit while the tallest bar fills 40-100% of it, so most epochs only re-blit the bars."""
    finite = kl[np.isfinite(kl)]
    peak = float(finite.max()) if finite.size else 0.0
    if peak > top or peak < 0.4 * top:
        top = max(peak * 1.3, 0.05)
    return (-0.6, len(kl) - 0.4), (0.0, top)


class KLCanvas(LiveCanvas):
    def __init__(self) -> None:
        super().__init__(style_kl_axes, figsize=(3.2, 2.6))
        self.bars = None

    def show_values(self, kl: np.ndarray) -> None:
        if self.bars is None or len(self.bars) != len(kl):
            if self.bars is not None:
                self.bars.remove()
            self.bars = self.ax.bar(range(len(kl)), kl, color=TRAIN_COLOUR)
            self.set_data_artists(self.bars)
        else:
            for bar, value in zip(self.bars, kl):
                bar.set_height(value)
        self.refresh(kl_limits(kl, self.target_limits[1][1]))


class KLBars(FigurePanel):
    """Mean KL of each latent dimension: which units the model actually uses."""

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__("KL per latent dimension", "kl_per_dimension", on_error, canvas=KLCanvas(), parent=parent)
        self.summary = QLabel("")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.layout().insertWidget(1, self.summary)
        self.save_button.setEnabled(False)
        self.values: np.ndarray | None = None

    def set_values(self, kl: np.ndarray, active_units: int) -> None:
        self.values = np.asarray(kl, dtype=float)
        self.canvas.show_values(self.values)
        self.save_button.setEnabled(True)
        if active_units == 0:
            # Posterior collapse: the decoder has learnt to ignore z altogether.
            self.summary.setText("posterior collapse: no active unit")
            self.summary.setStyleSheet("color: #b00020; font-weight: bold;")
        else:
            self.summary.setText(f"{active_units} of {len(kl)} active units")
            self.summary.setStyleSheet("")
        self.summary.setToolTip("Bars: the mean KL of each latent dimension over 500 validation images. "
                                "Active units: dimensions whose posterior mean varies across those images "
                                "(variance above 0.01), counted as Evaluate and the β study count them")

    def has_content(self) -> bool:
        return self.values is not None

    def save_to(self, path: str | Path) -> Path:
        """Render the bars into a fresh figure: the live one stays untouched."""
        if self.values is None:
            raise ValueError(f"{self.file_stem}: nothing to save yet")
        figure = Figure(figsize=(4.8, 3.2), layout="constrained")
        ax = figure.add_subplot(1, 1, 1)
        style_kl_axes(ax)
        ax.bar(range(len(self.values)), self.values, color=TRAIN_COLOUR)
        ax.set_xlabel("latent dimension", fontsize=8)
        ax.set_ylabel("mean KL (nats)", fontsize=8)
        return save_figure(figure, path)
