"""The File menu: open a run, save the model, save every picture, export the traversal GIF.

A mixin of the main window: these actions read the window's panels and run folder and
hand their work to its worker, and live here to keep the window's own module about layout
and the worker's reports.
"""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog

from gui.worker import ExportGifJob, SaveModelJob


class FileActions:
    """File-menu behaviour of ``gui.window.MainWindow``."""

    def _build_menu(self) -> None:
        self.file_menu = file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open run…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._open_run_clicked)
        self.save_model_action = QAction("Save &model…", self)
        self.save_model_action.triggered.connect(self._save_model_clicked)
        self.save_all_action = QAction("Save &all pictures", self, shortcut=QKeySequence.StandardKey.Save)
        self.save_all_action.triggered.connect(self._save_all_clicked)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (self.open_action, self.save_model_action, self.save_all_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

    def _open_run_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.run_dir or "runs"))
        if folder:
            self.open_run(folder)

    def _save_model_clicked(self) -> None:
        suggested = str((self.run_dir or Path(".")) / "model.keras")
        path, _ = QFileDialog.getSaveFileName(self, "Save model", suggested, "Keras models (*.keras)")
        if path:
            self.worker.submit(SaveModelJob(path if path.endswith(".keras") else path + ".keras"))

    def _export_gif_clicked(self) -> None:
        suggested = str((self.run_dir or Path(".")) / "traversal.gif")
        path, _ = QFileDialog.getSaveFileName(self, "Export traversal GIF", suggested, "GIF animations (*.gif)")
        if path:
            self.export_gif(path if path.lower().endswith(".gif") else path + ".gif")

    def export_gif(self, path: str) -> None:
        self.request_views()  # the GIF follows the settings on screen
        self.worker.submit(ExportGifJob(path))

    def _save_all_clicked(self) -> None:
        if self.run_dir is None:
            self.show_error("there is no run folder yet: train a model or open a run")
            return
        written = self.save_all(self.run_dir / "figures")
        if written:
            self.statusBar().showMessage(f"saved {len(written)} pictures in {self.run_dir / 'figures'}", 8000)

    def save_all(self, folder: Path) -> list[Path]:
        """Write every picture that has content into ``folder``; errors go to a message box."""
        panels = [*self.training_tab.panels(), self.traversal, self.class_grid, self.class_style,
                  *self.latent_tabs.panels()]
        written = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for panel in panels:
                if panel.has_content():
                    written.append(panel.save_to(folder / f"{panel.file_stem}.png"))
        except OSError as exc:
            self.show_error(f"cannot save pictures in {folder}: {exc.strerror or exc}")
        return written
