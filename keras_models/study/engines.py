"""Where a study's trials run. An engine gets the study's plan and the trials still to run,
runs each with ``keras_models.study.trial.run_trial`` somewhere, and calls ``ended`` on the
driver with each trial's record (trial.json's content) as it ends. The runner does the
rest: study.json, events, the report. Two engines:

- ``LocalEngine``: in this process, one trial after another (the window's and the
  command line's default);
- ``keras_models.study.ray_engine.RayEngine``: each trial a Ray Tune trial, on this machine
  or a cluster.

Importing this module loads neither TensorFlow nor Ray.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Protocol

from keras_models.config import ConfigError
from keras_models.data import DataSplit
from keras_models.events import JobState, Stopped
from keras_models.study.config import StudyConfig
from keras_models.study.ledger import FAILED, FINISHED, STOPPED, one_line, read_trial, run_dir_of, write_trial

Ended = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class StudyPlan:
    """What every trial of a study needs: its settings, its folder and its data.

    ``data`` is the split every trial is measured on, as the driver loaded it.
    ``explicit_data`` says the caller handed data or test images over in memory (tests,
    the window's own data), so trials elsewhere must be sent this split; otherwise they
    load it by name from the settings, as the driver did.
    """

    config: StudyConfig
    report_dir: Path
    data: DataSplit
    explicit_data: bool = False
    classifier_cache: Path | None = None
    verbose: int = 0
    classifier: Any = None  # the study's evaluation classifier, once the driver has it


class Engine(Protocol):
    name: str

    def open(self) -> None:
        """Get ready (start or join a cluster), raising ConfigError before the study folder exists."""

    def run(self, plan: StudyPlan, pending: list[dict[str, Any]], state: JobState, ended: Ended) -> None:
        """Run the ``pending`` trials; ``ended(record)`` for each as it ends. A stop requested
        on ``state`` raises ``Stopped`` once the trials in progress are recorded as stopped."""

    def close(self) -> None:
        """Let go of what ``open`` took (stop a Ray it started)."""


def local_fraction(step: int, trials: int) -> float:
    """Progress after ``step`` of a study of ``trials`` models run here: the classifier, then two
    steps a model (train, measure), then the report."""
    return step / (2 * trials + 2)


class LocalEngine:
    """Runs the trials in this process, one after another, as the tool always has.

    ``cpus_per_trial`` caps TensorFlow's threads when given, which works only if this
    process has not computed anything with TensorFlow yet; None uses every core.
    """

    name = "local"

    def __init__(self, cpus_per_trial: int | None = None) -> None:
        self.cpus_per_trial = cpus_per_trial

    def open(self) -> None:
        from keras_models.study.trial import limit_threads

        limit_threads(self.cpus_per_trial)  # before the driver computes anything (the classifier)

    def close(self) -> None:
        pass

    def run(self, plan: StudyPlan, pending: list[dict[str, Any]], state: JobState, ended: Ended) -> None:
        from keras_models.study.trial import run_trial

        config, count, classifier = plan.config, len(pending), plan.classifier
        for index, entry in enumerate(pending):
            run_dir = run_dir_of(plan.report_dir, entry["key"])
            try:
                row = run_trial(config, entry, plan.data, classifier, plan.report_dir, state, plan.verbose,
                                place=(index, count),
                                fraction=lambda step, i=index: local_fraction(2 * i + step, count))
            except Stopped:
                ended(write_trial(run_dir, entry, STOPPED, reason="stopped before it finished"))
                raise
            except Exception as exc:  # one trial's failure (NaN loss, a damaged checkpoint …) ends only that trial
                ended(write_trial(run_dir, entry, FAILED, reason=one_line(exc), error=exc))
                continue
            ended(read_trial(run_dir) or {**entry, "status": FINISHED, "reason": None, "row": row})


def make_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name`` ("local" or "ray") with its options."""
    if name == "local":
        return LocalEngine(options.get("cpus_per_trial"))
    if name == "ray":
        try:
            from keras_models.study.ray_engine import RayEngine, RayOptions
        except ImportError as exc:
            raise ConfigError(f"--engine ray needs Ray Tune (pip install 'ray[tune]==2.60.0'): {exc}") from None

        return RayEngine(RayOptions(**{k: v for k, v in options.items() if v is not None}))
    raise ValueError(f"unknown engine {name!r}: choose local or ray")
