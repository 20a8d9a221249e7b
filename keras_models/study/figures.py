"""The study's matplotlib figures: loss curves, image rows, the rate–distortion plane, numbers
against β with their spread over seeds, and the KL of each latent dimension. Each function
returns a ``Figure`` (no pyplot, so no global state and no display is needed)."""
from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_models.formatting import STUDY_COLUMNS
from keras_models.study.stats import Group, format_spread

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def loss_curves_figure(curves: list[tuple[str, list[list[dict[str, float]]]]]) -> Figure:
    """``curves``: per model kind/β, its title and each seed's epoch history; one colour per
    model kind, one line per seed (solid train, dashed test)."""
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    for i, (term, label) in enumerate((("rec", "reconstruction −log p(x|z)"), ("kl", "KL(q(z|x) ‖ p(z))"),
                                       ("nelbo", "NELBO = rec + KL"))):
        ax = figure.add_subplot(1, 3, i + 1)
        for j, (title, histories) in enumerate(curves):
            colour = PALETTE[j % len(PALETTE)]
            for s, history in enumerate(histories):
                epochs = [r["epoch"] for r in history]
                ax.plot(epochs, [r[term] for r in history], "-", color=colour, alpha=0.8, lw=1,
                        label=f"{title} train" if s == 0 else None)
                ax.plot(epochs, [r[f"val_{term}"] for r in history], "--", color=colour, alpha=0.8, lw=1,
                        label=f"{title} test" if s == 0 else None)
        ax.set_title(label, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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


def rate_distortion_figure(data: dict[str, Any]) -> Figure:
    """Every seed's (rate, distortion) point, small and pale, and each model kind's mean over
    seeds, large; the family's means joined in order of β. ``data`` is
    ``stats.rate_distortion_points``."""
    figure = Figure(figsize=(6, 4.4), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    colours = {m["group"]: PALETTE[i % len(PALETTE)] for i, m in enumerate(data["means"])}
    for p in data["points"]:
        ax.plot([p["kl"]], [p["rec"]], "o", ms=4, alpha=0.45, color=colours[p["group"]])
    # Groups trained with a KL schedule stand apart (diamonds), off the line of the β family.
    family = sorted((m for m in data["means"] if m["model"] != "cvae" and not m.get("schedule")),
                    key=lambda m: m["beta"])
    ax.plot([m["kl"] for m in family], [m["rec"] for m in family], "-", color="#555", lw=1, zorder=1)
    for m in data["means"]:
        marker = "D" if m.get("schedule") else "s" if m["model"] == "cvae" else "o"
        ax.plot([m["kl"]], [m["rec"]], marker, ms=9, color=colours[m["group"]], markeredgecolor="black",
                label=f"{m['title']}: mean of {m['n']}")
        if m["model"] != "cvae" and not m.get("schedule"):
            ax.annotate(f"β = {m['beta']:g}", (m["kl"], m["rec"]), textcoords="offset points", xytext=(7, 5),
                        fontsize=8)
    ax.margins(0.15)  # room for the β labels
    ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)), nats")
    ax.set_ylabel("distortion: −log p(x|z), nats")
    ax.set_title("Rate–distortion plane (test set): small dots are seeds,\nlarge ones their mean, joined in "
                 "order of β", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return figure


UNITS = {"iwae_nll": "nats, lower is better", "frechet_distance": "lower is better", "kl": "nats",
         "nelbo": "nats, lower is better", "rec": "nats", "active_units": "of the latent size"}


def metrics_vs_beta_figure(groups: list[Group], keys: tuple[str, ...], unit_range: bool = False) -> Figure:
    """Each number of ``keys`` against β (the family, in order of β): the mean over seeds with an
    error bar of ± one standard deviation, and beside it each seed as a small dot."""
    titles = dict(STUDY_COLUMNS)
    figure = Figure(figsize=(3.7 * len(keys), 3.3), layout="constrained")
    positions = np.arange(len(groups))
    for i, key in enumerate(keys):
        ax = figure.add_subplot(1, len(keys), i + 1)
        colour = PALETTE[i % len(PALETTE)]
        spreads = [g.spread(key) for g in groups]
        for x, spread in zip(positions, spreads):
            if spread is not None:  # left of the mean, so the error bar does not hide them
                ax.plot(x - 0.12 - np.linspace(0, 0.06, spread.n), spread.values, "o", ms=3.5, alpha=0.6,
                        color=colour)
        shown = [(x, s) for x, s in zip(positions, spreads) if s is not None]
        ax.errorbar([x for x, _ in shown], [s.mean for _, s in shown], yerr=[s.sd or 0.0 for _, s in shown],
                    fmt="o-", color=colour, ecolor="black", capsize=4, lw=1.5, ms=6)
        ax.set_xticks(list(positions), [f"{g.beta:g}" for g in groups])
        ax.set_xlim(-0.5, len(groups) - 0.5)
        ax.set_xlabel("β")
        if unit_range:
            ax.set_ylim(0, 1.05)
        elif key == "active_units":
            ax.set_ylim(0, (groups[0].first("latent_dim") or 1) + 0.5)
        ax.set_title(titles[key] + (f" ({UNITS[key]})" if key in UNITS else ""), fontsize=10)
        ax.grid(alpha=0.3)
    return figure


def kl_bars_figure(groups: list[Group], kl_by_key: dict[str, np.ndarray]) -> Figure:
    """One bar chart per model kind of the mean KL of each latent dimension. With several seeds
    the dimensions are ranked by KL within each seed (dimension 3 of one seed has nothing to
    do with dimension 3 of another) and the bars are the mean over seeds, ± one standard
    deviation. Each title gives the group's active units as the table counts them, so the
    figure and the table agree (a dimension can carry KL > 0.01 yet say the same for every image)."""
    figure = Figure(figsize=(max(3.8 * len(groups), 5.0), 3.0), layout="constrained")
    bars = []
    for g in groups:
        kls = [np.asarray(kl_by_key[r["key"]], dtype=float) for r in g.rows]
        if len(kls) == 1:
            bars.append((kls[0], None))
        else:
            ranked = np.stack([np.sort(kl)[::-1] for kl in kls])
            bars.append((ranked.mean(axis=0), ranked.std(axis=0, ddof=1)))
    top = max(float(np.max(mean + (0 if sd is None else sd))) for mean, sd in bars) * 1.1 or 1.0
    for i, (g, (mean, sd)) in enumerate(zip(groups, bars)):
        ax = figure.add_subplot(1, len(groups), i + 1)
        ax.bar(range(len(mean)), mean, yerr=sd, capsize=2, color=PALETTE[i % len(PALETTE)])
        ax.set_ylim(0, top)
        units = format_spread(g.spread("active_units"), "active_units")
        # Wrapped: the titles of KL-schedule groups are longer than one panel is wide.
        ax.set_title(textwrap.fill(f"{g.title}: {units} of {g.first('latent_dim')} active units", 48)
                     + (f"\n(mean ± sd, n = {g.n})" if g.n > 1 else ""), fontsize=9)
        ax.set_xlabel("latent dimension" if sd is None else "dimensions, ranked by KL")
        if i == 0:
            ax.set_ylabel("KL, nats")
    return figure
