"""Reusable widgets: an image grid with Save…, the live loss plot, the KL bar chart.

Each widget is handed the arrays or numbers it shows; none of them computes
model output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                             QWidget)

from keras_models.files import atomic_path

TERMS = (("rec", "Reconstruction −log p(x|z)"), ("kl", "KL(q(z|x) ‖ p(z))"), ("nelbo", "NELBO and β-weighted loss"))
TRAIN_COLOUR, VAL_COLOUR, BATCH_COLOUR = "#1f77b4", "#d62728", "#9ecae1"


def grid_to_pixels(grid: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(grid, 0.0, 1.0) * 255.0 + 0.5).astype("uint8"))


def pixmap_from_grid(grid: np.ndarray) -> QPixmap:
    pixels = grid_to_pixels(grid)
    image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())  # copy: QImage does not own the numpy buffer


def ask_png_path(parent: QWidget, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save as PNG", suggested, "PNG images (*.png)")
    if path and not path.lower().endswith(".png"):
        path += ".png"
    return path


class ScaledImage(QLabel):
    """Shows a pixmap at the largest whole-number zoom that fits, so pixels stay square and sharp."""

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.source: QPixmap | None = None

    def set_source(self, pixmap: QPixmap) -> None:
        self.source = pixmap
        self._rescale()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.source is None:
            return
        zoom = max(1, min(self.width() // self.source.width(), self.height() // self.source.height()))
        self.setPixmap(self.source.scaled(self.source.width() * zoom, self.source.height() * zoom,
                                          Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class ImagePanel(QWidget):
    """A titled image grid, scaled to fit with crisp pixels, with its own Save… button."""

    def __init__(self, title: str, file_stem: str, on_error: Callable[[str], None], parent=None) -> None:
        super().__init__(parent)
        self.file_stem = file_stem
        self.grid: np.ndarray | None = None
        self._on_error = on_error
        self.title = QLabel(f"<b>{title}</b>")
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: palette(mid);")
        self.image = ScaledImage("Nothing to show yet: train a model or open a run.")
        self.save_button = QPushButton("Save…")
        self.save_button.setEnabled(False)
        self.save_button.setToolTip("Save this grid as a PNG file")
        self.save_button.clicked.connect(self._save_clicked)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.caption, 1)
        header.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(self.image, 1)

    def set_grid(self, grid: np.ndarray, caption: str | None = None) -> None:
        self.grid = grid
        if caption is not None:
            self.caption.setText(caption)
        self.save_button.setEnabled(True)
        self.image.set_source(pixmap_from_grid(grid))

    def save_to(self, path: str | Path) -> Path:
        from keras_models.grids import save_png

        if self.grid is None:
            raise ValueError(f"{self.file_stem}: nothing to save yet")
        return save_png(self.grid, path)

    def _save_clicked(self) -> None:
        path = ask_png_path(self, f"{self.file_stem}.png")
        if path:
            try:
                self.save_to(path)
            except OSError as exc:
                self._on_error(f"cannot save {path}: {exc.strerror or exc}")


class FigurePanel(QWidget):
    """A matplotlib Figure on a Qt canvas (no pyplot) with a Save… button."""

    def __init__(self, title: str, file_stem: str, on_error: Callable[[str], None],
                 figsize=(7.5, 2.6), parent=None) -> None:
        super().__init__(parent)
        self.file_stem = file_stem
        self._on_error = on_error
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(150)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save this plot as a PNG file")
        self.save_button.clicked.connect(self._save_clicked)
        header = QHBoxLayout()
        header.addWidget(QLabel(f"<b>{title}</b>"), 1)
        header.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(self.canvas, 1)

    def save_to(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp:
            self.figure.savefig(tmp, dpi=120, format="png")
        return path

    def _save_clicked(self) -> None:
        path = ask_png_path(self, f"{self.file_stem}.png")
        if path:
            try:
                self.save_to(path)
            except OSError as exc:
                self._on_error(f"cannot save {path}: {exc.strerror or exc}")


class LossPlot(FigurePanel):
    """Reconstruction, KL and NELBO over epochs; train and validation.

    Lines are created once and updated with ``set_data``; the train curve also
    gets a point every few batches.
    """

    def __init__(self, on_error: Callable[[str], None], parent=None) -> None:
        super().__init__("Losses (nats per image)", "losses", on_error, parent=parent)
        self.axes = {}
        self.lines = {}
        for i, (term, label) in enumerate(TERMS):
            ax = self.figure.add_subplot(1, 3, i + 1)
            ax.set_title(label, fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            self.axes[term] = ax
            self.lines[f"batch_{term}"], = ax.plot([], [], color=BATCH_COLOUR, lw=1, label="train (running)")
            self.lines[term], = ax.plot([], [], "o-", color=TRAIN_COLOUR, ms=3, lw=1.5, label="train")
            self.lines[f"val_{term}"], = ax.plot([], [], "s--", color=VAL_COLOUR, ms=3, lw=1.5, label="validation")
        nelbo_ax = self.axes["nelbo"]
        self.lines["loss"], = nelbo_ax.plot([], [], ":", color=TRAIN_COLOUR, lw=1.5, label="train β-loss")
        self.lines["val_loss"], = nelbo_ax.plot([], [], ":", color=VAL_COLOUR, lw=1.5, label="val β-loss")
        self.axes["rec"].legend(fontsize=7, loc="upper right")
        nelbo_ax.legend(handles=[self.lines["loss"], self.lines["val_loss"]], fontsize=7, loc="upper right")
        self.clear()

    def clear(self) -> None:
        self.set_history([])

    def set_history(self, history: list[dict[str, float]]) -> None:
        self.history = list(history)
        self.batch_points: dict[str, list[float]] = {"x": [], **{t: [] for t, _ in TERMS}}
        self._batch_epoch = 0
        self._redraw()

    def add_batch(self, progress: dict) -> None:
        x = progress["epoch"] - 1 + progress["batch"] / progress["steps"]
        if self.batch_points["x"] and progress["epoch"] != self._batch_epoch:
            # Keras restarts its running mean every epoch: a gap keeps epochs from being joined.
            for values in self.batch_points.values():
                values.append(np.nan)
        self._batch_epoch = progress["epoch"]
        self.batch_points["x"].append(x)
        for term, _ in TERMS:
            self.batch_points[term].append(progress["logs"].get(term, np.nan))
        self._redraw()

    def add_epoch(self, record: dict[str, float]) -> None:
        self.history = [r for r in self.history if r["epoch"] < record["epoch"]] + [record]
        self._redraw()

    def _redraw(self) -> None:
        epochs = [r["epoch"] for r in self.history]
        for key, line in self.lines.items():
            if key.startswith("batch_"):
                line.set_data(self.batch_points["x"], self.batch_points[key[6:]])
            else:
                line.set_data(epochs, [r.get(key, np.nan) for r in self.history])
        for ax in self.axes.values():
            ax.relim()
            ax.autoscale_view()
        self.canvas.draw_idle()


class KLBars(FigurePanel):
    """Mean KL of each latent dimension: which units the model actually uses."""

    def __init__(self, on_error: Callable[[str], None], parent=None) -> None:
        super().__init__("KL per latent dimension", "kl_per_dimension", on_error, figsize=(3.2, 2.6), parent=parent)
        self.ax = self.figure.add_subplot(1, 1, 1)
        self.bars = None
        self.values: np.ndarray | None = None

    def set_values(self, kl: np.ndarray, active_units: int) -> None:
        self.values = np.asarray(kl)
        if self.bars is None or len(self.bars) != len(kl):
            self.ax.clear()
            self.bars = self.ax.bar(range(len(kl)), kl, color=TRAIN_COLOUR)
            self.ax.set_xlabel("latent dimension", fontsize=8)
            self.ax.set_ylabel("nats", fontsize=8)
            self.ax.tick_params(labelsize=7)
            self.ax.set_xticks(range(len(kl)))
        else:
            for bar, value in zip(self.bars, kl):
                bar.set_height(value)
        self.ax.set_ylim(0, max(float(np.max(kl)) * 1.15, 0.05))
        self.ax.set_title(f"{active_units} of {len(kl)} units active (KL > 0.01)", fontsize=9)
        self.canvas.draw_idle()

