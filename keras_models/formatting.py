"""How numbers are written for people: the study's table cells and an evaluation's summary.
No TensorFlow here: the window formats what the core sends it.
"""
from __future__ import annotations

from typing import Any

STUDY_COLUMNS = (
    ("title", "model"), ("beta", "β"), ("nelbo", "test NELBO"), ("rec", "rec"), ("kl", "KL"),
    ("iwae_nll", "IWAE NLL"), ("elbo_gap", "NELBO − NLL"), ("active_units", "active units"),
    ("frechet_distance", "Fréchet distance"), ("class_accuracy", "CVAE class accuracy"),
    ("mig", "MIG"), ("dci_disentanglement", "DCI disentanglement"), ("dci_completeness", "DCI completeness"),
    ("factor_vae", "FactorVAE score"),
)


def evaluation_lines(numbers: dict[str, Any]) -> list[str]:
    """The evaluation in a few lines of text, for a terminal or a side panel."""
    lines = [f"test NELBO {numbers['nelbo']:.2f} (rec {numbers['rec']:.2f} + KL {numbers['kl']:.2f})",
             f"IWAE NLL {numbers['iwae_nll']:.2f} (k = {numbers['protocol']['k']}; gap {numbers['elbo_gap']:.2f})",
             f"active units {numbers['active_units']} / {numbers['latent_dim']}"]
    if numbers.get("frechet_distance") is not None:
        lines.append(f"Fréchet distance {numbers['frechet_distance']:.2f}")
    if numbers.get("class_accuracy") is not None:
        lines.append(f"CVAE class accuracy {100 * numbers['class_accuracy']:.1f}%")
    lines.append(f"{numbers['protocol']['images']:,} test images, {numbers['protocol']['binarisation']}")
    return lines


def summary_line(record: dict[str, float]) -> str:
    """One line of an epoch's numbers, for terminals and status bars."""
    values = "  ".join(f"{k} {v:.2f}" for k, v in record.items() if k not in ("epoch", "time_s"))
    return f"epoch {int(record['epoch'])}: {values}"


def format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def metrics_text(logs: dict[str, float]) -> str:
    order = ("loss", "rec", "kl", "nelbo", "val_loss", "val_rec", "val_kl", "val_nelbo")
    return "   ".join(f"{k} {logs[k]:.2f}" for k in order if k in logs)
