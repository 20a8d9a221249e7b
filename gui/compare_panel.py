"""The Compare runs tab: several run folders side by side, read from their files.

Everything here runs on the GUI thread, so it reads files only (keras_models.compare)
and never imports TensorFlow, even to save a picture.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.ticker import MaxNLocator
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QListWidget,
                             QListWidgetItem, QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
                             QVBoxLayout, QWidget)

from gui.figure_panel import FigurePanel
from gui.image_panel import ImagePanel
from keras_models.compare import (ALL_DIMS_TRAVERSAL, RunSummary, comparison_table,
                                  load_run_summary, shared_traversal, traversal_stack)
from keras_models.config import TRAVERSAL_RANGE
from keras_models.files import RunError

CURVES = (("val_nelbo", "validation NELBO (nats)"), ("val_rec", "validation reconstruction (nats)"),
          ("val_kl", "validation KL (nats)"))
RUN_COLOURS = [to_hex(f"C{i}") for i in range(10)]
TRAVERSAL_PLACEHOLDER = "Add runs to see their latent traversals one above the other."
PLOTS_PLACEHOLDER = "Add run folders to overlay their validation losses\nand place them in the rate–distortion plane."


class TraversalStackPanel(ImagePanel):
    """The stacked traversals of the open runs."""

    def __init__(self, on_error: Callable[[str], None], parent=None) -> None:
        super().__init__("Latent traversals", "compared_traversals", on_error, parent)
        # The column is narrow: the caption gets a line of its own under the title instead of sharing it.
        self.layout().itemAt(0).layout().removeWidget(self.caption)
        self.layout().insertWidget(1, self.caption)
        self.caption.setWordWrap(True)
        self.image.setWordWrap(True)  # for the placeholder text
        self.clear()

    def clear(self) -> None:
        self.grid = None
        self.save_button.setEnabled(False)
        self.caption.setText("")
        self.image.source = None
        self.image.setText(TRAVERSAL_PLACEHOLDER)  # also drops the old picture


class ComparePanel(QWidget):
    """Open run folders, then see their validation curves, rate and distortion, numbers and traversals."""

    def __init__(self, on_error: Callable[[str], None], parent=None) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self.summaries: list[RunSummary] = []
        self.colours: list[str] = []  # one per run, kept while it is open so its curves do not change colour

        self.add_button = QPushButton("Add run…")
        self.add_button.setToolTip("Open a run folder (one with config.json) to compare")
        self.add_button.clicked.connect(self._add_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Close the selected runs")
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Close every run")
        self.clear_button.clicked.connect(self.clear)
        self.run_list = QListWidget()
        self.run_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.run_list.setMaximumHeight(110)
        self.run_list.setToolTip("The runs compared; select some to remove them")
        self.run_list.itemSelectionChanged.connect(self._update_buttons)

        self.plots = FigurePanel("Validation losses and rate–distortion", "compared_losses", on_error,
                                 figsize=(6.4, 4.4))
        self.plots.figure.set_layout_engine("constrained")
        self.table = QTableWidget(0, 0)
        self.table.setToolTip("The numbers of every run compared, one row each")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.traversals = TraversalStackPanel(on_error)

        buttons = QVBoxLayout()
        for button in (self.add_button, self.remove_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        runs = QHBoxLayout()
        runs.addLayout(buttons)
        runs.addWidget(self.run_list, 1)
        views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(self.plots)
        views.addWidget(self.table)
        views.setStretchFactor(0, 1)
        views.setSizes([480, 160])
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(runs)
        left_layout.addWidget(views, 1)
        # Stacked traversals are tall and narrow, so they get a full-height column of their own.
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.traversals)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([660, 340])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._refresh()

    # ----- opening and closing runs ---------------------------------------------------------------
    def _add_clicked(self) -> None:
        start = str(self.summaries[-1].run_dir.parent) if self.summaries else "runs"
        folder = QFileDialog.getExistingDirectory(self, "Add a run folder to compare", start)
        if folder:
            self.add_run(folder)

    def add_run(self, path: str | Path) -> bool:
        """Open the run folder ``path``; on failure report why through ``on_error`` and return False."""
        resolved = Path(path).resolve()
        for row, summary in enumerate(self.summaries):
            if summary.run_dir.resolve() == resolved:
                self.run_list.setCurrentRow(row)  # already open: point at it rather than show it twice
                return False
        try:
            summary = load_run_summary(path)
        except RunError as exc:
            self._on_error(str(exc))
            return False
        self.summaries.append(summary)
        unused = [c for c in RUN_COLOURS if c not in self.colours]
        self.colours.append(unused[0] if unused else RUN_COLOURS[len(self.colours) % len(RUN_COLOURS)])
        item = QListWidgetItem(summary.label)
        item.setForeground(QColor(self.colours[-1]))
        item.setToolTip(str(summary.run_dir))
        self.run_list.addItem(item)
        self._refresh()
        return True

    def remove_selected(self) -> None:
        """Close the runs selected in the list."""
        rows = sorted((self.run_list.row(item) for item in self.run_list.selectedItems()), reverse=True)
        for row in rows:
            del self.summaries[row], self.colours[row]
            self.run_list.takeItem(row)
        if rows:
            self._refresh()

    def clear(self) -> None:
        """Close every run."""
        self.summaries.clear()
        self.colours.clear()
        self.run_list.clear()
        self._refresh()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.run_list.selectedItems()))
        self.clear_button.setEnabled(bool(self.summaries))

    # ----- views ----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        self._update_buttons()
        self._draw_plots()
        self._fill_table()
        self._show_traversals()

    def _draw_plots(self) -> None:
        figure = self.plots.figure
        figure.clear()
        self.plots.save_button.setEnabled(bool(self.summaries))
        if not self.summaries:
            self.curve_axes, self.rate_axes = [], None  # empty axes with made-up ticks would only puzzle
            figure.text(0.5, 0.5, PLOTS_PLACEHOLDER, ha="center", va="center", color="grey")
            self.plots.canvas.draw_idle()
            return
        self.curve_axes = [figure.add_subplot(2, 2, i + 1) for i in range(len(CURVES))]
        self.rate_axes = figure.add_subplot(2, 2, 4)
        for ax, (column, title) in zip(self.curve_axes, CURVES):
            for summary, colour in zip(self.summaries, self.colours):
                epochs = [row["epoch"] for row in summary.history]
                values = [row.get(column, np.nan) for row in summary.history]
                ax.plot(epochs, values, color=colour, lw=1.5, marker="o", ms=2.5, label=summary.label)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        points = [(s.final("val_kl"), s.final("val_rec"), s.title, colour)
                  for s, colour in zip(self.summaries, self.colours) if s.history]
        middle = np.mean([kl for kl, *_ in points]) if points else 0.0
        for kl, rec, title, colour in points:
            self.rate_axes.plot([kl], [rec], "o", color=colour, ms=6)
            # Labels point towards the middle, so the ones at the edges stay inside the figure.
            right = kl <= middle
            self.rate_axes.annotate(title, (kl, rec), xytext=(5 if right else -5, 4), textcoords="offset points",
                                    ha="left" if right else "right", fontsize=7, color=colour)
        self.rate_axes.set_title("rate–distortion (last epoch)", fontsize=9)
        self.rate_axes.set_xlabel("rate: validation KL (nats)", fontsize=8)
        self.rate_axes.set_ylabel("distortion: val. rec. (nats)", fontsize=8)
        self.rate_axes.margins(0.25)  # room for the labels beside the points
        for ax in (*self.curve_axes, self.rate_axes):
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        figure.legend(*self.curve_axes[0].get_legend_handles_labels(), loc="outside upper center",
                      ncols=min(len(self.summaries), 4), fontsize=7, frameon=False)
        self.plots.canvas.draw_idle()

    def _fill_table(self) -> None:
        headers, rows = comparison_table(self.summaries)
        self.table.clear()
        self.table.setColumnCount(len(headers))
        # Two-line headers ("val\nNELBO") keep the table narrow enough to sit beside the traversals.
        self.table.setHorizontalHeaderLabels([header.replace(" ", "\n", 1) for header in headers])
        self.table.setRowCount(len(rows))
        for r, (cells, summary, colour) in enumerate(zip(rows, self.summaries, self.colours)):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setForeground(QColor(colour))  # matches the run's curves
                    item.setToolTip(str(summary.run_dir))
                else:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def _show_traversals(self) -> None:
        stem = shared_traversal(self.summaries)
        if stem is None:
            self.traversals.clear()
            return
        what = ("one row per latent dimension" if stem == ALL_DIMS_TRAVERSAL
                else f"latent dimension {stem.removeprefix('traversal_dim')} swept from "
                     f"−{TRAVERSAL_RANGE:g} to {TRAVERSAL_RANGE:g}")
        missing = [s.label for s in self.summaries if stem not in s.traversals]
        caption = f"{what}; one block per run, in list order" + (
            f"; no such grid in {', '.join(missing)}" if missing else "")
        self.traversals.set_grid(traversal_stack(self.summaries), caption)
