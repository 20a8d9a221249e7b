"""An image grid with Save…, scaled to fit its space.

The panel is handed the grid it shows; it never computes model output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage, QPixmap, QResizeEvent
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from gui.saving import SavesPNG
from keras_models.images import save_png, to_uint8


def grid_to_pixels(grid: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(to_uint8(grid))


def pixmap_from_grid(grid: np.ndarray) -> QPixmap:
    pixels = grid_to_pixels(grid)
    image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())  # copy: QImage does not own the numpy buffer


class ScaledImage(QLabel):
    """Shows a pixmap as large as fits: whole-number zooms keep pixels sharp; in between,
    smooth scaling avoids the uneven pixel widths nearest-neighbour would give."""

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.source: QPixmap | None = None

    def set_source(self, pixmap: QPixmap) -> None:
        self.source = pixmap
        self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.source is None or self.source.isNull():
            return
        fit = min(self.width() / self.source.width(), self.height() / self.source.height())
        whole = int(fit)
        zoom, mode = ((whole, Qt.TransformationMode.FastTransformation) if whole >= 2
                      else (max(fit, 0.25), Qt.TransformationMode.SmoothTransformation))
        self.setPixmap(self.source.scaled(round(self.source.width() * zoom), round(self.source.height() * zoom),
                                          Qt.AspectRatioMode.KeepAspectRatio, mode))


class ImagePanel(SavesPNG, QWidget):
    """A titled image grid, scaled to fit with crisp pixels, with its own Save… button."""

    def __init__(self, title: str, file_stem: str, on_error: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_stem = file_stem
        self.grid: np.ndarray | None = None
        self._on_error = on_error
        self.title = QLabel(f"<b>{title}</b>")
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: palette(mid);")
        # Ignored: a longer caption must not re-flow the panels (that redraws every canvas).
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
            self.caption.setToolTip(caption)  # a narrow panel cuts the caption short: the whole of it here
        self.save_button.setEnabled(True)
        self.image.set_source(pixmap_from_grid(grid))

    def clear(self, placeholder: str) -> None:
        """Show ``placeholder`` instead of a grid: what was shown no longer describes the model."""
        self.grid = None
        self.caption.setText("")  # it described the grid that is gone
        self.caption.setToolTip("")
        self.save_button.setEnabled(False)
        self.image.source = None
        self.image.clear()
        self.image.setText(placeholder)

    def has_content(self) -> bool:
        return self.grid is not None

    def save_to(self, path: str | Path) -> Path:
        if self.grid is None:
            raise ValueError(f"{self.file_stem}: nothing to save yet")
        return save_png(self.grid, path)
