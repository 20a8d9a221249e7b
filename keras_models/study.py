"""The β study: train a family of models on the same data and seed, measure them,
and write a report (Markdown and HTML), its figures and a metrics table.

Every sentence of the report's conclusions is generated from the measured
numbers; nothing is written in advance.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from keras_models import grids
from keras_models.config import (DISENTANGLEMENT_KEYS, STUDY_COLUMNS, ConfigError, Stopped, TrainConfig,
                                 check_stop, format_cell, parse_beta)
from keras_models.data import DataSplit, binarize_fixed, load_dataset
from keras_models.files import write_text_atomic
from keras_models.images import save_figure
from keras_models.models import EVAL_SEED, VAE

REFERENCE_BETAS = (0.1, 1.0, 10.0)
BURDA_NLL = "Burda et al. (2016) report 86.76 nats for a one-stochastic-layer VAE on MNIST (IS with k = 5000)"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclasses.dataclass
class StudyConfig:
    """A study: the β values, what to measure, and ``training``, the settings every model
    shares (its model and β are set per model)."""

    training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    betas: tuple[float, ...] = REFERENCE_BETAS
    include_cvae: bool = True
    k: int = 1000
    traverse_dim: int | None = None  # None: dimension 6, or the last one of a smaller code
    classes: tuple[int, ...] = (1, 4, 9)
    test_images: int | None = None  # measure on the first N test images (None: all of them)
    out: str = "reports"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "StudyConfig":
        values = dict(values)
        values["training"] = TrainConfig.from_dict(values.get("training", {}))
        return cls(**values)

    def validate(self) -> "StudyConfig":
        if not self.betas:
            raise ConfigError("give at least one beta")
        self.betas = tuple(sorted({parse_beta(b) for b in self.betas}))
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"k (importance samples) must be a whole number >= 1, got {self.k!r}")
        latent_dim = self.training.latent_dim
        if self.traverse_dim is None:
            self.traverse_dim = min(6, latent_dim - 1)
        if not 0 <= self.traverse_dim < latent_dim:
            raise ConfigError(f"traverse dimension {self.traverse_dim} does not exist with latent size {latent_dim}")
        if self.test_images is not None and (isinstance(self.test_images, bool) or self.test_images < 10):
            raise ConfigError(f"test images must be a whole number >= 10, got {self.test_images!r}")
        if not self.classes or any(not 0 <= c <= 9 for c in self.classes):
            raise ConfigError(f"classes must be digits 0-9, got {list(self.classes)}")
        for entry in self.entries():
            self.train_config(entry).validate()
        return self

    def entries(self) -> list[dict[str, Any]]:
        """The models of the study, in order of β, then the CVAE."""
        entries = [{"key": "vae" if beta == 1.0 else f"bvae_b{beta:g}", "model": "vae" if beta == 1.0 else "bvae",
                    "beta": beta, "title": "VAE (β = 1)" if beta == 1.0 else f"β-VAE (β = {beta:g})"}
                   for beta in self.betas]
        if self.include_cvae:
            entries.append({"key": "cvae", "model": "cvae", "beta": 1.0, "title": "CVAE (β = 1)"})
        return entries

    def train_config(self, entry: dict[str, Any], out: str | None = None) -> TrainConfig:
        return dataclasses.replace(self.training, model=entry["model"], beta=entry["beta"], out=out or self.out)


class StudyListener:
    """Receives a study's progress (on the thread that runs it). Override what you need."""

    def on_stage(self, text: str, fraction: float) -> None:
        """A new step began; ``fraction`` of the whole study is done."""

    def on_training(self, entry: dict[str, Any]):
        """A TrainingListener for the session that trains ``entry`` (None: no progress)."""
        return None

    def on_model_done(self, row: dict[str, Any]) -> None:
        """One model is trained and measured: its row of the metrics table."""

    def on_figure(self, name: str, path: Path) -> None:
        """A figure was written."""


@dataclasses.dataclass
class StudyResult:
    report_dir: Path
    rows: list[dict[str, Any]]
    conclusions: list[str]
    stopped: bool


DISENTANGLEMENT_IMAGES = 10_000


def disentanglement_numbers(model: VAE, data: DataSplit) -> dict[str, float]:
    """MIG, DCI and the FactorVAE score of the model's mean codes, on a data set with known factors."""
    from keras_models import disentanglement

    n = DISENTANGLEMENT_IMAGES

    def codes(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return model.encode(images[:n], labels[:n] if model.conditional else None)[0]

    test_codes, test_factors = codes(data.val_x, data.val_y), data.val_factors[:n]
    dci = disentanglement.dci(codes(data.train_x, data.train_y), data.train_factors[:n], test_codes, test_factors)
    return {
        "mig": disentanglement.mig(test_codes, test_factors)["score"],
        "dci_disentanglement": dci["disentanglement"],
        "dci_completeness": dci["completeness"],
        "factor_vae": disentanglement.factor_vae_score_from_codes(test_codes, test_factors)["score"],
    }


# ----- figures ------------------------------------------------------------------------------
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


def kl_bars_figure(kl_by_model: dict[str, np.ndarray], titles: dict[str, str]) -> Figure:
    figure = Figure(figsize=(3.2 * len(kl_by_model), 2.8), layout="constrained")
    top = max(float(np.max(v)) for v in kl_by_model.values()) * 1.1 or 1.0
    for i, (key, kl) in enumerate(kl_by_model.items()):
        ax = figure.add_subplot(1, len(kl_by_model), i + 1)
        ax.bar(range(len(kl)), kl, color=PALETTE[i % len(PALETTE)])
        ax.set_ylim(0, top)
        ax.set_title(f"{titles[key]}: {int((kl > 0.01).sum())} of {len(kl)} > 0.01", fontsize=9)
        ax.set_xlabel("latent dimension")
        if i == 0:
            ax.set_ylabel("KL, nats")
    return figure


# ----- conclusions, from the numbers ------------------------------------------------------------
def _trend(values: list[float], betas: list[float]) -> str:
    diffs = np.diff(values)
    if np.all(diffs == 0):
        return "stayed level"
    if np.all(diffs > 0):
        return "rose steadily"
    if np.all(diffs < 0):
        return "fell steadily"
    if np.all(diffs >= 0):
        return "rose or stayed level"
    if np.all(diffs <= 0):
        return "fell or stayed level"
    return (f"did not move one way (lowest at β = {betas[int(np.argmin(values))]:g}, "
            f"highest at β = {betas[int(np.argmax(values))]:g})")


def conclusions(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences stating which way each number moved with β, generated from ``rows``."""
    family = sorted((r for r in rows if r["model"] != "cvae"), key=lambda r: r["beta"])
    lines: list[str] = []
    if len(family) >= 2:
        lo, hi = family[0], family[-1]
        span = f"from β = {lo['beta']:g} to β = {hi['beta']:g}"
        for key, name in (("rec", "the reconstruction term"), ("kl", "the KL term (rate)"),
                          ("nelbo", "the test NELBO"), ("iwae_nll", "the importance-sampled NLL"),
                          ("active_units", "the number of active units"),
                          ("frechet_distance", "the Fréchet distance of samples to test images"),
                          ("mig", "MIG"), ("dci_disentanglement", "DCI disentanglement"),
                          ("factor_vae", "the FactorVAE score")):
            values = [r.get(key) for r in family]
            if any(v is None for v in values):
                continue
            fmt = "{:d}" if key == "active_units" else "{:.2f}"
            sentence = (f"{span}, {name} {_trend(values, [r['beta'] for r in family])}: "
                        + ", ".join(f"{fmt.format(v)} (β = {r['beta']:g})" for v, r in zip(values, family)) + ".")
            lines.append(sentence[0].upper() + sentence[1:])
        best_fd = [r for r in family if r["frechet_distance"] is not None]
        if best_fd:
            best = min(best_fd, key=lambda r: r["frechet_distance"])
            lines.append(f"The best samples by Fréchet distance came from β = {best['beta']:g} "
                         f"({best['frechet_distance']:.2f}); the best likelihood from β = "
                         f"{min(family, key=lambda r: r['iwae_nll'])['beta']:g}.")
            rec_up = hi["rec"] > lo["rec"]
            fd_up = hi["frechet_distance"] is not None and lo["frechet_distance"] is not None and \
                hi["frechet_distance"] > lo["frechet_distance"]
            lines.append(
                "The reference project presents a larger β as buying a more disentangled code at the cost of "
                "reconstruction and sample quality. Here a larger β " + ("did" if rec_up else "did not")
                + " worsen reconstructions, and " + ("did" if fd_up else "did not")
                + " worsen samples by Fréchet distance"
                + ("" if fd_up else ", which contradicts that claim for sample quality") + ".")
        if lo.get("mig") is not None and hi.get("mig") is not None:
            raised = hi["mig"] > lo["mig"]
            lines.append(f"On this data set the factors are known, so disentanglement is measured: β = {hi['beta']:g} "
                         f"{'raised' if raised else 'did not raise'} MIG over β = {lo['beta']:g} "
                         f"({lo['mig']:.3f} to {hi['mig']:.3f})"
                         + ("" if raised else ", which contradicts the reference's claim") + ".")
        else:
            lines.append("This data set has no ground-truth factors, so disentanglement itself is not measured: "
                         "fewer active units means a more compressed code, not by itself a disentangled one "
                         "(run the study with --dataset shapes for MIG, DCI and the FactorVAE score).")
    for r in rows:
        if r["model"] == "cvae" and r["class_accuracy"] is not None:
            lines.append(f"The CVAE drew the requested class {100 * r['class_accuracy']:.1f}% of the time "
                         f"(judged by the evaluation classifier, {100 * r['classifier_accuracy']:.1f}% accurate "
                         "on the test set).")
    return lines


# ----- report documents --------------------------------------------------------------------------
def table_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The table's columns, without those no model has a number for (e.g. MIG on MNIST)."""
    return [(key, title) for key, title in STUDY_COLUMNS
            if key in ("title", "beta") or any(r.get(key) is not None for r in rows)]


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[format_cell(r, key) for key, _ in table_columns(rows)] for r in rows]


def render_markdown(doc: list[tuple]) -> str:
    parts = []
    for block in doc:
        kind = block[0]
        if kind == "h1":
            parts.append(f"# {block[1]}")
        elif kind == "h2":
            parts.append(f"## {block[1]}")
        elif kind == "p":
            parts.append(block[1])
        elif kind == "list":
            parts.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            headers, rows = block[1], block[2]
            parts.append("\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                                   + ["| " + " | ".join(row) + " |" for row in rows]))
        elif kind == "img":
            parts.append(f"![{block[2]}]({block[1]})\n\n*{block[2]}*")
    return "\n\n".join(parts) + "\n"


def render_html(doc: list[tuple], title: str) -> str:
    e = html.escape
    body = []
    for block in doc:
        kind = block[0]
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{e(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{e(block[1])}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            body.append(f'<figure><img src="{e(block[1])}" alt="{e(block[2])}"><figcaption>{e(block[2])}'
                        "</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}figcaption{color:#555}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def metrics_csv_text(rows: list[dict[str, Any]]) -> str:
    keys = ["key", "model", "beta", "nelbo", "rec", "kl", "iwae_nll", "elbo_gap", "active_units", "latent_dim",
            "frechet_distance", "class_accuracy", "classifier_accuracy", *DISENTANGLEMENT_KEYS, "k",
            "binarisation", "test_images", "epochs", "run_dir"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})
    return buffer.getvalue()


# ----- the study -------------------------------------------------------------------------------------
def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(side) for side in shape)


def run_study(config: StudyConfig, data: DataSplit | None = None, test_set: tuple[np.ndarray, np.ndarray] | None = None,
              listener: StudyListener | None = None, stop_event: threading.Event | None = None,
              classifier_cache: str | Path | None = None, verbose: int = 0) -> StudyResult:
    """Train every model of ``config``, measure it on the test images, write the report.

    ``test_set`` (images, labels) replaces the data set's own test split for
    validation and every measurement, for example real MNIST test images beside
    the offline training set.
    """
    from keras_models import classifier as digit_classifier
    from keras_models import evaluation
    from keras_models.training import TrainingSession, create_run_dir

    config.validate()
    listener = listener or StudyListener()
    stop_event = stop_event or threading.Event()
    if data is None:
        data = load_dataset(config.training.dataset, config.training.data_dir)
    if test_set is not None:
        if test_set[0].shape[1:] != data.image_shape:
            # Checked now: otherwise the study would train every model before failing.
            raise ValueError(f"the test images are {_shape_text(test_set[0].shape[1:])} but {data.name} "
                             f"trains on {_shape_text(data.image_shape)}")
        data = dataclasses.replace(data, val_x=test_set[0], val_y=test_set[1], val_factors=None)
    if config.test_images is not None:
        n = config.test_images
        data = dataclasses.replace(data, val_x=data.val_x[:n], val_y=data.val_y[:n], val_factors=None
                                   if data.val_factors is None else data.val_factors[:n])
    report_dir = create_run_dir(config.out, "study")
    figures_dir = report_dir / "figures"
    figures_dir.mkdir()
    entries = config.entries()
    steps = len(entries) * 2 + 2

    rows: list[dict[str, Any]] = []
    models: dict[str, VAE] = {}
    histories: dict[str, list[dict[str, float]]] = {}
    binary_test = binarize_fixed(data.val_x, EVAL_SEED)
    stopped = False
    try:
        listener.on_stage("training the evaluation classifier (cached after the first time)", 0.0)
        clf = digit_classifier.load_or_train_classifier(data, cache_dir=classifier_cache, seed=config.training.seed,
                                                        stop_event=stop_event)
        for i, entry in enumerate(entries):
            check_stop(stop_event)
            listener.on_stage(f"training {entry['title']} ({i + 1} of {len(entries)})", (2 * i + 1) / steps)
            session = TrainingSession.new(config.train_config(entry, out=str(report_dir / "runs")), data=data,
                                          listener=listener.on_training(entry), stop_event=stop_event, verbose=verbose)
            result = session.run()
            if result.stopped:
                raise Stopped
            listener.on_stage(f"measuring {entry['title']} (IWAE with k = {config.k})", (2 * i + 2) / steps)
            measured = evaluation.evaluate(result.model, data.val_x, data.val_y, k=config.k, seed=EVAL_SEED,
                                           classifier=clf, stop_event=stop_event)
            if data.val_factors is not None:
                listener.on_stage(f"measuring the disentanglement of {entry['title']}", (2 * i + 2) / steps)
                measured.update(disentanglement_numbers(result.model, data))
            labels = data.val_y if result.model.conditional else None
            row = {**entry, **{k: v for k, v in measured.items() if k not in ("protocol", "latent_variance")},
                   "k": config.k, "binarisation": measured["protocol"]["binarisation"],
                   "test_images": measured["protocol"]["images"], "epochs": config.training.epochs,
                   "run_dir": str(result.run_dir.relative_to(report_dir)),
                   "kl_per_dim": result.model.kl_per_dimension(binary_test, labels)}
            rows.append(row)
            models[entry["key"]] = result.model
            histories[entry["key"]] = result.history
            listener.on_model_done({k: v for k, v in row.items() if k != "kl_per_dim"})
    except Stopped:  # a model half-trained or half-measured is left out; the finished ones are reported
        stopped = True

    listener.on_stage("drawing figures and writing the report", (steps - 1) / steps)
    titles = {e["key"]: e["title"] for e in entries}
    doc = _report_document(config, data, rows, models, histories, titles, figures_dir, listener)
    write_text_atomic(report_dir / "metrics.csv", metrics_csv_text(rows))
    write_text_atomic(report_dir / "report.md", render_markdown(doc))
    write_text_atomic(report_dir / "report.html", render_html(doc, "β study"))
    write_text_atomic(report_dir / "study.json", json.dumps({
        "config": dataclasses.asdict(config), "data": data.describe(), "stopped": stopped,
        "rows": [{k: v for k, v in r.items() if k != "kl_per_dim"} for r in rows],
    }, indent=2, default=float))
    listener.on_stage("done", 1.0)
    return StudyResult(report_dir, rows, conclusions(rows), stopped)


def _report_document(config: StudyConfig, data: DataSplit, rows: list[dict[str, Any]], models: dict[str, VAE],
                     histories: dict[str, list[dict[str, float]]], titles: dict[str, str], figures_dir: Path,
                     listener: StudyListener) -> list[tuple]:
    def figure(name: str, fig: Figure, caption: str) -> tuple:
        path = save_figure(fig, figures_dir / f"{name}.png", dpi=110)
        listener.on_figure(name, path)
        return ("img", f"figures/{name}.png", caption)

    first = rows[0] if rows else None
    t = config.training
    doc: list[tuple] = [
        ("h1", "β study: generation quality against the latent code"),
        ("p", f"Data: {data.describe()}. {t.epochs} epochs, batch {t.batch_size}, latent size "
              f"{t.latent_dim}, {t.arch} network, learning rate {t.learning_rate:g}, seed {t.seed}. "
              f"Written {dt.datetime.now():%Y-%m-%d %H:%M}."),
    ]
    if not rows:
        doc.append(("p", "The study was stopped before any model finished training."))
        return doc
    doc += [
        ("h2", "Conclusions (generated from the numbers below)"),
        ("list", conclusions(rows)),
        ("h2", "Metrics on the test set"),
        ("table", [title for _, title in table_columns(rows)], table_rows(rows)),
        ("p", f"Protocol: every likelihood number uses a fixed binarisation of the {first['test_images']:,} test "
              f"images ({first['binarisation']}); IWAE NLL is the importance-sampled bound with k = {config.k}; "
              "NELBO = rec + KL is the true, unweighted negative ELBO whatever β is (the training loss is "
              "rec + β·KL). Active units: dimensions whose variance over x of E_q[z|x] exceeds 0.01 (Burda et al.). "
              "Fréchet distance: between Gaussians fitted to the evaluation classifier's features of "
              f"{first['test_images']:,} prior samples and of the test images; that classifier, a small CNN "
              f"trained by the tool on this training split, is {100 * first['classifier_accuracy']:.1f}% "
              "accurate on the test images."
              + (f" {BURDA_NLL}; that figure uses dynamic binarisation, full MNIST and k = 5000, so compare "
                 "with care." if "mnist" in data.name and "fashion" not in data.name else "")),
        figure("loss_curves", loss_curves_figure(histories, titles),
               "Reconstruction, KL and NELBO over epochs: solid train, dashed test, one colour per model."),
        figure("rate_distortion", rate_distortion_figure(rows),
               "Rate (KL) against distortion (reconstruction), one point per β."),
    ]
    family = [r for r in rows if r["model"] != "cvae"]
    if family and family[0].get("mig") is not None:
        doc.append(figure("disentanglement_vs_beta", disentanglement_figure(rows),
                          "MIG, DCI disentanglement and the FactorVAE score against β (1 is perfect)."))
    recon_rows, traversal_rows = [], []
    images, labels = data.val_x, data.val_y
    for r in rows:
        model = models[r["key"]]
        y = labels if model.conditional else None
        recon_rows.append((r["title"], [
            ("reconstructions", grids.reconstruction_grid(model, images[:20], None if y is None else y[:20])),
            ("prior samples", grids.samples_grid(model, grids.prior_codes(50, model.latent_dim, t.seed))),
        ]))
    for r in family:
        model = models[r["key"]]
        traversal_rows.append((r["title"], [(f"traversal of z{config.traverse_dim}", grids.traversal_grid(
            model, grids.prior_codes(6, model.latent_dim, t.seed), config.traverse_dim, grids.traversal_values()))]))
    doc.append(figure("reconstructions_and_samples", image_rows_figure(recon_rows),
                      "Per model: test images above their reconstructions, and samples from fixed prior codes."))
    if traversal_rows:
        doc.append(figure(f"traversal_dim{config.traverse_dim}", image_rows_figure(traversal_rows, width=7),
                          f"Latent dimension {config.traverse_dim} swept from −3 to +3 (columns) from six prior "
                          "draws (rows), per β."))
    if "cvae" in models:
        cvae = models["cvae"]
        doc.append(figure("cvae_classes", image_rows_figure(
            [("CVAE", [(f"classes {' '.join(map(str, config.classes))}",
                        grids.class_grid(cvae, config.classes, 10, t.seed))])], width=6),
            f"CVAE samples for classes {', '.join(map(str, config.classes))}: one row per class, the same prior "
            "codes in every row."))
    doc.append(figure("kl_per_dimension", kl_bars_figure({r["key"]: r["kl_per_dim"] for r in rows}, titles),
                      "Mean KL of each latent dimension on the test set."))
    doc.append(("p", "Each model's run folder (weights, metrics.csv, grids) is under runs/."))
    return doc

