"""The Study tab: run the β study in the background, watch its table and figures arrive.

The table has one row per model kind/β, each number the mean ± standard deviation over
the seeds that finished so far, with n. Trials run here one after another (``local``) or
as Ray Tune trials in a separate process (``ray``, see keras_models.study.process).
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from PyQt6.QtCore import QRegularExpression, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices, QPixmap, QRegularExpressionValidator
from PyQt6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                             QLineEdit, QListWidget, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                             QTableWidget,
                             QTableWidgetItem, QVBoxLayout, QWidget)

from gui.image_panel import ScaledImage
from keras_models.config import ConfigError, parse_beta
from keras_models.events import TrialFailed
from keras_models.study.config import RAY_ADDRESS
from keras_models.study.stats import summary_table

NUMBER_LIST = r"^\s*(\d+(\.\d*)?|\.\d+)(\s+(\d+(\.\d*)?|\.\d+))*\s*$"
WHOLE_NUMBER_LIST = r"^\s*\d+(\s+\d+)*\s*$"


class StudyPanel(QWidget):
    """Settings of the study (the rest come from the training panel), its progress and results."""

    run_clicked = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.betas = QLineEdit("0.1 1 10")
        self.betas.setValidator(QRegularExpressionValidator(QRegularExpression(NUMBER_LIST)))
        self.betas.setToolTip("β values separated by spaces; β = 1 trains the vanilla VAE")
        self.include_cvae = QCheckBox("with a CVAE")
        self.include_cvae.setChecked(True)
        self.include_cvae.setToolTip("Also train a conditional VAE (β = 1) on the digit labels")
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 10_000)
        self.epochs.setValue(0)
        self.epochs.setSpecialValueText("auto")  # 0: enough optimizer steps for the training set (keras_models.sizing)
        self.epochs.setToolTip("Epochs each model of the study trains (1–10,000); auto: sized to the training set")
        self.k = QSpinBox()
        self.k.setRange(1, 100_000)
        self.k.setValue(1000)
        self.k.setToolTip("Importance samples per test image for the likelihood (IWAE bound; 1–100,000)")
        self.seeds = QLineEdit("0")
        self.seeds.setValidator(QRegularExpressionValidator(QRegularExpression(WHOLE_NUMBER_LIST)))
        self.seeds.setMaximumWidth(90)
        self.seeds.setToolTip("Seeds separated by spaces: every model is trained once per seed, and the table "
                              "gives mean ± standard deviation over them (three or more to compare β values)")
        self.engine = QComboBox()
        self.engine.addItem("local", "local")
        self.engine.addItem("Ray", "ray")
        self.engine.setToolTip("local: one model after another in this window's process. Ray: each model a Ray "
                               "Tune trial, side by side, run by a separate process (python main.py study "
                               "--engine ray) that this tab follows")
        self.address = QLineEdit()
        self.address.setPlaceholderText("this machine")
        self.address.setMaximumWidth(150)
        self.address.setToolTip("Ray cluster to join (auto or ray://HOST:PORT); empty starts Ray on this machine")
        self.address.setEnabled(False)
        self.engine.currentIndexChanged.connect(lambda: self.address.setEnabled(self.engine.currentData() == "ray"))
        self.run_button = QPushButton("Run study")
        self.run_button.setToolTip("Trains one model per β (and a CVAE) with the training panel's other "
                                   "settings, measures each on the test images and writes a report")
        self.run_button.clicked.connect(self.run_clicked)
        self.open_button = QPushButton("Open report")
        self.open_button.setEnabled(False)
        self.open_button.setToolTip("Open the study's HTML report in the web browser")
        self.open_button.clicked.connect(self.open_report)
        settings = QHBoxLayout()
        for label, widget in (("β values", self.betas), ("", self.include_cvae), ("Seeds", self.seeds),
                              ("Epochs", self.epochs), ("k", self.k), ("Engine", self.engine), ("", self.address)):
            if label:
                settings.addWidget(QLabel(label))
            settings.addWidget(widget)
        settings.addWidget(self.run_button)
        settings.addWidget(self.open_button)
        settings.addStretch(1)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("no study yet")
        self.progress.setValue(0)
        self.table = QTableWidget(0, 0)
        self.table.setToolTip("One row per model: mean ± standard deviation over the seeds, with n")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.conclusions = QLabel("")
        self.conclusions.setWordWrap(True)
        self.conclusions.setAlignment(Qt.AlignmentFlag.AlignTop)
        # With several seeds and β values the conclusions run long: they scroll, the figures keep their room.
        conclusions = QScrollArea()
        conclusions.setWidget(self.conclusions)
        conclusions.setWidgetResizable(True)
        conclusions.setMaximumHeight(130)
        conclusions.setFrameShape(QScrollArea.Shape.NoFrame)
        self.figure_list = QListWidget()
        self.figure_list.setMaximumWidth(220)
        self.figure_list.setToolTip("The study's figures: choose one to show it")
        self.figure_list.currentTextChanged.connect(self._show_figure)
        self.figure = ScaledImage("Figures appear here as the study writes them.")
        self.figure_paths: dict[str, str] = {}
        self.report_dir: Path | None = None
        self.rows: list[dict] = []  # every finished trial's row so far
        self.ended: list[dict] = []  # every trial that did not finish: key, title, seed, status, reason
        self.failures = QLabel("")
        self.failures.setWordWrap(True)
        self.failures.setStyleSheet("color: #8a1c1c;")

        figures = QSplitter()
        figures.addWidget(self.figure_list)
        figures.addWidget(self.figure)
        figures.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.estimate.setStyleSheet("color: gray")
        layout.addLayout(settings)
        layout.addWidget(self.estimate)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.failures)
        layout.addWidget(conclusions)
        layout.addWidget(figures, 1)

    def study_settings(self) -> dict:
        """The study's own settings and its engine; raises ConfigError naming a bad value."""
        betas = tuple(parse_beta(b) for b in re.split(r"\s+", self.betas.text().strip()) if b)
        if not betas:
            raise ConfigError("give at least one β for the study")
        seeds = tuple(int(s) for s in self.seeds.text().split())
        if not seeds:
            raise ConfigError("give at least one seed for the study")
        address = self.address.text().strip() or None
        if self.engine.currentData() == "ray" and address is not None and not RAY_ADDRESS.match(address):
            raise ConfigError(f"the Ray address must be auto, ray://HOST:PORT or HOST:PORT, got {address!r}")
        return {"betas": betas, "include_cvae": self.include_cvae.isChecked(), "epochs": self.epochs.value() or None,
                "k": self.k.value(), "seeds": seeds, "engine": self.engine.currentData(),
                "address": address if self.engine.currentData() == "ray" else None}

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.rows.clear()
        self.ended.clear()
        self.failures.setText("")
        self.figure_list.clear()
        self.figure_paths.clear()
        self.conclusions.setText("")
        self.open_button.setEnabled(False)
        self.report_dir = None

    def set_stage(self, text: str, fraction: float) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(f"{100 * fraction:.0f}% · {text}")

    def add_row(self, row: dict) -> None:
        """A trial finished: its numbers join its model kind's mean ± sd."""
        self.rows.append(row)
        self._show_table()

    def add_failure(self, failure: TrialFailed) -> None:
        """A trial ended without a row: it counts in its row's n, and the reason is listed."""
        self.ended.append(dataclasses.asdict(failure))
        self.failures.setText("\n".join(f"{e['title']}, seed {e['seed']}: {e['status']}"
                                        + (f" ({e['reason']})" if e["reason"] else "") for e in self.ended))
        self._show_table()

    def _show_table(self) -> None:
        # One row per model kind/β, as in the report; columns no model has a number for are left out.
        headers, cells = summary_table(self.rows, self.ended)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(cells))
        for r, line in enumerate(cells):
            for c, text in enumerate(line):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def add_figure(self, name: str, path: str) -> None:
        self.figure_paths[name] = path
        self.figure_list.addItem(name)
        self.figure_list.setCurrentRow(self.figure_list.count() - 1)

    def _show_figure(self, name: str) -> None:
        if name in self.figure_paths:
            self.figure.set_source(QPixmap(self.figure_paths[name]))

    def finish(self, result: dict) -> None:
        self.report_dir = Path(result["report_dir"])
        self.open_button.setEnabled(True)
        word = "stopped" if result["stopped"] else "finished"
        self.progress.setFormat(f"study {word}: {self.report_dir / 'report.html'}")
        self.conclusions.setText("\n".join(f"• {line}" for line in result["conclusions"]))

    def open_report(self) -> None:
        if self.report_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.report_dir / "report.html")))
