"""Fixtures for window tests: a window on tiny data, and a guard against leaked threads."""
import weakref

import pytest
from PyQt6.QtCore import QSettings, QThread

from tests.helpers import make_digits

READY_TIMEOUT_MS = 120_000


@pytest.fixture(autouse=True)
def no_dangling_qthreads(monkeypatch):
    """Fail any test that leaves a QThread running (napari's _dangling_qthreads, simplified)."""
    started: list[weakref.ref] = []
    original_start = QThread.start

    def tracking_start(self, *args):
        started.append(weakref.ref(self))
        return original_start(self, *args)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield
    running = [ref() for ref in started if ref() is not None and ref().isRunning()]
    for thread in running:
        thread.quit()
        thread.wait(30_000)
    assert not running, f"test left {len(running)} QThread(s) running"


@pytest.fixture(autouse=True)
def settings_folder(tmp_path):
    """Each test's window remembers its settings in a folder of its own: never the user's
    settings, and nothing left from another test."""
    folder = tmp_path / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture
def tiny_data():
    from keras_models.data import DataSplit

    train_x, train_y = make_digits(300, seed=1)
    val_x, val_y = make_digits(60, seed=2)
    return DataSplit("tiny synthetic digits", train_x, train_y, val_x, val_y)


@pytest.fixture
def window(qtbot, tmp_path, tiny_data):
    """A shown MainWindow whose worker has loaded TensorFlow; it trains on ``tiny_data``."""
    from gui.window import MainWindow

    win = MainWindow(load_data=lambda config: tiny_data)
    win.runs_folder = tmp_path / "runs"
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.worker.signals.ready, timeout=READY_TIMEOUT_MS):
        win.start_worker()
    yield win
    win.close()
