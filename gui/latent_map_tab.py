"""The Latent map tab: where validation images land in the latent space, and what a point decodes to.

The map is handed a ``LatentMap`` computed on the worker thread (codes and
projection) every epoch; on the GUI thread it only moves the points and blits
them (``gui.live_canvas``). A click asks the worker to decode that point.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.figure_panel import FigurePanel
from gui.image_panel import ImagePanel
from gui.live_canvas import Limits, LiveCanvas
from keras_models.events import EpochDone
from keras_models.images import save_figure
from keras_models.latent_space import CLASS_COLOURS, LatentMap, latent_map_figure, umap_installed

LEGEND_HTML = "label: " + "&nbsp;".join(f'<span style="color:{colour}">●</span>{label}'
                                        for label, colour in enumerate(CLASS_COLOURS))

NO_MAP = "No latent map: this model has a latent size of 1, and a map needs at least 2 dimensions."
NO_MANIFOLD = "The manifold grid needs a latent size of 2."
NO_UMAP = "UMAP needs umap-learn, which is not installed: pip install umap-learn adds it."


def style_map_axes(ax: Axes) -> None:
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25)


def map_limits(points: np.ndarray, current: Limits) -> Limits:
    """Keep the limits while every point is inside and the points fill at least half of them,
    so most epochs only re-blit the points; else new ones with room to spare."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    limits = []
    for axis, (bottom, top) in enumerate(current):
        if low[axis] < bottom or high[axis] > top or span[axis] < 0.5 * (top - bottom):
            bottom, top = float(low[axis] - 0.15 * span[axis]), float(high[axis] + 0.15 * span[axis])
        limits.append((bottom, top))
    return tuple(limits[0]), tuple(limits[1])


class MapCanvas(LiveCanvas):
    """The points (one per image, coloured by label) and the clicked point, blitted.

    One marker line per class rather than one scatter: Agg stamps a line's
    markers from one cached shape, about 15 times faster for 2,000 points.
    """

    clicked = pyqtSignal(float, float)

    def __init__(self) -> None:
        super().__init__(style_map_axes, figsize=(4.6, 4.2))
        self.figure.subplots_adjust(left=0.1, bottom=0.07)
        self.classes = [self.ax.plot([], [], marker="o", ms=2.6, mew=0, ls="none", alpha=0.8, color=colour)[0]
                        for colour in CLASS_COLOURS]
        self.marker, = self.ax.plot([], [], marker="x", color="black", ms=12, mew=2.5, ls="none")
        self.set_data_artists([*self.classes, self.marker])
        self.mpl_connect("button_press_event", self._pressed)

    def show_map(self, latent: LatentMap) -> None:
        labels = np.asarray(latent.labels) % len(CLASS_COLOURS)
        for label, line in enumerate(self.classes):
            mine = latent.points[labels == label]
            line.set_data(mine[:, 0], mine[:, 1])
        self.refresh(map_limits(latent.points, self.target_limits))

    def clear_points(self) -> None:
        for line in (*self.classes, self.marker):
            line.set_data([], [])
        self.show_data()

    def mark(self, point: tuple[float, float] | None) -> None:
        self.marker.set_data([] if point is None else [point[0]], [] if point is None else [point[1]])
        self.show_data()

    def _pressed(self, event) -> None:
        if event.inaxes is self.ax and event.xdata is not None:
            self.clicked.emit(float(event.xdata), float(event.ydata))


class LatentMapPanel(FigurePanel):
    """The map with Save…: the saved PNG is drawn afresh, with axis names and a legend."""

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__("Latent map", "latent_map", on_error, canvas=MapCanvas(), parent=parent)
        self.axes_label = QLabel("Nothing to show yet: train a model or open a run.")
        self.axes_label.setWordWrap(True)
        self.axes_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        legend = QLabel(LEGEND_HTML)
        self.layout().insertWidget(1, self.axes_label)
        self.layout().addWidget(legend)
        self.save_button.setEnabled(False)
        self.latent: LatentMap | None = None
        self.point: tuple[float, float] | None = None

    def show_map(self, latent: LatentMap) -> None:
        self.latent = latent
        x_name, y_name = latent.projection.axis_labels
        self.axes_label.setText(f"posterior means of {len(latent.points)} validation images; "
                                f"across: {x_name}, up: {y_name}. Click to decode a point.")
        self.canvas.setVisible(True)
        self.canvas.show_map(latent)
        self.save_button.setEnabled(True)

    def clear(self, message: str) -> None:
        """No map (a 1-D latent space): the last model's dots must not stay as if they were this one's."""
        self.latent, self.point = None, None
        self.axes_label.setText(message)
        self.canvas.clear_points()
        self.canvas.setVisible(False)  # an empty frame with the old model's ticks would still read as a map
        self.save_button.setEnabled(False)

    def has_content(self) -> bool:
        return self.latent is not None

    def save_to(self, path: str | Path) -> Path:
        if self.latent is None:
            raise ValueError(f"{self.file_stem}: nothing to save yet")
        return save_figure(latent_map_figure(self.latent, self.point), path)


def projection_box() -> QComboBox:
    """PCA, or UMAP when umap-learn is installed: optional, so without it the item stays, greyed,
    saying how to get it."""
    box = QComboBox()
    box.addItem("PCA", "pca")
    box.addItem("UMAP", "umap")
    box.setToolTip("How codes of more than 2 dimensions are put on the map's plane: PCA (scikit-learn), "
                   "the two directions of most variance, or UMAP (umap-learn), which keeps neighbours "
                   "together. A latent size of 2 is its own map and ignores this.")
    if not umap_installed():
        box.model().item(1).setEnabled(False)
        box.setItemData(1, NO_UMAP, Qt.ItemDataRole.ToolTipRole)
        box.setToolTip(box.toolTip() + "\n" + NO_UMAP)
    return box


class LatentMapTab(QWidget):
    """The map, the image of the clicked point, and for a 2-D latent space the manifold grid."""

    changed = pyqtSignal()  # the clicked point moved: the views must be rendered again

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map = LatentMapPanel(on_error)
        self.point_image = ImagePanel("Decoded point", "latent_map_point", on_error)
        self.point_image.image.setText("Click the map to decode a point.")
        self.manifold = ImagePanel("Manifold", "latent_manifold", on_error)
        self.manifold.image.setText(NO_MANIFOLD)
        self.point_note = QLabel("")
        self.point_note.setWordWrap(True)
        self.map.canvas.clicked.connect(self.choose_point)
        self.projection = projection_box()
        self.projection.currentIndexChanged.connect(self.choose_projection)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        choice = QHBoxLayout()
        choice.addWidget(QLabel("Projection:"))
        choice.addWidget(self.projection)
        choice.addStretch(1)
        left.addLayout(choice)
        left.addWidget(self.map, 1)
        layout.addLayout(left, 5)
        right = QVBoxLayout()
        right.addWidget(self.point_image, 2)
        right.addWidget(self.point_note)
        right.addWidget(self.manifold, 3)
        layout.addLayout(right, 3)

    def panels(self) -> list[QWidget]:
        """Every picture of the tab, for Save all."""
        return [self.map, self.point_image, self.manifold]

    def request_fields(self) -> dict:
        return {"map_point": self.map.point, "projection": self.projection.currentData()}

    def choose_projection(self) -> None:
        """The worker maps the codes again; a clicked point meant a place on the old plane."""
        self.forget_point()
        self.changed.emit()

    def forget_point(self) -> None:
        self.map.point = None
        self.map.canvas.mark(None)
        self.point_image.clear("Click the map to decode a point.")
        self.point_note.setText("")

    def choose_point(self, x: float, y: float) -> None:
        if self.map.latent is None:  # nothing mapped (yet, or a 1-D latent space): nothing to decode
            return
        self.map.point = (x, y)
        self.map.canvas.mark(self.map.point)
        self.changed.emit()

    def show_event(self, event: object) -> None:
        """Draw the map an epoch (or an opened run) brings."""
        if isinstance(event, EpochDone) and event.pictures is not None:
            if event.pictures.latent_map is not None:
                self.show_map(event.pictures.latent_map)
            else:
                self.show_no_map()

    def show_no_map(self) -> None:
        """A model without a map (latent size 1): clear what an earlier model left in every panel."""
        self.map.clear(NO_MAP)
        self.forget_point()
        self.manifold.clear(NO_MANIFOLD)
        self.manifold.setVisible(False)

    def show_map(self, latent: LatentMap) -> None:
        if self.map.latent is not None and self.map.latent.codes.shape[1] != latent.codes.shape[1]:
            self.forget_point()  # another model: the clicked point meant a code of the old one
        self.map.show_map(latent)
        # Only a 2-D latent space has a manifold grid; otherwise the decoded point takes its room.
        self.manifold.setVisible(latent.manifold is not None)
        if latent.manifold is not None:
            # An event of its own, as the Training tab's pictures: together with the map it could
            # hold the GUI thread past 30 ms when training keeps both cores busy.
            QTimer.singleShot(0, lambda: self.manifold.set_grid(latent.manifold, latent.manifold_note))
        elif self.manifold.has_content():
            self.manifold.clear(NO_MANIFOLD)

    def show_views(self, views: dict) -> None:
        if "latent_map" in views:  # mapped again with the projection just chosen
            self.show_map(views["latent_map"])
        if "map_point" in views and self.map.point is not None:  # not forgotten since it was asked for
            x, y = self.map.point
            self.point_image.set_grid(views["map_point"], f"at ({x:.2f}, {y:.2f})")
            self.point_note.setText(views["map_point_caption"])
