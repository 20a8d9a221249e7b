"""Small widget makers shared by the panels."""
from __future__ import annotations

from PyQt6.QtWidgets import QSpinBox


def int_box(low: int, high: int, value: int, tip: str, state_range: bool = True) -> QSpinBox:
    """A whole-number box from ``low`` to ``high`` whose tooltip is ``tip``, followed by the range
    unless ``tip`` already states it (``state_range`` False)."""
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(f"{tip} ({low:,}–{high:,})" if state_range else tip)
    return box
