"""The study's conclusions, generated from the measured numbers. A number is said to rise or
fall with β only when the change exceeds the spread across seeds, by the rule of
``keras_models.study.stats`` (Welch's t-test at 5%), and the first line states that rule;
with one seed per model the conclusions say once that no difference can be claimed.
Nothing in them is written in advance."""
from __future__ import annotations

from typing import Any, Iterable

from keras_models.study.stats import (NO_CLAIM, RULE, Group, Spread, direction, family, format_spread, group_rows,
                                      n_text, p_text, welch_p)

METRICS = (("rec", "the reconstruction term"), ("kl", "the KL term (rate)"), ("nelbo", "the test NELBO"),
           ("iwae_nll", "the importance-sampled NLL"), ("active_units", "the number of active units"),
           ("frechet_distance", "the Fréchet distance of samples to test images"), ("mig", "MIG"),
           ("dci_disentanglement", "DCI disentanglement"), ("factor_vae", "the FactorVAE score"))


def _values(groups: list[Group], key: str) -> str:
    return ", ".join(f"{format_spread(g.spread(key), key)} (β = {g.beta:g})" for g in groups)


def _compare(lo: Spread, hi: Spread) -> tuple[str, str]:
    """(direction, "p = …") between two β values."""
    p = welch_p(lo, hi)
    return direction(lo, hi), ("" if p is None else p_text(p))


def _trend(groups: list[Group], key: str, name: str) -> str | None:
    spreads = [g.spread(key) for g in groups]
    if any(s is None for s in spreads):
        return None
    lo, hi = groups[0], groups[-1]
    span = f"From β = {lo.beta:g} to β = {hi.beta:g}"
    moved, p = _compare(spreads[0], spreads[-1])
    if moved == "no claim":
        head = f"{span}, {name} cannot be compared: fewer than two seeds finished at one end"
    elif moved in ("rose", "fell"):
        head = f"{span}, {name} {moved} ({p})"
    else:
        head = f"{span}, {name}: {moved} ({p})"
    steps = ""
    if len(groups) > 2:
        steps = "; between neighbouring β values: " + ", ".join(
            direction(a, b).split(" at n")[0] for a, b in zip(spreads, spreads[1:]))
    return f"{head}: {_values(groups, key)}{steps}."


def _best(groups: list[Group], key: str, name: str) -> str | None:
    """Which β had the lowest mean, and whether it is measurably lower than the next lowest."""
    ranked = sorted((g for g in groups if g.spread(key) is not None), key=lambda g: g.spread(key).mean)
    if len(ranked) < 2:
        return None
    best, second = ranked[0], ranked[1]
    moved, p = _compare(second.spread(key), best.spread(key))
    verdict = (f"measurably lower than at β = {second.beta:g}, the next lowest ({p})" if moved == "fell" else
               f"not measurably lower than at β = {second.beta:g}, the next lowest ({p})")
    return (f"The lowest mean {name} came from β = {best.beta:g} ({format_spread(best.spread(key), key)}), "
            f"{verdict}.")


def _reference_claims(lo: Group, hi: Group) -> list[str]:
    """The reference project's claim (larger β: a more disentangled code, worse reconstructions
    and samples), held against the measured directions."""
    lines = []
    rec, _ = _compare(lo.spread("rec"), hi.spread("rec"))
    if lo.spread("frechet_distance") is not None and hi.spread("frechet_distance") is not None:
        fd, _ = _compare(lo.spread("frechet_distance"), hi.spread("frechet_distance"))
        rec_words = {"rose": "worsened reconstructions", "fell": "improved reconstructions"}.get(
            rec, "made no measurable difference to reconstructions")
        fd_words = {"rose": "worsened samples by Fréchet distance",
                    "fell": "improved samples by Fréchet distance, which contradicts that claim for sample quality"}.get(
            fd, "made no measurable difference to samples by Fréchet distance, which does not support that "
                "claim for sample quality at this n")
        lines.append("The reference project presents a larger β as buying a more disentangled code at the cost of "
                     f"reconstruction and sample quality. Here β = {hi.beta:g} against β = {lo.beta:g} "
                     f"{rec_words}, and {fd_words}.")
    if lo.spread("mig") is not None and hi.spread("mig") is not None:
        mig, p = _compare(lo.spread("mig"), hi.spread("mig"))
        verdict = {"rose": "raised MIG", "fell": "lowered MIG, which contradicts the reference's claim"}.get(
            mig, f"made no measurable difference to MIG at {n_text(lo.spread('mig'), hi.spread('mig'))}, which "
                 "does not support the reference's claim")
        lines.append(f"On this data set the factors are known, so disentanglement is measured: β = {hi.beta:g} "
                     f"{verdict} over β = {lo.beta:g} ({format_spread(lo.spread('mig'), 'mig')} to "
                     f"{format_spread(hi.spread('mig'), 'mig')}, {p}).")
    return lines


SCHEDULE_METRICS = (("active_units", "active units"), ("kl", "KL"), ("nelbo", "test NELBO"),
                    ("iwae_nll", "IWAE NLL"), ("frechet_distance", "Fréchet distance"), ("mig", "MIG"))


def _schedule_lines(groups: list[Group]) -> list[str]:
    """Each group trained with a KL schedule against the fixed-β model of the same β (the VAE for
    capacity control, which trains at β = 1), under the same rule as the β trends."""
    fixed = {g.beta: g for g in family(groups)}
    lines = []
    for g in groups:
        base = fixed.get(g.beta)
        if g.schedule is None or not g.n:
            continue
        if base is None:
            # Said, not skipped: a study with --capacity but without β = 1 in --betas would otherwise
            # leave the reader looking for a comparison the README promises.
            lines.append(f"{g.title} is not compared with a fixed weight: the study has no finished model of "
                         f"β = {g.beta:g} without a schedule (add {g.beta:g} to --betas).")
            continue
        parts = []
        for key, name in SCHEDULE_METRICS:
            a, b = base.spread(key), g.spread(key)
            if a is None or b is None:
                continue
            moved, p = _compare(a, b)
            verdict = "" if moved == "no claim" else f", {moved}" + (f" ({p})" if p else "")
            parts.append(f"{name} {format_spread(b, key)} against {format_spread(a, key)}{verdict}")
        lines.append(f"{g.title} against the same model with a fixed weight ({base.title}): {'; '.join(parts)}.")
    return lines


def conclusions(rows: list[dict[str, Any]], trials: Iterable[dict[str, Any]] = ()) -> list[str]:
    """Sentences generated from the finished trials' ``rows`` (and every trial's record in
    ``trials``, for the ones that did not finish)."""
    trials = list(trials)
    groups = group_rows(rows, trials)
    models = family(groups)
    if not rows:
        return []
    several_seeds = max(g.n for g in groups) >= 2
    lines = [f"Rule: {RULE}" if several_seeds else NO_CLAIM]
    if several_seeds and len(models) >= 2:
        lines += [line for key, name in METRICS if (line := _trend(models, key, name))]
        lines += [line for key, name in (("frechet_distance", "Fréchet distance"), ("iwae_nll", "IWAE NLL"))
                  if (line := _best(models, key, name))]
        lines += _reference_claims(models[0], models[-1])
    if models and models[0].spread("mig") is None:
        lines.append("This data set has no ground-truth factors, so disentanglement itself is not measured: "
                     "fewer active units means a more compressed code, not by itself a disentangled one "
                     "(run the study with --dataset shapes for MIG, DCI and the FactorVAE score).")
    for g in groups:
        if g.model == "cvae" and g.spread("class_accuracy") is not None:
            lines.append(f"The CVAE drew the requested class {format_spread(g.spread('class_accuracy'), 'class_accuracy')} "
                         f"of the time (n = {g.n}; judged by the evaluation classifier, "
                         f"{100 * g.first('classifier_accuracy'):.1f}% accurate on the test set).")
    lines += _schedule_lines(groups)
    unfinished = [t for t in trials if t.get("status") != "finished"]
    if unfinished:
        lines.append(f"{len(unfinished)} of {len(trials)} trials did not finish (see the trials table); every "
                     "number above comes from the seeds that did.")
    return lines
