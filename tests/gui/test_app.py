"""Start-up: clear advice when Qt cannot open a window, and no TensorFlow before the window shows."""
import ctypes
import subprocess
import sys
from pathlib import Path

from gui import app


def test_missing_xcb_libraries_give_one_line_of_advice(monkeypatch, capsys):
    real_cdll = ctypes.CDLL

    def fake_cdll(name, *args, **kwargs):
        if name in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
            raise OSError(f"{name}: cannot open shared object file")
        return real_cdll(name, *args, **kwargs) if name not in app.XCB_LIBRARIES else object()

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(ctypes, "CDLL", fake_cdll)
    assert app.missing_platform_packages() == ["libxcb-icccm4", "libxcb-keysyms1"]

    import main
    assert main.main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in err[0]


def test_no_display_gives_one_line_of_advice(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(app, "missing_platform_packages", lambda: [])
    assert "no display" in app.platform_problem()


def test_offscreen_platform_needs_nothing(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.platform_problem() is None


def test_the_window_modules_do_not_import_tensorflow():
    # TensorFlow takes seconds to import: it must load after the window is on screen. One fresh
    # process checks after each module's import, so each is judged on what it alone added.
    code = ("import importlib, sys\n"
            "for module in ('gui.window', 'gui.app'):\n"
            "    importlib.import_module(module)\n"
            "    print(module, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.splitlines() == ["gui.window False", "gui.app False"]
