"""The Latent map and Interpolation tabs, driven as a user would: train, watch the map move,
click it, interpolate, save."""
import sys

import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtTest import QTest

from keras_models.events import EpochDone
from keras_models.models import sigmoid
from tests.helpers import collect_events, fake_umap, set_quick_settings, train_and_wait

TIMEOUT = 120_000


def click_map(qtbot, window, x: float, y: float) -> None:
    """A left click where the map shows the point (x, y)."""
    tab = window.latent_tabs.map
    window.tabs.setCurrentWidget(tab)
    canvas = tab.map.canvas
    qtbot.waitUntil(lambda: canvas._background is not None, timeout=TIMEOUT)  # drawn once, limits final
    display_x, display_y = canvas.ax.transData.transform((x, y))
    ratio = canvas.devicePixelRatioF()
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(display_x / ratio),
                                                                   round(canvas.height() - display_y / ratio)))


def test_the_map_follows_training_and_a_click_decodes_the_point(qtbot, window, tmp_path):
    set_quick_settings(window, epochs=2, batch_size=30)
    window.controls.latent_dim.setValue(2)
    epochs = collect_events(window, EpochDone)
    train_and_wait(qtbot, window)
    tab = window.latent_tabs.map
    maps = [event.pictures.latent_map for event in epochs]
    assert len(maps) == 2 and not np.allclose(maps[0].points, maps[1].points)  # a new map every epoch
    qtbot.waitUntil(lambda: tab.map.latent is maps[-1], timeout=TIMEOUT)
    labels = window.worker.data.val_y
    for label, line in enumerate(tab.map.canvas.classes):  # one marker line per class
        np.testing.assert_allclose(np.column_stack(line.get_data()), maps[-1].points[labels == label])
    assert sum(len(line.get_xdata()) for line in tab.map.canvas.classes) == 60  # every validation image
    assert "across: z0, up: z1" in tab.map.axes_label.text()
    assert tab.manifold.grid.shape == (15 * 30 + 2, 15 * 30 + 2)

    target = maps[-1].points[5]
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        click_map(qtbot, window, *target)
    x, y = tab.map.point
    assert abs(x - target[0]) < 0.1 and abs(y - target[1]) < 0.1  # within a pixel or two of the point
    qtbot.waitUntil(lambda: tab.point_image.grid is not None, timeout=TIMEOUT)
    expected = sigmoid(window.worker.model.decode(np.array([[x, y]], dtype="float32")))[0, ..., 0]
    np.testing.assert_allclose(tab.point_image.grid, expected, atol=1e-5)
    assert tab.point_note.text() == "A point is the code itself"

    interpolation = window.latent_tabs.interpolation
    assert interpolation.interpolation.grid.shape == (30 + 2, 10 * 30 + 2)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        interpolation.controls.spherical.setChecked(True)
    qtbot.waitUntil(lambda: interpolation.description.text().startswith("spherical"), timeout=TIMEOUT)

    written = {p.name: p for p in window.save_all(tmp_path / "figures")}
    assert {"latent_map.png", "latent_map_point.png", "latent_manifold.png", "interpolation.png"} <= set(written)
    with Image.open(written["latent_map.png"]) as image:
        assert image.size == (2 * 624, 552)  # the map and the manifold side by side


def test_the_cvae_interpolation_morphs_the_label_and_random_codes_redraw(qtbot, window):
    set_quick_settings(window, model="cvae", epochs=1, batch_size=30)
    window.controls.latent_dim.setValue(3)
    train_and_wait(qtbot, window)
    tab = window.latent_tabs.map
    qtbot.waitUntil(lambda: tab.map.latent is not None, timeout=TIMEOUT)
    assert tab.map.latent.projection.method == "pca" and "PC1 (" in tab.map.axes_label.text()
    assert not tab.manifold.has_content() and not tab.manifold.isVisibleTo(tab)  # only a 2-D space has one
    interpolation = window.latent_tabs.interpolation
    controls = interpolation.controls
    labels = window.worker.data.val_y
    controls.second.setValue(int(np.flatnonzero(labels != labels[0])[0]))
    qtbot.waitUntil(lambda: f"from {labels[0]} to" in interpolation.description.text(), timeout=TIMEOUT)
    assert interpolation.interpolation.grid.shape[0] == 2 * 30 + 2  # the path, and the label morph
    controls.ends.setCurrentIndex(controls.ends.findData("random"))
    qtbot.waitUntil(lambda: "prior draw" in interpolation.description.text(), timeout=TIMEOUT)
    first = interpolation.interpolation.grid.copy()
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        controls.redraw_button.click()
    assert not np.allclose(interpolation.interpolation.grid, first)


def test_a_model_with_latent_size_1_clears_the_last_models_map(qtbot, window):
    """Latent size 1 has no map: the dots, clicked point and manifold of the model before must go,
    not stay as if they were this model's, and a click on the empty map decodes nothing."""
    set_quick_settings(window, epochs=1, batch_size=30)
    window.controls.latent_dim.setValue(2)
    train_and_wait(qtbot, window)
    tab = window.latent_tabs.map
    qtbot.waitUntil(lambda: tab.map.latent is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        click_map(qtbot, window, *tab.map.latent.points[0])
    qtbot.waitUntil(lambda: tab.point_image.has_content() and tab.manifold.has_content(), timeout=TIMEOUT)

    window.controls.latent_dim.setValue(1)
    train_and_wait(qtbot, window)
    qtbot.waitUntil(lambda: tab.map.latent is None, timeout=TIMEOUT)
    assert "latent size of 1" in tab.map.axes_label.text() and not tab.map.save_button.isEnabled()
    assert all(len(line.get_xdata()) == 0 for line in tab.map.canvas.classes)
    assert not tab.map.canvas.isVisibleTo(tab)  # no empty frame with the old model's ticks
    assert not tab.point_image.has_content() and tab.point_image.caption.text() == ""
    assert not tab.manifold.has_content() and not tab.manifold.isVisibleTo(tab)
    assert "latent_map.png" not in {p.name for p in window.save_all(window.runs_folder / "figures")}
    tab.choose_point(0.0, 0.0)  # as a click would, had the canvas been left on screen
    assert tab.map.point is None and len(tab.map.canvas.marker.get_xdata()) == 0


@pytest.fixture
def with_umap(monkeypatch):
    """umap-learn "installed": named before ``window``, so the tab, which looks once, finds it."""
    fake_umap(monkeypatch)


def test_choosing_umap_maps_the_codes_again_with_umap_axes(qtbot, with_umap, window):
    tab = window.latent_tabs.map
    assert tab.projection.model().item(tab.projection.findData("umap")).isEnabled()
    set_quick_settings(window, epochs=1, batch_size=30)  # latent size 4: PCA until told otherwise
    train_and_wait(qtbot, window)
    qtbot.waitUntil(lambda: tab.map.latent is not None, timeout=TIMEOUT)
    assert tab.map.latent.projection.method == "pca"
    tab.choose_point(*tab.map.latent.points[0])
    with qtbot.waitSignal(window.worker.signals.views, timeout=TIMEOUT):
        tab.projection.setCurrentIndex(tab.projection.findData("umap"))
    qtbot.waitUntil(lambda: tab.map.latent.projection.method == "umap", timeout=TIMEOUT)
    assert "across: UMAP 1, up: UMAP 2" in tab.map.axes_label.text()
    assert window.worker.latent_map is tab.map.latent  # clicks decode through the map shown
    assert tab.map.point is None  # the point clicked on the PCA plane means nothing on this one
    codes, _ = window.worker.model.encode(window.worker.data.val_x)
    np.testing.assert_allclose(tab.map.latent.points, tab.map.latent.projection.transform(codes), atol=1e-4)
    epochs = collect_events(window, EpochDone)
    train_and_wait(qtbot, window)  # and each epoch of the next training is mapped by UMAP too
    assert [event.pictures.latent_map.projection.method for event in epochs] == ["umap"]


def test_without_umap_learn_the_umap_choice_is_greyed_out_and_says_how_to_get_it(qtbot, monkeypatch):
    from gui.latent_map_tab import LatentMapTab

    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    tab = LatentMapTab(lambda message: None)
    qtbot.addWidget(tab)
    box = tab.projection
    assert not box.model().item(box.findData("umap")).isEnabled() and box.currentData() == "pca"
    assert "pip install umap-learn" in box.itemData(box.findData("umap"), Qt.ItemDataRole.ToolTipRole)
    assert "pip install umap-learn" in box.toolTip()
    assert tab.request_fields()["projection"] == "pca"
