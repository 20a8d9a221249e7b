"""The latent explorer's tabs: the traversal, the CVAE's samples by class and class × style, and
the latent map and interpolation tabs (their own modules) wired as one.

Each tab holds its controls and the grids they drive; it draws the views the
worker renders and computes nothing.
"""
from __future__ import annotations

from typing import Callable

from PyQt6.QtWidgets import QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from gui.class_controls import ClassControls
from gui.image_panel import ImagePanel
from gui.interpolation_tab import InterpolationTab
from gui.latent_map_tab import LatentMapTab
from gui.traversal_controls import TraversalControls


class TraversalTab(QWidget):
    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = TraversalControls()
        self.traversal = ImagePanel("Latent traversal", "traversal", on_error)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.traversal, 1)

    def show_views(self, views: dict) -> None:
        self.traversal.set_grid(views["traversal"], views["traversal_caption"])


class ClassTab(QWidget):
    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = ClassControls()
        self.class_grid = ImagePanel("Samples by class", "classes", on_error)
        self.class_style = ImagePanel("Class × style", "class_style", on_error)
        self.class_style.caption.setText("each row: one validation image's code decoded under labels 0-9")
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        grids = QHBoxLayout()
        grids.addWidget(self.class_grid, 1)
        grids.addWidget(self.class_style, 1)
        layout.addLayout(grids, 1)

    def show_views(self, views: dict) -> None:
        """The CVAE's grids; a VAE's views have none, and the last ones drawn stay."""
        if "classes" in views:
            self.class_grid.set_grid(views["classes"], "one row per class, same codes in every row")
        if "class_style" in views:
            self.class_style.set_grid(views["class_style"])


class LatentTabs:
    """The latent map and interpolation tabs, wired to the window as one."""

    def __init__(self, on_error: Callable[[str], None], on_change: Callable[[], None]) -> None:
        self.map, self.interpolation = LatentMapTab(on_error), InterpolationTab(on_error)
        for tab in (self.map, self.interpolation):
            tab.changed.connect(on_change)

    def add_to(self, tabs: QTabWidget) -> None:
        tabs.addTab(self.map, "Latent map")
        tabs.addTab(self.interpolation, "Interpolation")

    def listen(self, signals) -> None:
        """Draw what the worker sends: maps with the epochs, decoded points and interpolations with the views."""
        signals.event.connect(self.map.show_event)
        signals.views.connect(self.map.show_views)
        signals.views.connect(self.interpolation.show_views)

    def panels(self) -> list[QWidget]:
        return [*self.map.panels(), *self.interpolation.panels()]

    def request_fields(self) -> dict:
        return {**self.map.request_fields(), **self.interpolation.request_fields()}
