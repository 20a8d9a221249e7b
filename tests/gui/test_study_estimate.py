"""The study tab's estimate before Run: it says why there is none, and follows every setting
the measured throughput depends on."""

from keras_models.files import CACHE_ENV
from keras_models.study.estimate import Throughput, probe_key, save_throughput


def _window(qtbot):
    from gui.window import MainWindow

    window = MainWindow(load_data=lambda config: None)
    qtbot.addWidget(window)
    window.controls.dataset.setCurrentIndex(window.controls.dataset.findData("mnist-5k"))
    return window


def test_a_bad_beta_is_named_instead_of_a_blank_line(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    window = _window(qtbot)
    assert window.study.estimate.text().startswith("estimated time")
    window.study.betas.setText("5000")
    assert window.study.estimate.text().startswith("no estimate:")
    assert "5000" in window.study.estimate.text()


def test_the_estimate_follows_the_precision(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    # Figures measured for float32 only: auto shows the nominal ones until precision is float32.
    save_throughput(probe_key(100, "mlp", 10, (28, 28, 1), "float32"), Throughput(1e6, 1e9, 1e6))
    window = _window(qtbot)
    assert "nominal" in window.study.estimate.text()
    window.controls.precision.setCurrentText("float32")
    assert "measured on this machine" in window.study.estimate.text()
