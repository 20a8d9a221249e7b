"""Numbers over seeds: each model kind/β of a study is trained once per seed, and the report
gives the mean ± standard deviation of every number, with n, and says a number rose or fell
only when the change exceeds the spread across seeds.

No TensorFlow here (numpy and scipy only): the window formats its table with it.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import numpy as np

# The significance rule, stated once so the report and the code agree.
ALPHA = 0.05
RULE = (f"a number is said to rise or fall between two β values only when Welch's two-sided t-test "
        f"over the seeds gives p < {ALPHA:g}; otherwise the report says \"no measurable difference\". "
        "Each cell is mean ± sample standard deviation (n − 1 in the denominator) over the seeds that "
        "finished; n counts them.")
NO_CLAIM = ("With one seed per model there is no spread to compare against, so no claim about differences "
            "can be made: the numbers below are single measurements (run with --seeds 0 1 2 for the statistics).")



@dataclasses.dataclass(frozen=True)
class Spread:
    """The values of one number over seeds: their mean, sample standard deviation (None for
    one value) and count."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if self.n >= 2 else None


@dataclasses.dataclass
class Group:
    """One row of the summary table: a model kind and β, and its finished trials over seeds."""

    group: str
    model: str
    beta: float
    title: str
    rows: list[dict[str, Any]]  # the finished trials' rows, in seed order
    failed: int = 0  # trials of this group that did not finish (failed or stopped)
    schedule: str | None = None  # a KL schedule's kind (keras_models.schedules), for the groups that have one

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.rows]

    def spread(self, key: str) -> Spread | None:
        """The values of ``key`` over seeds; None when no finished trial has it."""
        values = tuple(float(r[key]) for r in self.rows if r.get(key) is not None)
        return Spread(values) if values else None

    def first(self, key: str) -> Any:
        return next((r[key] for r in self.rows if r.get(key) is not None), None)


def group_rows(rows: list[dict[str, Any]], trials: Iterable[dict[str, Any]] = ()) -> list[Group]:
    """The finished ``rows`` grouped by model kind/β, in the order groups first appear; the
    ``trials`` records (with a ``status``) add groups whose trials all failed and count failures."""
    groups: dict[str, Group] = {}
    for r in rows:
        key = r.get("group", r["key"])
        groups.setdefault(key, Group(key, r["model"], r["beta"], r["title"], [],
                                     schedule=r.get("schedule"))).rows.append(r)
    for t in trials:
        if t.get("status") != "finished":
            group = groups.setdefault(t["group"], Group(t["group"], t["model"], t["beta"], t["title"], [],
                                                        schedule=t.get("schedule")))
            group.failed += 1
    for group in groups.values():
        group.rows.sort(key=lambda r: r.get("seed", 0))
    return list(groups.values())


def family(groups: list[Group]) -> list[Group]:
    """The VAE/β-VAE groups that have finished trials, in order of β (the CVAE and the groups
    trained with a KL schedule left out: their β alone does not say what they minimised)."""
    return sorted((g for g in groups if g.model != "cvae" and g.schedule is None and g.n), key=lambda g: g.beta)


def welch_p(a: Spread, b: Spread) -> float | None:
    """Two-sided p-value of Welch's t-test between two sets of seeds; None when either has
    fewer than two values (no spread to test against). Two sets without any spread have
    p = 0 if their means differ and 1 if they are equal."""
    if a.n < 2 or b.n < 2:
        return None
    if a.sd == 0 and b.sd == 0:
        return 1.0 if a.mean == b.mean else 0.0
    from scipy import stats  # scipy is heavy; only conclusions need it

    return float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)


def direction(a: Spread, b: Spread) -> str:
    """How a number moved from ``a`` to ``b`` under the rule: "rose", "fell",
    "no measurable difference at n = …", or "no claim" with fewer than two seeds."""
    p = welch_p(a, b)
    if p is None:
        return "no claim"
    if p < ALPHA:
        return "rose" if b.mean > a.mean else "fell"
    return f"no measurable difference at {n_text(a, b)}"


def n_text(a: Spread, b: Spread) -> str:
    return f"n = {a.n}" if a.n == b.n else f"n = {a.n} and {b.n}"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _number(value: float, key: str) -> str:
    if key == "class_accuracy":
        return f"{100 * value:.1f}"
    if key == "active_units":
        return f"{value:.1f}"
    if key in ("mig", "dci_disentanglement", "dci_completeness", "factor_vae"):
        return f"{value:.3f}"
    return f"{value:.2f}"


def format_spread(spread: Spread | None, key: str, latent_dim: int | None = None) -> str:
    """A table cell: ``mean ± sd`` over seeds, the single value for one seed, "–" for none.
    Active units keep their "/ latent size" and class accuracy its "%"."""
    if spread is None:
        return "–"
    if spread.n == 1:
        value = spread.values[0]
        text = str(int(value)) if key == "active_units" else _number(value, key)
    else:
        text = f"{_number(spread.mean, key)} ± {_number(spread.sd, key)}"
    if key == "active_units" and latent_dim is not None:
        return f"{text} / {latent_dim}"
    if key == "class_accuracy":
        return f"{text}%"
    return text


def format_n(group: Group) -> str:
    return str(group.n) + (f" ({group.failed} did not finish)" if group.failed else "")


def summary_columns(groups: list[Group]) -> list[tuple[str, str]]:
    """The table's columns: model, β, n, then each number some finished trial has (no MIG on MNIST)."""
    from keras_models.formatting import STUDY_COLUMNS

    numbers = [(key, title) for key, title in STUDY_COLUMNS
               if key not in ("title", "beta") and any(g.spread(key) is not None for g in groups)]
    return [("title", "model"), ("beta", "β"), ("n", "n"), *numbers]


def summary_cells(group: Group, columns: list[tuple[str, str]]) -> list[str]:
    """One row of the table: the group's numbers as mean ± sd over its seeds."""
    cells = []
    for key, _ in columns:
        if key == "title":
            cells.append(group.title)
        elif key == "beta":
            cells.append(f"{group.beta:g}")
        elif key == "n":
            cells.append(format_n(group))
        else:
            cells.append(format_spread(group.spread(key), key, group.first("latent_dim")))
    return cells


def summary_table(rows: list[dict[str, Any]], trials: Iterable[dict[str, Any]] = ()) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the study's table, one row per model kind/β, as the report and the window show it."""
    groups = group_rows(rows, trials)
    columns = summary_columns(groups)
    return [title for _, title in columns], [summary_cells(g, columns) for g in groups]


def rate_distortion_points(groups: list[Group]) -> dict[str, Any]:
    """What the rate–distortion figure draws: every seed's (KL, rec) point and the mean per
    group, the family's means in order of β."""
    points = [{"group": g.group, "title": g.title, "beta": g.beta, "seed": r["seed"], "kl": r["kl"], "rec": r["rec"]}
              for g in groups for r in g.rows]
    means = [{"group": g.group, "title": g.title, "beta": g.beta, "model": g.model, "n": g.n, "schedule": g.schedule,
              "kl": g.spread("kl").mean, "rec": g.spread("rec").mean} for g in groups if g.n]
    return {"points": points, "means": means}
