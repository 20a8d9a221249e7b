"""A matplotlib figure with Save…, the base of the plot panels (KL bars, the compared runs)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.saving import SavesPNG
from keras_models.images import save_figure


class FigurePanel(SavesPNG, QWidget):
    """A matplotlib Figure on a Qt canvas (no pyplot) with a Save… button."""

    def __init__(self, title: str, file_stem: str, on_error: Callable[[str], None],
                 figsize: tuple[float, float] = (7.5, 2.6), canvas: FigureCanvasQTAgg | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_stem = file_stem
        self._on_error = on_error
        # figsize only sizes a canvas made here.
        self.canvas = canvas if canvas is not None else FigureCanvasQTAgg(Figure(figsize=figsize))
        self.figure = self.canvas.figure
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
        return save_figure(self.figure, path)
