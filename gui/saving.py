"""The Save… button every picture panel shares: ask for a PNG path, save, report a failure."""
from __future__ import annotations

from PyQt6.QtWidgets import QFileDialog, QWidget


def ask_png_path(parent: QWidget, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save as PNG", suggested, "PNG images (*.png)")
    if path and not path.lower().endswith(".png"):
        path += ".png"
    return path


class SavesPNG:
    """The Save… button's action, for panels with ``save_to(path)``, ``file_stem`` and ``_on_error``."""

    def has_content(self) -> bool:
        return True

    def _save_clicked(self) -> None:
        path = ask_png_path(self, f"{self.file_stem}.png")
        if path:
            try:
                self.save_to(path)
            except OSError as exc:
                self._on_error(f"cannot save {path}: {exc.strerror or exc}")
