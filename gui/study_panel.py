"""The Study tab: run the β study in the background, watch its table and figures arrive."""
from __future__ import annotations

import re
from pathlib import Path

from PyQt6.QtCore import QRegularExpression, QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices, QPixmap, QRegularExpressionValidator
from PyQt6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                             QListWidget, QProgressBar, QPushButton, QSpinBox, QSplitter, QTableWidget,
                             QTableWidgetItem, QVBoxLayout, QWidget)

from gui.image_panel import ScaledImage
from keras_models.config import ConfigError, parse_beta
from keras_models.formatting import STUDY_COLUMNS

NUMBER_LIST = r"^\s*(\d+(\.\d*)?|\.\d+)(\s+(\d+(\.\d*)?|\.\d+))*\s*$"


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
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(10)
        self.k = QSpinBox()
        self.k.setRange(1, 100_000)
        self.k.setValue(1000)
        self.k.setToolTip("Importance samples per test image for the likelihood (IWAE bound)")
        self.run_button = QPushButton("Run study")
        self.run_button.setToolTip("Trains one model per β (and a CVAE) with the training panel's other "
                                   "settings, measures each on the test images and writes a report")
        self.run_button.clicked.connect(self.run_clicked)
        self.open_button = QPushButton("Open report")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_report)
        settings = QHBoxLayout()
        for label, widget in (("β values", self.betas), ("", self.include_cvae), ("Epochs", self.epochs),
                              ("k", self.k)):
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
        self.table = QTableWidget(0, len(STUDY_COLUMNS))
        self.table.setHorizontalHeaderLabels([title for _, title in STUDY_COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.conclusions = QLabel("")
        self.conclusions.setWordWrap(True)
        self.figure_list = QListWidget()
        self.figure_list.setMaximumWidth(220)
        self.figure_list.currentTextChanged.connect(self._show_figure)
        self.figure = ScaledImage("Figures appear here as the study writes them.")
        self.figure_paths: dict[str, str] = {}
        self.report_dir: Path | None = None

        figures = QSplitter()
        figures.addWidget(self.figure_list)
        figures.addWidget(self.figure)
        figures.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(settings)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.conclusions)
        layout.addWidget(figures, 1)

    def study_settings(self) -> dict:
        """The study's own settings; raises ConfigError naming a bad β."""
        betas = tuple(parse_beta(b) for b in re.split(r"\s+", self.betas.text().strip()) if b)
        if not betas:
            raise ConfigError("give at least one β for the study")
        return {"betas": betas, "include_cvae": self.include_cvae.isChecked(), "epochs": self.epochs.value(),
                "k": self.k.value()}

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)

    def clear(self) -> None:
        self.table.setRowCount(0)
        for column in range(self.table.columnCount()):
            self.table.setColumnHidden(column, False)
        self.figure_list.clear()
        self.figure_paths.clear()
        self.conclusions.setText("")
        self.open_button.setEnabled(False)
        self.report_dir = None

    def set_stage(self, text: str, fraction: float) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(f"{100 * fraction:.0f}% · {text}")

    def add_row(self, row: dict, cells: list[str]) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        for column, text in enumerate(cells):
            self.table.setItem(index, column, QTableWidgetItem(text))
        # Columns no model has a number for (MIG on MNIST, class accuracy without a CVAE) stay hidden.
        for column in range(self.table.columnCount()):
            empty = all(self.table.item(row, column).text() == "–" for row in range(self.table.rowCount()))
            self.table.setColumnHidden(column, empty)

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
