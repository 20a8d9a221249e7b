"""The study's matplotlib figures: loss curves, image rows, the rate–distortion plane,
disentanglement against β and the KL of each latent dimension. Each function returns a
``Figure`` (no pyplot, so no global state and no display is needed)."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from keras_models.formatting import STUDY_COLUMNS

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def loss_curves_figure(histories: dict[str, list[dict[str, float]]], titles: dict[str, str]) -> Figure:
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    for i, (term, label) in enumerate((("rec", "reconstruction −log p(x|z)"), ("kl", "KL(q(z|x) ‖ p(z))"),
                                       ("nelbo", "NELBO = rec + KL"))):
        ax = figure.add_subplot(1, 3, i + 1)
        for j, (key, history) in enumerate(histories.items()):
            epochs = [r["epoch"] for r in history]
            colour = PALETTE[j % len(PALETTE)]
            ax.plot(epochs, [r[term] for r in history], "-", color=colour, label=f"{titles[key]} train")
            ax.plot(epochs, [r[f"val_{term}"] for r in history], "--", color=colour, label=f"{titles[key]} test")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats")
        ax.grid(alpha=0.3)
        if i == 2:
            ax.legend(fontsize=7)
    return figure


def _grid_axes(ax, grid: np.ndarray, title: str) -> None:
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def image_rows_figure(rows: list[tuple[str, list[tuple[str, np.ndarray]]]], width: float = 11) -> Figure:
    """One row per model, one column per grid."""
    columns = max(len(grids_) for _, grids_ in rows)
    figure = Figure(figsize=(width, 2.6 * len(rows)), layout="constrained")
    for r, (model_title, row_grids) in enumerate(rows):
        for c, (grid_title, grid) in enumerate(row_grids):
            _grid_axes(figure.add_subplot(len(rows), columns, r * columns + c + 1), grid,
                       f"{model_title}: {grid_title}")
    return figure


def rate_distortion_figure(rows: list[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    family = [r for r in rows if r["model"] != "cvae"]
    ax.plot([r["kl"] for r in family], [r["rec"] for r in family], "o-", color=PALETTE[0], label="VAE / β-VAE")
    for r in family:
        ax.annotate(f"β = {r['beta']:g}", (r["kl"], r["rec"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    for r in rows:
        if r["model"] == "cvae":
            ax.plot([r["kl"]], [r["rec"]], "s", color=PALETTE[1], label="CVAE (β = 1)")
    ax.margins(0.15)  # room for the β labels
    ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)), nats")
    ax.set_ylabel("distortion: −log p(x|z), nats")
    ax.set_title("Rate–distortion plane (test set), joined in order of β", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure


def disentanglement_figure(rows: list[dict[str, Any]]) -> Figure:
    """Each disentanglement metric against β: the figure that answers the study's question."""
    family = [r for r in rows if r["model"] != "cvae"]
    figure = Figure(figsize=(11, 3.2), layout="constrained")
    positions = range(len(family))
    for i, key in enumerate(("mig", "dci_disentanglement", "factor_vae")):
        ax = figure.add_subplot(1, 3, i + 1)
        ax.plot(positions, [r[key] for r in family], "o-", color=PALETTE[i])
        ax.set_xticks(list(positions), [f"{r['beta']:g}" for r in family])
        ax.set_xlabel("β")
        ax.set_ylim(0, 1.05)
        ax.set_title(dict(STUDY_COLUMNS)[key], fontsize=10)
        ax.grid(alpha=0.3)
    return figure


def kl_bars_figure(rows: list[dict[str, Any]], kl_by_key: dict[str, np.ndarray]) -> Figure:
    """One bar chart per row of the mean KL of each latent dimension. Each title gives the
    row's active units, the count of the metrics table, so the figure and the table agree
    (a dimension can carry KL > 0.01 yet say the same for every image)."""
    figure = Figure(figsize=(3.2 * len(rows), 2.8), layout="constrained")
    top = max(float(np.max(kl_by_key[r["key"]])) for r in rows) * 1.1 or 1.0
    for i, r in enumerate(rows):
        kl = kl_by_key[r["key"]]
        ax = figure.add_subplot(1, len(rows), i + 1)
        ax.bar(range(len(kl)), kl, color=PALETTE[i % len(PALETTE)])
        ax.set_ylim(0, top)
        ax.set_title(f"{r['title']}: {r['active_units']} of {r['latent_dim']} active units", fontsize=9)
        ax.set_xlabel("latent dimension")
        if i == 0:
            ax.set_ylabel("KL, nats")
    return figure
