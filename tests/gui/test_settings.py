"""Remembered settings, Restore defaults, File → Open recent, keyboard shortcuts and tooltips."""
import pytest
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QLineEdit, QMenuBar,
                             QTabBar)

from gui.settings import RECENT_RUNS, settings_store
from keras_models.config import TrainConfig
from tests.helpers import write_fake_run


@pytest.fixture
def new_window(qtbot):
    """A function that opens a MainWindow without loading TensorFlow (its worker is not started)."""
    from gui.window import MainWindow

    def make():
        win = MainWindow(load_data=lambda config: None)
        qtbot.addWidget(win)
        return win
    return make


def chosen_settings(controls):
    controls.model.setCurrentIndex(controls.model.findData("cvae"))
    controls.beta.setValue(4.0)
    controls.epochs.setValue(3)
    controls.batch_size.setValue(64)
    controls.latent_dim.setValue(3)
    controls.learning_rate.setValue(0.002)
    controls.seed.setValue(7)
    controls.arch.setCurrentText("conv")
    controls.precision.setCurrentText("float32")
    controls.tensorboard.setChecked(True)


def test_settings_come_back_at_the_next_launch(new_window, tmp_path, settings_folder):
    first = new_window()
    chosen_settings(first.controls)
    first.controls.set_folder("folder", str(tmp_path))
    first.resize(700, 500)
    first.close()
    assert (settings_folder / "VAE Studio" / "VAE Studio.ini").exists()
    second = new_window()
    expected = dict(model="cvae", beta=4.0, epochs=3, batch_size=64, latent_dim=3, learning_rate=0.002, seed=7,
                    arch="conv", precision="float32", tensorboard=True, dataset=f"folder:{tmp_path}")
    assert {k: v for k, v in second.controls.config().to_dict().items() if k in expected} == expected
    assert (second.width(), second.height()) == (700, 500)


def test_bad_stored_values_are_ignored(new_window, tmp_path):
    store = settings_store()
    for name, value in {"model": "vae", "beta": "4", "epochs": "many", "batch_size": "0", "latent_dim": "100000",
                        "learning_rate": "nan", "dataset": "emnist", "seed": "5", "precision": "float16",
                        "tensorboard": "maybe", "arch": 3}.items():
        store.setValue(f"training/{name}", value)
    store.setValue("window/geometry", "not a geometry")
    store.setValue("window/splitter", 17)
    store.setValue("runs/recent", 12)
    store.sync()
    win = new_window()
    # Only the model and the seed were good; β = 4 is refused for the VAE, which has β = 1. Batch size
    # and epochs stay on auto (None), the window's default.
    assert win.controls.config().to_dict() == TrainConfig(model="vae", seed=5, epochs=None, batch_size=None).to_dict()
    assert win.remembered.recent() == []


def test_a_removed_folder_data_set_is_not_restored(new_window, tmp_path):
    store = settings_store()
    store.setValue("training/dataset", f"idx:{tmp_path / 'gone'}")
    store.sync()
    assert new_window().controls.dataset_name() == TrainConfig().dataset


def test_restore_defaults_puts_back_every_control(new_window, tmp_path):
    win = new_window()
    chosen_settings(win.controls)
    win.controls.set_folder("idx", str(tmp_path))
    win.remembered.restore_action.trigger()
    assert win.controls.config().to_dict() == TrainConfig(epochs=None, batch_size=None).to_dict()


def test_restore_defaults_is_greyed_out_while_a_job_runs(new_window, monkeypatch):
    # It did nothing then; a menu entry that can be clicked to no effect looks broken.
    win = new_window()
    menu = win.remembered.restore_action.associatedObjects()[0]
    monkeypatch.setattr(type(win), "busy", property(lambda self: True))
    menu.aboutToShow.emit()
    assert not win.remembered.restore_action.isEnabled()
    assert "job in progress" in win.remembered.restore_action.toolTip()
    monkeypatch.setattr(type(win), "busy", property(lambda self: False))
    menu.aboutToShow.emit()
    assert win.remembered.restore_action.isEnabled()


def test_open_recent_lists_the_last_runs_and_opens_them(new_window, tmp_path, monkeypatch):
    win = new_window()
    runs = [write_fake_run(tmp_path / f"run{i}") for i in range(RECENT_RUNS + 1)]
    for run in runs:
        win.remembered.add_recent(run)
    win.remembered.add_recent(runs[3])  # opened again: moves to the top, listed once
    runs[5].rename(tmp_path / "moved")
    opened = []
    monkeypatch.setattr(win, "open_run", opened.append)
    menu = win.remembered.recent_menu
    menu.aboutToShow.emit()
    entries = [a for a in menu.actions() if str(tmp_path) in a.text()]
    expected = [runs[3], *runs[::-1][:RECENT_RUNS]]
    expected = list(dict.fromkeys(expected))[:RECENT_RUNS]
    assert [a.text() for a in entries] == [str(r) for r in expected]
    assert [a.isEnabled() for a in entries] == [r != runs[5] for r in expected]
    entries[1].trigger()
    assert opened == [str(expected[1])]
    # The list outlives the window.
    assert new_window().remembered.recent() == [str(r) for r in expected]


def test_ctrl_enter_presses_train_and_esc_presses_stop(qtbot, new_window):
    win = new_window()
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    # Clicks are counted, not acted on: what Train and Stop do is the window's own tests' business.
    win.controls.train_clicked.disconnect(win.start_training)
    win.controls.stop_clicked.disconnect(win.stop_training)
    clicks = []
    win.controls.train_clicked.connect(lambda: clicks.append("train"))
    win.controls.stop_clicked.connect(lambda: clicks.append("stop"))
    focus = win.controls.seed  # shortcuts work wherever the focus is, a number box included
    win.controls.set_training(False)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        QTest.keyClick(focus, key, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(focus, Qt.Key.Key_Escape)  # Stop is greyed out while nothing runs: nothing happens
    assert clicks == ["train", "train"]
    win.controls.set_training(True)
    QTest.keyClick(focus, Qt.Key.Key_Escape)
    QTest.keyClick(focus, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Train is greyed out now
    assert clicks == ["train", "train", "stop"]


def test_stop_says_it_stops_studies_and_evaluations_too(new_window):
    # The study tab and Evaluate run have no Stop of their own: this button (and Esc) is it.
    tip = new_window().controls.stop_button.toolTip()
    assert all(word in tip for word in ("training", "study", "evaluation", "Esc"))


def input_widgets(win):
    """Every control a user can act on, without the parts Qt builds inside other widgets
    (a spin box's text field, a tab bar's scroll arrows, a table's corner button)."""
    inside = (QAbstractSpinBox, QComboBox, QTabBar, QMenuBar, QAbstractItemView)
    for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractItemView):
        for widget in win.findChildren(kind):
            if not isinstance(widget.parent(), inside) and not isinstance(widget.parent().parent(), inside):
                yield widget


def test_every_control_says_what_it_does(new_window):
    win = new_window()
    widgets = list(input_widgets(win))
    assert len(widgets) > 40
    assert win.controls.tensorboard in widgets and win.study.figure_list in widgets
    missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r} in {type(w.parent()).__name__}"
               for w in widgets if not w.toolTip().strip()]
    assert not missing, missing
    # Number boxes say their range.
    assert "1–512" in win.controls.latent_dim.toolTip() and "0–1000" in win.controls.beta.toolTip()
