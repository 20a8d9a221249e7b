"""The controls above the latent traversal."""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from keras_models.config import TRAVERSAL_RANGE, TRAVERSAL_STEPS


class TraversalControls(QWidget):
    """Which dimension to walk, how far, in how many steps, and from which code."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dim = QComboBox()
        self.dim.setToolTip("The latent dimension to walk, or all of them, one row each")
        self.set_latent_dim(10)
        self.span = QDoubleSpinBox()
        self.span.setRange(0.5, 10.0)
        self.span.setSingleStep(0.5)
        self.span.setValue(TRAVERSAL_RANGE)
        self.span.setPrefix("± ")
        self.span.setToolTip("How far the dimension is walked each way from the base code (0.5–10)")
        self.steps = QSpinBox()
        self.steps.setRange(3, 25)
        self.steps.setValue(TRAVERSAL_STEPS)
        self.steps.setToolTip("Images along the walk, one column each (3–25)")
        self.base = QComboBox()
        self.base.addItem("Random prior draws", "prior")
        self.base.addItem("Code of a validation image", "image")
        self.base.setToolTip("Start from random draws of the prior, or from the code of one validation image")
        self.rows = QSpinBox()
        self.rows.setRange(1, 12)
        self.rows.setValue(6)
        self.rows.setToolTip("How many random base codes, one row each (1–12)")
        self.image_index = QSpinBox()
        self.image_index.setRange(0, 99_999)
        self.image_index.setToolTip("Index of the validation image whose code is the starting point (from 0)")
        self.sort_by_kl = QCheckBox("Sort by KL")
        self.sort_by_kl.setToolTip("With all dimensions: the most informative dimension first")
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("An animated GIF of every dimension, one frame per step")
        self.redraw_button = QPushButton("New draw")
        self.redraw_button.setToolTip("Draw other random base codes")
        self.seed = 0
        self.redraw_button.clicked.connect(self._new_draw)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("Dimension", self.dim), ("Range", self.span), ("Steps", self.steps),
                              ("Start from", self.base), ("Rows", self.rows), ("Image #", self.image_index)):
            layout.addWidget(QLabel(label))
            layout.addWidget(widget)
        layout.addWidget(self.sort_by_kl)
        layout.addWidget(self.redraw_button)
        layout.addWidget(self.gif_button)
        layout.addStretch(1)
        for signal in (self.dim.currentIndexChanged, self.span.valueChanged, self.steps.valueChanged,
                       self.base.currentIndexChanged, self.rows.valueChanged, self.image_index.valueChanged,
                       self.sort_by_kl.toggled):
            signal.connect(self._changed)
        self._changed()

    def set_latent_dim(self, latent_dim: int) -> None:
        current = self.dim.currentData() if self.dim.count() else 6
        self.dim.blockSignals(True)
        self.dim.clear()
        self.dim.addItem("All dimensions", None)
        for d in range(latent_dim):
            self.dim.addItem(f"z{d}", d)
        index = self.dim.findData(current) if current is not None else 0
        self.dim.setCurrentIndex(index if index >= 0 else min(7, latent_dim))
        self.dim.blockSignals(False)

    def _new_draw(self) -> None:
        self.seed += 1
        self.changed.emit()

    def _changed(self) -> None:
        from_image = self.base.currentData() == "image"
        self.image_index.setEnabled(from_image)
        self.rows.setEnabled(not from_image and self.dim.currentData() is not None)
        self.sort_by_kl.setEnabled(self.dim.currentData() is None)
        self.changed.emit()

    def request_fields(self) -> dict:
        return {"dim": self.dim.currentData(), "span": self.span.value(), "steps": self.steps.value(),
                "base": self.base.currentData(), "image_index": self.image_index.value(),
                "rows": self.rows.value(), "seed": self.seed, "sort_by_kl": self.sort_by_kl.isChecked()}
