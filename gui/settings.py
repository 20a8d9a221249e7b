"""Settings the window remembers across launches: the training controls, the window's size
and splitter, and the run folders opened or trained last (File → Open recent).

They live in a QSettings INI file in the user's settings folder (on Linux
``~/.config/VAE Studio/VAE Studio.ini``). What is read back is checked value by value
against TrainConfig's rules: a value of the wrong type, out of range, or naming a data set
the window no longer offers is ignored and that control keeps its default.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QSettings
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QMenu, QSplitter

from keras_models.config import AUTO_SIZED, FOLDER_PREFIXES, ConfigError, TrainConfig
from keras_models.events import RunStarted

if TYPE_CHECKING:
    from gui.window import MainWindow

ORGANISATION = APPLICATION = "VAE Studio"
# The training settings remembered, in the order they are put back: the model before β,
# so a stored β the model cannot take (β ≠ 1 for the VAE) is the one ignored.
REMEMBERED = ("model", "beta", "epochs", "batch_size", "latent_dim", "learning_rate", "dataset", "arch", "seed",
              "precision", "tensorboard")
RECENT_RUNS = 8
TYPES = {field.name: field.type for field in dataclasses.fields(TrainConfig)}


def settings_store() -> QSettings:
    """The user's settings file. Tests point it elsewhere with ``QSettings.setPath``."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def _as_field_type(name: str, value: Any) -> Any:
    """``value`` as INI files return it (text) converted to the type of TrainConfig field ``name``;
    ValueError when it cannot be."""
    kind = TYPES[name]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(str(value))
    if kind == "float":
        return float(value)
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def default_training() -> dict[str, Any]:
    """The window's defaults: TrainConfig's, with batch size and epochs on auto (None)."""
    return {**TrainConfig().to_dict(), **{name: None for name in AUTO_SIZED}}


def stored_training(store: QSettings) -> dict[str, Any]:
    """The remembered training settings that are still valid, on top of the window's defaults.
    Batch size and epochs left on auto are saved as nothing, and read back as auto."""
    values = default_training()
    for name in REMEMBERED:
        raw = store.value(f"training/{name}")
        if raw is None:
            continue
        try:
            candidate = {**values, name: _as_field_type(name, raw)}
            TrainConfig.from_dict(candidate).validate()
        except (ConfigError, ValueError, TypeError):
            continue
        dataset = candidate["dataset"]
        if name == "dataset" and dataset.startswith(FOLDER_PREFIXES) and not Path(dataset.partition(":")[2]).is_dir():
            continue  # the folder was removed since
        values = candidate
    return values


def recent_runs(store: QSettings) -> list[str]:
    raw = store.value("runs/recent")
    if isinstance(raw, str):  # an INI list of one comes back as that one string
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [folder for folder in raw if isinstance(folder, str) and folder][:RECENT_RUNS]


class RememberedSettings:
    """Puts the remembered settings into ``window`` now, remembers its run folders as they open,
    and adds File → Open recent and Settings → Restore defaults. ``save()`` when it closes."""

    def __init__(self, window: "MainWindow", store: QSettings | None = None) -> None:
        self.window = window
        self.store = store or settings_store()
        self.recent_menu = QMenu("Open &recent", window)
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        window.file_menu.insertMenu(window.save_model_action, self.recent_menu)
        self.restore_action = QAction("&Restore defaults", window)
        self.restore_action.setToolTip("Put every training setting back to its default")
        self.restore_action.triggered.connect(self.restore_defaults)
        settings_menu = window.menuBar().addMenu("&Settings")
        settings_menu.setToolTipsVisible(True)
        settings_menu.addAction(self.restore_action)
        # Greyed out while a job runs, as Open recent's runs are, rather than clickable and doing nothing.
        settings_menu.aboutToShow.connect(self._update_restore_action)
        # A run counts as recent when it starts training and when it opens.
        window.worker.signals.event.connect(
            lambda event: self.add_recent(event.run_dir) if isinstance(event, RunStarted) else None)
        window.worker.signals.model_changed.connect(
            lambda info: self.add_recent(info.run_dir) if info is not None else None)
        self.restore()

    # ----- training controls ------------------------------------------------------------------
    def _show(self, values: dict[str, Any]) -> None:
        controls = self.window.controls
        controls.show_config(values)
        controls.epochs.setValue(values["epochs"] or 0)  # show_config leaves epochs: a run's are its past

    def restore(self) -> None:
        self._show(stored_training(self.store))
        geometry, splitter_state = self.store.value("window/geometry"), self.store.value("window/splitter")
        # restoreGeometry and restoreState refuse (return False on) bytes that are not theirs.
        if geometry is not None:
            try:
                self.window.restoreGeometry(geometry)
            except TypeError:
                pass
        splitter = self.window.centralWidget()
        if splitter_state is not None and isinstance(splitter, QSplitter):
            try:
                splitter.restoreState(splitter_state)
            except TypeError:
                pass

    def _update_restore_action(self) -> None:
        busy = self.window.busy
        self.restore_action.setEnabled(not busy)
        self.restore_action.setToolTip("Wait for the job in progress to end" if busy
                                       else "Put every training setting back to its default")

    def restore_defaults(self) -> None:
        if self.window.busy:
            return
        self.window.controls.continue_run.setChecked(False)
        self._show(default_training())

    def save(self) -> None:
        settings = self.window.controls.config().to_dict()
        for name in REMEMBERED:
            if settings[name] is None:  # auto
                self.store.remove(f"training/{name}")
            else:
                self.store.setValue(f"training/{name}", settings[name])
        self.store.setValue("window/geometry", self.window.saveGeometry())
        splitter = self.window.centralWidget()
        if isinstance(splitter, QSplitter):
            self.store.setValue("window/splitter", splitter.saveState())
        self.store.sync()

    # ----- recent runs -----------------------------------------------------------------------------
    def recent(self) -> list[str]:
        return recent_runs(self.store)

    def add_recent(self, folder: str | Path) -> None:
        folder = str(Path(folder).absolute())
        runs = [folder, *(f for f in self.recent() if f != folder)][:RECENT_RUNS]
        self.store.setValue("runs/recent", runs)
        self.store.sync()

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        runs = self.recent()
        for folder in runs:
            action = menu.addAction(folder)
            # A folder removed since stays listed, greyed out, so the list does not jump about.
            if not Path(folder).is_dir():
                action.setEnabled(False)
                action.setToolTip("This folder no longer exists")
            elif self.window.busy:
                action.setEnabled(False)
                action.setToolTip("Wait for the job in progress to end")
            action.triggered.connect(lambda _=False, f=folder: self.window.open_run(f))
        if not runs:
            menu.addAction("No runs yet").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear the list")
        clear.setEnabled(bool(runs))
        clear.triggered.connect(lambda: (self.store.remove("runs/recent"), self.store.sync()))
