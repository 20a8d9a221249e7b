"""The Compare runs tab, driven with fake run folders: no TensorFlow, no training."""
import sys

import numpy as np
import pytest
from PIL import Image

from keras_models.compare import load_run_summary, traversal_stack
from tests.helpers import EVALUATION, write_fake_run


@pytest.fixture(autouse=True)
def tensorflow_unavailable(monkeypatch):
    """The panel lives on the GUI thread: any import of TensorFlow, Keras or the Keras-backed
    modules while it works must fail the test, even if another test loaded them already."""
    for name in ("tensorflow", "keras", "keras_models.models", "keras_models.grids", "keras_models.training"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def panel(qtbot):
    from gui.compare_panel import ComparePanel

    errors: list[str] = []
    widget = ComparePanel(errors.append)
    widget.errors = errors
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


@pytest.fixture
def two_runs(tmp_path):
    return (write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4", evaluation=EVALUATION, shade=0.2),
            write_fake_run(tmp_path / "2026-11-24_1600_vae_b1", model="vae", beta=1.0, shade=0.8))


def plotted_lines(panel) -> int:
    return sum(len(ax.get_lines()) for ax in panel.curve_axes)


def test_two_runs_and_a_bad_folder(panel, two_runs, tmp_path):
    (tmp_path / "not a run").mkdir()
    assert panel.add_run(str(two_runs[0]))
    assert not panel.add_run(str(tmp_path / "not a run"))
    assert panel.add_run(str(two_runs[1]))

    assert len(panel.errors) == 1 and "not a run folder" in panel.errors[0] and "not a run" in panel.errors[0]
    assert [s.run_dir for s in panel.summaries] == list(two_runs)
    assert panel.run_list.count() == 2
    table = panel.table
    assert table.rowCount() == 2
    assert [table.horizontalHeaderItem(c).text() for c in range(3)] == ["run", "model", "β"]
    assert [table.item(0, c).text() for c in (0, 1, 2, 8)] == ["2026-11-24_1530_bvae_b4", "β-VAE", "4",
                                                              "97.25"]
    assert [table.item(1, c).text() for c in (0, 1, 2, 8)] == ["2026-11-24_1600_vae_b1", "VAE", "1", "–"]
    assert plotted_lines(panel) == 3 * 2  # NELBO, rec and KL for each run
    assert len(panel.rate_axes.get_lines()) == 2  # one rate-distortion point each
    colours = {line.get_color() for line in panel.curve_axes[0].get_lines()}
    assert len(colours) == 2
    expected = traversal_stack([load_run_summary(run) for run in two_runs])
    np.testing.assert_array_equal(panel.traversals.grid, expected)
    assert "latent dimension 3" in panel.traversals.caption.text()


def test_remove_and_clear(panel, two_runs):
    for run in two_runs:
        panel.add_run(str(run))
    kept_colour = panel.colours[1]
    panel.run_list.setCurrentRow(0)
    panel.remove_selected()
    assert [s.run_dir for s in panel.summaries] == [two_runs[1]]
    assert panel.table.rowCount() == 1 and panel.table.item(0, 0).text() == two_runs[1].name
    assert plotted_lines(panel) == 3
    assert panel.curve_axes[0].get_lines()[0].get_color() == kept_colour  # a run keeps its colour
    assert panel.traversals.grid.shape == load_run_summary(two_runs[1]).traversals["traversal_dim3"].shape

    panel.clear()
    assert panel.summaries == [] and panel.run_list.count() == 0 and panel.table.rowCount() == 0
    assert plotted_lines(panel) == 0
    assert panel.traversals.grid is None and not panel.traversals.save_button.isEnabled()
    assert panel.errors == []


def test_adding_an_open_run_again_selects_it(panel, two_runs):
    for run in two_runs:
        panel.add_run(str(run))
    assert not panel.add_run(str(two_runs[0]))
    assert len(panel.summaries) == 2 and panel.run_list.currentRow() == 0 and panel.errors == []


def test_damaged_run_is_reported_once_and_left_out(panel, two_runs):
    (two_runs[1] / "metrics.csv").write_text("epoch,val_kl\n1,lots\n")
    assert panel.add_run(str(two_runs[0]))
    assert not panel.add_run(str(two_runs[1]))
    assert len(panel.errors) == 1 and str(two_runs[1] / "metrics.csv") in panel.errors[0]
    assert len(panel.summaries) == 1 and plotted_lines(panel) == 3


def test_saved_traversals_are_the_grid_enlarged_twice(panel, two_runs, tmp_path):
    for run in two_runs:
        panel.add_run(str(run))
    path = panel.traversals.save_to(tmp_path / "compared.png")
    height, width = panel.traversals.grid.shape
    assert Image.open(path).size == (2 * width, 2 * height)
