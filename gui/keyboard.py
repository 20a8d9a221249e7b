"""The window's keyboard shortcuts: Ctrl+Enter trains, Esc stops."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut

if TYPE_CHECKING:
    from gui.window import MainWindow

# Return is the main keyboard's key, Enter the keypad's; people press either.
TRAIN_KEYS = ("Ctrl+Return", "Ctrl+Enter")
STOP_KEY = "Esc"


def install_shortcuts(window: "MainWindow") -> list[QShortcut]:
    """Shortcuts that press the Train and Stop buttons, so they do exactly what a click does
    and nothing while the button is disabled (Esc with no job running stops nothing)."""
    controls = window.controls
    shortcuts = []
    for keys, button in [*((k, controls.train_button) for k in TRAIN_KEYS), (STOP_KEY, controls.stop_button)]:
        shortcut = QShortcut(QKeySequence(keys), window)
        # Anywhere in the window, also while a spin box or list has the focus.
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(button.click)
        shortcuts.append(shortcut)
    return shortcuts
