"""What the loss plot draws of a run's KL schedule: the whole planned schedule, known before the
first epoch, and the value each finished epoch trained with (its metrics.csv column).

A value holds for a whole epoch, so both are drawn as steps: epoch e's value spans e − 1 to e
on the epoch axis, the stretch the batch curves of that epoch cover.
"""
from __future__ import annotations

from typing import Any

from keras_models.schedules import CAPACITY, KLSchedule, schedule_of

SCHEDULE_COLOUR = "#222222"
# The lines' keys: the plan (dashed, pale) and the epochs done (solid), for each kind of value.
WEIGHT_KEYS = ("kl_weight_plan", "kl_weight")
CAPACITY_KEYS = ("capacity_plan", "capacity")
SCHEDULE_LINE_STYLES = {
    "plan": dict(color=SCHEDULE_COLOUR, lw=1, ls="--", alpha=0.45, drawstyle="steps-post", label="planned"),
    "schedule": dict(color=SCHEDULE_COLOUR, lw=1.8, drawstyle="steps-post", label="trained with"),
}


def schedule_line_kind(key: str) -> str | None:
    """"plan" or "schedule" for a schedule line's key, None for any other line."""
    if key in (WEIGHT_KEYS[0], CAPACITY_KEYS[0]):
        return "plan"
    if key in (WEIGHT_KEYS[1], CAPACITY_KEYS[1]):
        return "schedule"
    return None


def run_schedule(config: dict[str, Any] | None) -> KLSchedule | None:
    """The schedule of a run's settings (RunStarted's or a config.json's), None without one or
    when they cannot describe one (the plot then shows none rather than failing)."""
    if not config:
        return None
    try:
        return schedule_of(config)
    except (TypeError, ValueError):
        return None


def steps(values: list[float]) -> tuple[list[float], list[float]]:
    """Step-line data for per-epoch ``values``: x from 0 to len(values), the last value repeated
    so that matplotlib's steps-post draws the last epoch too."""
    if not values:
        return [], []
    return list(range(len(values) + 1)), [*values, values[-1]]


def schedule_plan(schedule: KLSchedule | None, epochs: int) -> tuple[list[float], list[float]]:
    """Step-line data of the whole plan over ``epochs``, computed once per run shown."""
    return ([], []) if schedule is None else steps(schedule.values(epochs))


def schedule_lines(schedule: KLSchedule | None, history: list[dict[str, float]],
                   plan: tuple[list[float], list[float]]) -> dict[str, tuple[list[float], list[float]]]:
    """Data for every schedule line: the ``plan`` (``schedule_plan``) and the recorded values of
    ``history``; empty for the kind of value this schedule does not have."""
    data = {key: ([], []) for key in (*WEIGHT_KEYS, *CAPACITY_KEYS)}
    if schedule is None:
        return data
    plan_key, done_key = CAPACITY_KEYS if schedule.kind == CAPACITY else WEIGHT_KEYS
    data[plan_key] = plan
    # The recorded column where the run has it; an epoch without it (a hand-made metrics.csv)
    # takes the planned value of its epoch.
    data[done_key] = steps([r.get(schedule.column, schedule.value(int(r["epoch"]))) for r in history])
    return data


def weight_caption(schedule: KLSchedule) -> str:
    return f"KL weight: {schedule.describe()}"
