"""The study's report: its figures, report.md and report.html (one document, two renderings),
metrics.csv and study.json, all written from the trials' rows and run folders.

The report needs nothing a trial keeps in memory: each row names its run folder
(relative to the report folder), and the report reads the model and the epoch
history from there. So trials may run in other processes or on other machines, as
long as their run folders end up under the report folder. Each number of the table is
the mean ± standard deviation over seeds of one model kind/β. Importing this module
does not load TensorFlow; drawing the model's grids does.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from keras_models.config import DISENTANGLEMENT_KEYS
from keras_models.data import DataSplit, binarize_fixed
from keras_models.events import JobState, StudyFigure
from keras_models.files import MODEL_FILE, read_saved_history, write_text_atomic
from keras_models.images import save_figure
from keras_models.study.conclusions import conclusions
from keras_models.study.config import StudyConfig
from keras_models.study.figures import (image_rows_figure, kl_bars_figure, loss_curves_figure,
                                        metrics_vs_beta_figure, rate_distortion_figure)
from keras_models.study.ledger import FINISHED, StudyState
from keras_models.study.stats import (family, group_rows, rate_distortion_points, summary_columns,
                                      summary_table)

BURDA_NLL = "Burda et al. (2016) report 86.76 nats for a one-stochastic-layer VAE on MNIST (IS with k = 5000)"
FIGURES_DIR = "figures"
QUALITY_KEYS = ("iwae_nll", "frechet_distance", "kl", "active_units")
CSV_KEYS = ["key", "group", "model", "beta", "seed", "status", "reason", "nelbo", "rec", "kl", "iwae_nll", "elbo_gap",
            "active_units", "latent_dim", "frechet_distance", "class_accuracy", "classifier_accuracy",
            *DISENTANGLEMENT_KEYS, "k", "binarisation", "test_images", "epochs", "resumed_from_epoch", "run_dir",
            "host"]


def table_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The table's columns, without those no model has a number for (e.g. MIG on MNIST)."""
    return summary_columns(group_rows(rows))


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One row per model kind/β, each number as mean ± sd over its seeds."""
    return summary_table(rows)[1]


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


def _trials_of(rows: list[dict[str, Any]], trials: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return trials if trials is not None else [{**r, "status": FINISHED, "reason": None, "row": r} for r in rows]


def metrics_csv_text(rows: list[dict[str, Any]], trials: list[dict[str, Any]] | None = None) -> str:
    """One line per trial, finished or not, with its seed and status."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_KEYS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for trial in _trials_of(rows, trials):
        values = {**trial, **(trial.get("row") or {}), "status": trial.get("status"), "reason": trial.get("reason"),
                  "host": (trial.get("where") or {}).get("host")}
        writer.writerow({k: ("" if values.get(k) is None else values.get(k)) for k in CSV_KEYS})
    return buffer.getvalue()


def write_report(config: StudyConfig, data: DataSplit, rows: list[dict[str, Any]], report_dir: str | Path,
                 stopped: bool, state: JobState | None = None, trials: list[dict[str, Any]] | None = None,
                 engine: str = "local") -> list[str]:
    """Draw the figures and write report.md, report.html, metrics.csv and study.json in ``report_dir``.

    ``data`` is the DataSplit the models were measured on; ``rows`` the finished trials'
    rows, in the study's order, each naming in ``run_dir`` its run folder relative to
    ``report_dir`` (its model.keras and metrics.csv are read from there); ``trials``
    every trial's record with its status (default: the rows, all finished). Reports
    ``StudyFigure`` for each figure written. Returns the conclusions.
    """
    state = state or JobState()
    report_dir = Path(report_dir)
    trials = _trials_of(rows, trials)
    (report_dir / FIGURES_DIR).mkdir(exist_ok=True)
    findings = conclusions(rows, trials)  # once: they group the rows and run every Welch test
    doc = _report_document(config, data, rows, trials, report_dir, state, findings)
    write_text_atomic(report_dir / "metrics.csv", metrics_csv_text(rows, trials))
    write_text_atomic(report_dir / "report.md", render_markdown(doc))
    write_text_atomic(report_dir / "report.html", render_html(doc, "β study"))
    StudyState(config, report_dir, trials).write(data.describe(), "stopped" if stopped else FINISHED, engine)
    return findings


def _trials_table(trials: list[dict[str, Any]]) -> tuple:
    """Every trial: its seed, status (with the reason of a failure) and where it ran."""
    lines = []
    for t in trials:
        place = t.get("where") or {}
        status = t["status"] + (f": {t['reason']}" if t.get("reason") and t["status"] != FINISHED else "")
        lines.append([t["title"], str(t["seed"]), status, f"runs/{t['key']}",
                      f"{place.get('host') or '–'}" + (f" ({place['ip']})" if place.get("ip") else "")])
    return ("table", ["model", "seed", "status", "run folder", "ran on"], lines)


def _report_document(config: StudyConfig, data: DataSplit, rows: list[dict[str, Any]],
                     trials: list[dict[str, Any]], report_dir: Path, state: JobState,
                     findings: list[str]) -> list[tuple]:
    def figure(name: str, fig: Figure, caption: str) -> tuple:
        path = save_figure(fig, report_dir / FIGURES_DIR / f"{name}.png", dpi=110)
        state.report(StudyFigure(name, str(path)))
        return ("img", f"{FIGURES_DIR}/{name}.png", caption)

    first = rows[0] if rows else None
    t = config.training
    seeds = ", ".join(str(s) for s in (config.seeds or (t.seed,)))
    doc: list[tuple] = [
        ("h1", "β study: generation quality against the latent code"),
        ("p", f"Data: {data.describe()}. {t.epochs} epochs, batch {t.batch_size}, latent size "
              f"{t.latent_dim}, {t.arch} network, learning rate {t.learning_rate:g}, seeds {seeds}: every "
              f"model kind/β is trained once per seed. Written {dt.datetime.now():%Y-%m-%d %H:%M}."),
    ]
    if not rows:
        doc.append(("p", "The study was stopped before any model finished training."
                         if all(x["status"] != "failed" for x in trials) else "No trial finished."))
        doc.append(_trials_table(trials))
        return doc
    # Imported here: the grids need the models, and with them TensorFlow.
    from keras_models import grids
    from keras_models.models import EVAL_SEED
    from keras_models.training import load_model_file

    groups = [g for g in group_rows(rows, trials) if g.n]  # a kind whose every seed failed has no pictures
    models = family(groups)
    headers, cells = summary_table(rows, trials)
    histories = {r["key"]: read_saved_history(report_dir / r["run_dir"]) for r in rows}
    doc += [
        ("h2", "Conclusions (generated from the numbers below)"),
        ("list", findings),
        ("h2", "Metrics on the test set: mean ± standard deviation over seeds"),
        ("table", headers, cells),
        ("p", f"Protocol: every likelihood number uses a fixed binarisation of the {first['test_images']:,} test "
              f"images ({first['binarisation']}); IWAE NLL is the importance-sampled bound with k = {config.k}; "
              "NELBO = rec + KL is the true, unweighted negative ELBO whatever β is (the training loss is "
              "rec + β·KL). Active units: dimensions whose variance over x of E_q[z|x] exceeds 0.01 (Burda et al.). "
              "Fréchet distance: between Gaussians fitted to the evaluation classifier's features of "
              f"{first['test_images']:,} prior samples and of the test images; that classifier, a small CNN "
              f"trained by the tool on this training split, is {100 * first['classifier_accuracy']:.1f}% "
              "accurate on the test images, and the same network (kept in classifier/) judges every trial."
              + (f" {BURDA_NLL}; that figure uses dynamic binarisation, full MNIST and k = 5000, so compare "
                 "with care." if "mnist" in data.name and "fashion" not in data.name else "")),
        ("h2", "Trials"),
        _trials_table(trials),
        ("h2", "Figures"),
        figure("loss_curves", loss_curves_figure(
            [(g.title, [histories[r["key"]] for r in g.rows]) for g in groups]),
            "Reconstruction, KL and NELBO over epochs: solid train, dashed test, one colour per model, one line "
            "per seed."),
        figure("rate_distortion", rate_distortion_figure(rate_distortion_points(groups)),
               "Rate (KL) against distortion (reconstruction): every seed's model, and the mean per β."),
    ]
    if models:
        doc.append(figure("quality_vs_beta", metrics_vs_beta_figure(models, QUALITY_KEYS),
                          "Likelihood (IWAE NLL), Fréchet distance, rate and active units against β: the mean over "
                          "seeds with ± one standard deviation, and each seed as a small dot."))
    if models and models[0].spread("mig") is not None:
        doc.append(figure("disentanglement_vs_beta",
                          metrics_vs_beta_figure(models, ("mig", "dci_disentanglement", "factor_vae"), unit_range=True),
                          "MIG, DCI disentanglement and the FactorVAE score against β (1 is perfect): the mean "
                          "over seeds with ± one standard deviation, and each seed as a small dot."))
    # The pictures show one model per kind/β: its first finished seed.
    shown = {g.group: g.rows[0] for g in groups}
    models_by_group = {key: load_model_file(report_dir / r["run_dir"] / MODEL_FILE) for key, r in shown.items()}
    recon_rows, traversal_rows = [], []
    images, labels = data.val_x, data.val_y
    for g in groups:
        model = models_by_group[g.group]
        y = labels if model.conditional else None
        recon_rows.append((f"{g.title}, seed {shown[g.group]['seed']}", [
            ("reconstructions", grids.reconstruction_grid(model, images[:20], None if y is None else y[:20])),
            ("prior samples", grids.samples_grid(model, grids.prior_codes(50, model.latent_dim, t.seed))),
        ]))
    for g in models:
        model = models_by_group[g.group]
        traversal_rows.append((f"{g.title}, seed {shown[g.group]['seed']}", [(
            f"traversal of z{config.traverse_dim}", grids.traversal_grid(
                model, grids.prior_codes(6, model.latent_dim, t.seed), config.traverse_dim,
                grids.traversal_values()))]))
    doc.append(figure("reconstructions_and_samples", image_rows_figure(recon_rows),
                      "Per model (its first seed): test images above their reconstructions, and samples from "
                      "fixed prior codes."))
    if traversal_rows:
        doc.append(figure(f"traversal_dim{config.traverse_dim}", image_rows_figure(traversal_rows, width=7),
                          f"Latent dimension {config.traverse_dim} swept from −3 to +3 (columns) from six prior "
                          "draws (rows), per β (its first seed)."))
    if "cvae" in models_by_group:
        cvae = models_by_group["cvae"]
        doc.append(figure("cvae_classes", image_rows_figure(
            [(f"CVAE, seed {shown['cvae']['seed']}", [(f"classes {' '.join(map(str, config.classes))}",
                                                       grids.class_grid(cvae, config.classes, 10, t.seed))])],
            width=6),
            f"CVAE samples for classes {', '.join(map(str, config.classes))}: one row per class, the same prior "
            "codes in every row."))
    binary_test = binarize_fixed(data.val_x, EVAL_SEED)
    kl_by_key: dict[str, np.ndarray] = {}
    for r in rows:
        model = models_by_group[r["group"]] if shown[r["group"]] is r else \
            load_model_file(report_dir / r["run_dir"] / MODEL_FILE)
        kl_by_key[r["key"]] = model.kl_per_dimension(binary_test, labels if model.conditional else None)
    doc.append(figure("kl_per_dimension", kl_bars_figure(groups, kl_by_key),
                      "Mean KL of each latent dimension on the test set (with several seeds: dimensions ranked by "
                      "KL in each seed, mean ± one standard deviation over seeds)."))
    doc.append(("p", "Each trial's run folder (weights, metrics.csv, grids, trial.json) is under runs/."))
    return doc
