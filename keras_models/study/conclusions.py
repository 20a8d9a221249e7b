"""The study's conclusions, generated from the measured numbers: every sentence says which
way a number moved with β, so nothing in the report is written in advance."""
from __future__ import annotations

from typing import Any

import numpy as np


def _trend(values: list[float], betas: list[float]) -> str:
    """How ``values``, in order of ``betas``, moved: words that fit after the number's name."""
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
