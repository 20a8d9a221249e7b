"""The controls above the CVAE class grids."""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSpinBox, QToolButton, QWidget

from keras_models.config import ViewRequest


class ClassControls(QWidget):
    """The CVAE label selector: ten digit toggles and how many samples per class."""

    changed = pyqtSignal()
    NEEDS_CVAE = "The label selector needs a CVAE: train or open a conditional VAE"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggles = []
        grid = QGridLayout()
        grid.setSpacing(2)
        for digit in range(10):
            button = QToolButton()
            button.setText(str(digit))
            button.setCheckable(True)
            button.setChecked(digit in ViewRequest().classes)
            button.setMinimumWidth(28)
            button.setToolTip(f"Show samples of digit {digit} (toggle)")
            button.toggled.connect(lambda _=False: self.changed.emit())
            grid.addWidget(button, 0, digit)
            self.toggles.append(button)
        self.per_class = QSpinBox()
        self.per_class.setRange(1, 20)
        self.per_class.setValue(ViewRequest().per_class)
        self.per_class.setToolTip("Samples drawn for each chosen class, one row each (1–20)")
        self.per_class.valueChanged.connect(lambda _=0: self.changed.emit())
        self.style_images = QSpinBox()
        self.style_images.setRange(1, 12)
        self.style_images.setValue(ViewRequest().style_images)
        self.style_images.setToolTip("Validation images whose style (code) is decoded under every label (1–12)")
        self.style_images.valueChanged.connect(lambda _=0: self.changed.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Classes"))
        layout.addLayout(grid)
        layout.addWidget(QLabel("Samples per class"))
        layout.addWidget(self.per_class)
        layout.addWidget(QLabel("Style images"))
        layout.addWidget(self.style_images)
        layout.addStretch(1)
        self.set_available(False)

    def set_available(self, available: bool) -> None:
        self.setEnabled(available)
        self.setToolTip("" if available else self.NEEDS_CVAE)

    def selected(self) -> tuple[int, ...]:
        return tuple(d for d, button in enumerate(self.toggles) if button.isChecked())

    def request_fields(self) -> dict:
        return {"classes": self.selected(), "per_class": self.per_class.value(),
                "style_images": self.style_images.value()}
