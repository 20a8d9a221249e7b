"""Start the window: check the platform first, show the window, then load TensorFlow."""
from __future__ import annotations

import ctypes
import os
import sys
import time

# Shared libraries Qt's X11 (xcb) platform plugin needs and pip cannot install,
# with the Debian/Ubuntu package that provides each.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
# Set by bench/startup_time.py: print the time to a visible window and quit.
STARTUP_PROBE = "VAE_STUDIO_STARTUP_PROBE"


def missing_platform_packages() -> list[str]:
    """Debian packages whose libraries the xcb plugin would fail to load (empty elsewhere)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb"):
        return []
    missing = []
    for library, package in XCB_LIBRARIES.items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(package)
    return missing


def platform_problem() -> str | None:
    """A one-line explanation of why Qt could not open a window here, or None."""
    missing = missing_platform_packages()
    if missing:
        return ("the window needs system libraries that are missing; install them with: "
                f"sudo apt-get install {' '.join(missing)}  (or run `make requirements`)")
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux") and platform in ("", "xcb") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("no display to open the window on: run it in a desktop session, or use "
                "`python main.py train …` to train without a window")
    return None


def run_app(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    problem = platform_problem()
    if problem:
        print(f"main.py: error: {problem}", file=sys.stderr)
        return 1
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from gui.window import MainWindow

    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("VAE Studio")
    window = MainWindow()
    # An exception escaping a slot would otherwise abort the whole process under PyQt6:
    # report it in the window and carry on.
    def report(kind, value, tb) -> None:
        sys.__excepthook__(kind, value, tb)
        window.show_error(f"unexpected error: {kind.__name__}: {value}")
    sys.excepthook = report
    window.show()
    if os.environ.get(STARTUP_PROBE):
        def report() -> None:
            print(f"window shown after {time.perf_counter() - started:.3f} s in-process", flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(0, report)
    else:
        # TensorFlow loads in the worker thread once the window is on screen.
        QTimer.singleShot(0, window.start_worker)
    code = app.exec()
    window.shutdown()
    return code
