"""The live loss plot: reconstruction, KL and NELBO over epochs, one live canvas per term.

The plot is handed the numbers it shows; it never computes model output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.live_canvas import Limits, LiveCanvas
from gui.saving import SavesPNG
from gui.schedule_plot import (CAPACITY_KEYS, SCHEDULE_LINE_STYLES, WEIGHT_KEYS, run_schedule, schedule_line_kind,
                               schedule_lines, schedule_plan, weight_caption)
from keras_models.events import BatchProgress
from keras_models.images import save_figure

TERMS = (("rec", "Reconstruction −log p(x|z)"), ("kl", "KL(q(z|x) ‖ p(z))"), ("nelbo", "NELBO and β-weighted loss"))
TRAIN_COLOUR, VAL_COLOUR, BATCH_COLOUR = "#1f77b4", "#d62728", "#9ecae1"
LEGEND_HTML = (f'<span style="color:{BATCH_COLOUR}">━ train, running mean</span>&nbsp;&nbsp;'
               f'<span style="color:{TRAIN_COLOUR}">●━ train</span>&nbsp;&nbsp;'
               f'<span style="color:{VAL_COLOUR}">■╍ validation</span>&nbsp;&nbsp;'
               f'<span>┈ β-weighted loss</span>')


class TermCanvas(LiveCanvas):
    """One loss term's live plot.

    The limits grow with room to spare, so a falling loss does not ask for a
    new backdrop at every update. Titles and legends live in Qt labels beside
    the canvas: text is most of what drawing a backdrop costs.
    """

    def __init__(self, keys: list[str]) -> None:
        super().__init__(style_loss_axes, figsize=(2.6, 2.4))
        self.lines = {key: draw_loss_line(self.ax, key) for key in keys}
        self.set_data_artists(self.lines.values())

    def set_lines(self, data: dict[str, tuple[list[float], list[float]]], x_max: float) -> None:
        """New data for the lines (shown by the next ``show_data``), and new limits if it needs them."""
        for key, line in self.lines.items():
            line.set_data(*data[key])
        self.aim(self._limits_for(x_max))

    def _limits_for(self, x_max: float) -> Limits:
        """The target limits, or new ones if the data left them or fills too little of them."""
        _, ylim = self.target_limits
        values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in self.lines.values()])
        values = values[np.isfinite(values)]
        if values.size:
            low, high = float(values.min()), float(values.max())
            bottom, top = ylim
            span = max(high - low, 1e-3)
            if low < bottom or high > top or span < 0.3 * (top - bottom):
                ylim = (low - 0.3 * span, high + 0.3 * span)  # room to grow both ways
        return (0.0, float(x_max)), ylim


LINE_STYLES = {
    "batch": dict(color=BATCH_COLOUR, lw=1, label="train (running)"),
    "train": dict(color=TRAIN_COLOUR, marker="o", ms=3, lw=1.5, label="train"),
    "val": dict(color=VAL_COLOUR, marker="s", ms=3, lw=1.5, ls="--", label="validation"),
    "loss": dict(color=TRAIN_COLOUR, lw=1.5, ls=":", label="train β-loss"),
    "val_loss": dict(color=VAL_COLOUR, lw=1.5, ls=":", label="val β-loss"),
}


LINE_STYLES.update(SCHEDULE_LINE_STYLES)
KL_CAPTION, NELBO_CAPTION = dict(TERMS)["kl"], dict(TERMS)["nelbo"]


def _line_kind(key: str) -> str:
    if schedule_line_kind(key):
        return schedule_line_kind(key)
    if key.startswith("batch_"):
        return "batch"
    if key in ("loss", "val_loss"):
        return key
    return "val" if key.startswith("val_") else "train"


def draw_loss_line(ax: Axes, key: str) -> Line2D:
    line, = ax.plot([], [], **LINE_STYLES[_line_kind(key)])
    line.set_gid(key)
    return line


def style_loss_axes(ax: Axes, title: str | None = None) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)


def add_loss_legend(ax: Axes, term: str) -> None:
    lines = [l for l in ax.get_lines() if (_line_kind(l.get_gid()) in ("loss", "val_loss")) == (term == "nelbo")]
    ax.legend(handles=lines, fontsize=7, loc="upper right")


class LossPlot(SavesPNG, QWidget):
    """Reconstruction, KL and NELBO over epochs, train and validation, one live canvas each.

    The train curve also gets a point every few batches. Save… renders all
    three into one PNG.
    """

    def __init__(self, on_error: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file_stem = "losses"
        self._on_error = on_error
        self.canvases = {term: TermCanvas(self._keys(term)) for term, _ in TERMS}
        # The KL weight of a warm-up or cycles has its own small canvas, shown only for such runs and
        # blitted only when an epoch ends: the batch updates cost what they did without it.
        self.schedule = None
        self._schedule_plan, self._schedule_data = ([], []), schedule_lines(None, [], ([], []))
        self.weight_canvas = TermCanvas(list(WEIGHT_KEYS))
        self.weight_caption = QLabel()
        self.weight_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.weight_caption.setWordWrap(True)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save these plots as one PNG file")
        self.save_button.clicked.connect(self._save_clicked)
        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Losses</b> (nats per image, against epochs)"))
        header.addWidget(QLabel(LEGEND_HTML), 1)
        header.addWidget(self.save_button)
        row = QHBoxLayout()
        self.captions = {}
        for term, title in TERMS:
            column = QVBoxLayout()
            caption = self.captions[term] = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            column.addWidget(caption)
            column.addWidget(self.canvases[term], 1)
            row.addLayout(column, 1)
        self.weight_column = QWidget()
        column = QVBoxLayout(self.weight_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.weight_caption)
        column.addWidget(self.weight_canvas, 1)
        self.weight_column.setVisible(False)
        row.addWidget(self.weight_column, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addLayout(row, 1)
        self.lines = {key: line for c in (*self.canvases.values(), self.weight_canvas) for key, line in c.lines.items()}
        self.total_epochs = 1
        # The canvases blit one per event, so the window handles other events between them: the
        # three in a row took up to 30 ms of the GUI thread while training kept both cores busy.
        self._to_blit: list[TermCanvas] = []
        self._blit_timer = QTimer(self)
        self._blit_timer.setSingleShot(True)
        self._blit_timer.timeout.connect(self._blit_next)
        self.clear()

    @staticmethod
    def _keys(term: str) -> list[str]:
        keys = [f"batch_{term}", term, f"val_{term}"]
        # The capacity C is in nats, like the KL it pulls: it is drawn on the KL plot.
        return keys + {"nelbo": ["loss", "val_loss"], "kl": list(CAPACITY_KEYS)}.get(term, [])

    def clear(self) -> None:
        self.set_history([])

    def set_history(self, history: list[dict[str, float]], total_epochs: int | None = None,
                    config: dict | None = None) -> None:
        """Show a run's epochs so far, with room for ``total_epochs``; ``config``, the run's settings,
        brings its KL schedule (the whole plan is drawn at once)."""
        self.history = list(history)
        self.total_epochs = max(total_epochs or len(history), 1)
        self.batch_points: dict[str, list[float]] = {"x": [], **{t: [] for t, _ in TERMS}}
        self._batch_epoch = 0
        self.schedule = run_schedule(config)
        self._schedule_plan = schedule_plan(self.schedule, max(self.total_epochs, len(self.history)))
        weights = self.schedule is not None and self.schedule.column == "kl_weight"
        self.weight_column.setVisible(weights)
        self.weight_caption.setText(weight_caption(self.schedule) if weights else "")
        self.captions["kl"].setText(f"{KL_CAPTION} and capacity C (black)" if self.schedule is not None
                                    and not weights else KL_CAPTION)
        self.captions["nelbo"].setText(NELBO_CAPTION if self.schedule is None else "NELBO and the loss minimised")
        self._redraw(epoch_changed=True)

    def add_batch(self, progress: BatchProgress) -> None:
        x = progress.epoch - 1 + progress.batch / progress.steps
        if self.batch_points["x"] and progress.epoch != self._batch_epoch:
            # Keras restarts its running mean every epoch: a gap keeps epochs from being joined.
            for values in self.batch_points.values():
                values.append(np.nan)
        self._batch_epoch = progress.epoch
        self.batch_points["x"].append(x)
        for term, _ in TERMS:
            self.batch_points[term].append(progress.logs.get(term, np.nan))
        self._redraw()

    def add_epoch(self, record: dict[str, float]) -> None:
        self.history = [r for r in self.history if r["epoch"] < record["epoch"]] + [record]
        self._redraw(epoch_changed=True)

    def line_data(self) -> dict[str, tuple[list[float], list[float]]]:
        epochs = [r["epoch"] for r in self.history]
        data = {key: (epochs, [r.get(key, np.nan) for r in self.history]) for key in self.lines}
        for term, _ in TERMS:
            data[f"batch_{term}"] = (self.batch_points["x"], self.batch_points[term])
        data.update(self._schedule_data)
        return data

    def _redraw(self, epoch_changed: bool = False) -> None:
        if epoch_changed:  # the schedule's lines change only here, not with every batch
            self._schedule_data = schedule_lines(self.schedule, self.history, self._schedule_plan)
        data = self.line_data()
        x_max = max([self.total_epochs, *(r["epoch"] for r in self.history)])
        canvases = list(self.canvases.values())
        if epoch_changed:
            self.weight_canvas.set_lines(data, x_max)
            if self.weight_column.isVisibleTo(self):
                canvases.append(self.weight_canvas)
        for canvas in canvases:
            if canvas is not self.weight_canvas:
                canvas.set_lines(data, x_max)
            if canvas not in self._to_blit:
                self._to_blit.append(canvas)
        if not self._blit_timer.isActive():
            self._blit_timer.start(0)

    def _blit_next(self) -> None:
        if self._to_blit:
            self._to_blit.pop(0).show_data()
        if self._to_blit:
            self._blit_timer.start(0)  # started inside a timer event: it fires in a later pass

    def save_to(self, path: str | Path) -> Path:
        """Render the three plots into one PNG (a fresh figure: the live ones stay untouched)."""
        weights = self.weight_column.isVisibleTo(self)
        panels = [*TERMS, *([("kl_weight", self.weight_caption.text())] if weights else [])]
        figure = Figure(figsize=(10 + 3 * weights, 3.2), layout="constrained")
        data = self.line_data()
        for i, (term, title) in enumerate(panels):
            ax = figure.add_subplot(1, len(panels), i + 1)
            for key in (WEIGHT_KEYS if term == "kl_weight" else self._keys(term)):
                draw_loss_line(ax, key).set_data(*data[key])
            style_loss_axes(ax, self.captions[term].text() if term in self.captions else title)
            ax.relim()
            ax.autoscale_view()
            if term in ("rec", "nelbo"):
                add_loss_legend(ax, term)
        return save_figure(figure, path)
