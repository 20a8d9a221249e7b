"""The Interpolation tab: decoded images along the line (or great circle) between two codes.

The tab holds its controls and the grid they drive; the worker renders it.
"""
from __future__ import annotations

from typing import Callable

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from gui.image_panel import ImagePanel
from keras_models.config import INTERPOLATION_STEPS


class InterpolationControls(QWidget):
    """Which two codes to join, in how many steps, along a line or a great circle."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ends = QComboBox()
        self.ends.addItem("Two validation images", "images")
        self.ends.addItem("Two random codes", "random")
        self.ends.setToolTip("What the row joins: the codes of two validation images, or two draws from the prior")
        self.first, self.second = QSpinBox(), QSpinBox()
        for box, value in ((self.first, 0), (self.second, 1)):
            box.setRange(0, 99_999)
            box.setValue(value)
            box.setToolTip("Index of a validation image, 0 to 99,999 (beyond the last, the last one)")
        self.steps = QSpinBox()
        self.steps.setRange(3, 25)
        self.steps.setValue(INTERPOLATION_STEPS)
        self.steps.setToolTip("Images in the row, the two ends included: 3 to 25")
        self.spherical = QCheckBox("Slerp")
        self.spherical.setToolTip("Spherical interpolation: along the great circle, the norm moving linearly, "
                                  "so the path stays where the prior puts its mass")
        self.redraw_button = QPushButton("New draw")
        self.redraw_button.setToolTip("Two other random codes")
        self.seed = 0
        self.redraw_button.clicked.connect(self._new_draw)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("Between", self.ends), ("Image #", self.first), ("and image #", self.second),
                              ("Steps", self.steps)):
            layout.addWidget(QLabel(label))
            layout.addWidget(widget)
        layout.addWidget(self.spherical)
        layout.addWidget(self.redraw_button)
        layout.addStretch(1)
        for signal in (self.ends.currentIndexChanged, self.first.valueChanged, self.second.valueChanged,
                       self.steps.valueChanged, self.spherical.toggled):
            signal.connect(self._changed)
        self._changed()

    def _new_draw(self) -> None:
        self.seed += 1
        self.changed.emit()

    def _changed(self) -> None:
        random = self.ends.currentData() == "random"
        self.first.setEnabled(not random)
        self.second.setEnabled(not random)
        self.redraw_button.setEnabled(random)
        self.changed.emit()

    def request_fields(self) -> dict:
        return {"interpolate_from": self.first.value(), "interpolate_to": self.second.value(),
                "interpolate_random": self.ends.currentData() == "random", "interpolation_seed": self.seed,
                "interpolation_steps": self.steps.value(), "spherical": self.spherical.isChecked()}


class InterpolationTab(QWidget):
    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = InterpolationControls()
        self.changed = self.controls.changed
        self.interpolation = ImagePanel("Interpolation", "interpolation", on_error)
        self.description = QLabel("")  # captions here run long (the CVAE's rows): wrapped, under the controls
        self.description.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.description)
        layout.addWidget(self.interpolation, 1)

    def panels(self) -> list[QWidget]:
        return [self.interpolation]

    def request_fields(self) -> dict:
        return self.controls.request_fields()

    def show_views(self, views: dict) -> None:
        if "interpolation" in views:
            self.interpolation.set_grid(views["interpolation"])
            self.description.setText(views["interpolation_caption"])
