"""Run a β study: train every model kind/β once per seed, measure each trial, write the report.

The unit of work is one trial (``keras_models.study.trial.run_trial``): it trains one
model of one seed in ``runs/<key>``, measures it, writes its record (trial.json) and
returns its row. An engine (``keras_models.study.engines``) decides where trials run:
here one after another, or as Ray Tune trials. This module is the driver around it:
it loads and checks the data, creates the study folder, keeps study.json and the
progress log current as trials end, and writes the report from the rows and run
folders. ``resume`` picks up a study folder whose driver died: finished trials are
kept as they are, the others continue from their checkpoints.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from keras_models.data import CLASSIFIER_LABEL_USE, DataSplit, check_training_data, load_dataset, load_idx_test_set
from keras_models.events import (Event, JobState, Notice, StageStarted, Stopped, StudyEstimate, StudyFigure, StudyRow,
                                 StudyStarted, TrainingSized, TrialFailed)
from keras_models.sizing import apply_training_size, check_sized_all
from keras_models.study.config import StudyConfig
from keras_models.study.engines import Engine, LocalEngine, StudyPlan, local_fraction
from keras_models.study.ledger import FINISHED, PENDING, STOPPED, StudyState, append_progress
from keras_models.training import create_run_dir

LOGGED_EVENTS = (StageStarted, StudyStarted, StudyRow, TrialFailed, StudyFigure, Notice)


@dataclasses.dataclass
class StudyResult:
    """A finished (or stopped) study: its report folder, the rows of the trials that finished,
    every trial's record and the conclusions drawn from them."""

    report_dir: Path
    rows: list[dict[str, Any]]
    conclusions: list[str]
    stopped: bool
    trials: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class _Logged(JobState):
    """The caller's job state, with the study's steps also appended to progress.jsonl, so another
    process (the window following a Ray study, ``tail -f``) can follow them."""

    def __init__(self, inner: JobState) -> None:
        super().__init__(wants_pictures=inner.wants_pictures, projection=inner.map_projection)
        self.inner = inner
        self.report_dir: Path | None = None

    def request_stop(self) -> None:
        self.inner.request_stop()

    @property
    def stop_requested(self) -> bool:
        return self.inner.stop_requested

    def report(self, event: Event) -> None:
        if self.report_dir is not None and isinstance(event, LOGGED_EVENTS):
            append_progress(self.report_dir, {"event": type(event).__name__, "time": time.time(),
                                              **dataclasses.asdict(event)})
        self.inner.report(event)

    def show_model(self, model: Any, data: Any) -> None:
        self.inner.show_model(model, data)


def run_study(config: StudyConfig | None = None, data: DataSplit | None = None,
              test_set: tuple[np.ndarray, np.ndarray] | None = None, state: JobState | None = None,
              classifier_cache: str | Path | None = None, verbose: int = 0, engine: Engine | None = None,
              resume: str | Path | None = None) -> StudyResult:
    """Run every trial of ``config`` on ``engine`` (default: here, one after another), then write
    the report; or, with ``resume``, the unfinished trials of that study folder (its saved
    settings replace ``config``).

    ``data`` replaces loading the data set by name (the trials of a Ray study are then sent
    it, so keep it small); ``test_set`` (images, labels) replaces the test split for
    validation and every measurement. Reports ``StageStarted``, ``StudyRow`` for each trial
    that finished, ``TrialFailed`` for each that did not, and ``StudyFigure`` for each
    figure on ``state``. A stop requested there ends the trials in progress (their run
    folders stay, for a resume); the report covers the finished ones and says ``stopped``.
    """
    if config is None and resume is None:
        raise TypeError("run_study needs a config or a study folder to resume")
    outer = state or JobState()
    engine = engine or LocalEngine()
    study = StudyState.read(resume) if resume is not None else None
    config = study.config if study is not None else config.validate()
    explicit = data is not None or test_set is not None  # trials elsewhere are sent the split
    if data is None:
        data = load_dataset(config.training.dataset, config.training.data_dir, state=outer)
    if test_set is None and config.test_idx:
        test_set = load_idx_test_set(config.test_idx)
    from keras_models.run_evaluation import measurement_split  # with TensorFlow

    # Before the study folder exists: test images of the wrong shape, or data that cannot
    # train, leave nothing behind.
    data = measurement_split(check_training_data(config.training, data, CLASSIFIER_LABEL_USE), test_set,
                             config.test_images)
    # A trial whose schedule does not fit the epochs auto chooses fails here, not after the others ran.
    check_sized_all((config.train_config(entry) for entry in config.entries()), len(data.train_x))
    sized = apply_training_size(config.training, len(data.train_x))
    if sized is not None:
        outer.report(TrainingSized(sized.batch_size, sized.epochs, sized.reason))
    trials = len(study.unfinished()) if study is not None else len(config.entries())
    outer.report(study_estimate(config, data, trials, classifier_cache, outer))
    engine.open()
    try:
        if study is None:
            study = StudyState.start(config, create_run_dir(config.out, "study"))
        return _drive(study, engine, StudyPlan(config, study.report_dir, data, explicit,
                                               Path(classifier_cache) if classifier_cache else None, verbose),
                      _Logged(outer))
    finally:
        engine.close()


def study_estimate(config: StudyConfig, data: DataSplit, trials: int,
                   classifier_cache: str | Path | None = None, state: JobState | None = None) -> StudyEstimate:
    """The study's expected time, stage by stage, from this machine's measured throughput (a few
    seconds of timed steps the first time, cached after)."""
    from keras_models import classifier as digit_classifier
    from keras_models.study.estimate import NOMINAL, PROBE_ABOVE_S, StudyWork, estimate_study, estimate_text
    from keras_models.study.probe import machine_throughput

    n = len(data.train_x)
    folder = Path(classifier_cache) if classifier_cache else digit_classifier.default_cache_dir()
    try:
        info = json.loads((folder / f"{digit_classifier.file_safe(data.name)}.json").read_text(encoding="utf-8"))
        cached = info.get("train_images") == n and info.get("test_images") == len(data.val_x)
    except (OSError, ValueError, AttributeError):
        cached = False
    classifier_images = 0 if cached else digit_classifier.training_images(n) * digit_classifier.default_epochs(n)
    work = StudyWork(trials=trials, epochs=config.training.epochs, train_images=n,
                     validation_images=len(data.val_x), test_images=len(data.val_x), k=config.k,
                     classifier_images=classifier_images, factors=data.val_factors is not None)
    speed = NOMINAL
    # The probe costs a few seconds: not worth it for a study that takes a minute anyway.
    if sum(seconds for _, seconds in estimate_study(work, NOMINAL)) > PROBE_ABOVE_S:
        speed = machine_throughput(config.training, data.image_shape, state)
    stages = estimate_study(work, speed)
    return StudyEstimate(estimate_text(stages, speed), sum(seconds for _, seconds in stages), stages)


def plan_study(config: StudyConfig) -> Path:
    """Create a study folder holding only its settings (study.json, every trial pending), for a
    study another process runs with ``resume`` (the window's Ray studies)."""
    config.validate()
    study = StudyState.start(config, create_run_dir(config.out, "study"))
    study.write("not loaded yet", PENDING, "planned")
    return study.report_dir


def _drive(study: StudyState, engine: Engine, plan: StudyPlan, state: _Logged) -> StudyResult:
    state.report_dir = study.report_dir
    description = plan.data.describe()
    pending = study.unfinished()
    state.report(StudyStarted(str(study.report_dir), len(study.trials), len(study.trials) - len(pending),
                              engine.name))
    for trial in study.trials:  # so a resumed window or command line shows the kept rows too
        if trial["status"] == FINISHED:
            state.report(StudyRow(dict(trial["row"])))
    study.write(description, "running", engine.name)

    def ended(record: dict[str, Any]) -> None:
        study.record(record)
        study.write(description, "running", engine.name)
        if record["status"] == FINISHED:
            state.report(StudyRow(dict(record["row"])))
        else:
            state.report(TrialFailed(record["key"], record["group"], record["beta"], record["title"],
                                     record["seed"], record["status"], record.get("reason"), record.get("model", ""),
                                     record.get("schedule")))

    stopped = False
    try:
        from keras_models.study.trial import study_classifier

        # One classifier judges every trial, kept in the study folder; here, as the driver has the data.
        state.report(StageStarted("training the evaluation classifier (cached after the first time)", 0.0))
        plan.classifier = study_classifier(plan.data, plan.report_dir, plan.classifier_cache,
                                           plan.config.training.seed, state)
        engine.run(plan, pending, state, ended)
    except Stopped:
        stopped = True
    for trial in study.trials:
        if trial["status"] == PENDING:  # never started: the stop came first
            study.record({**trial, "status": STOPPED, "reason": "not started before the study was stopped"})
    stopped = stopped or any(t["status"] == STOPPED for t in study.trials)
    count = len(pending)
    state.report(StageStarted("drawing figures and writing the report", local_fraction(2 * count + 1, count)))
    from keras_models.study.report import write_report  # matplotlib and, for the grids, TensorFlow

    findings = write_report(plan.config, plan.data, study.rows, study.report_dir, stopped, state,
                            trials=study.trials, engine=engine.name)
    state.report(StageStarted("done", 1.0))
    append_progress(study.report_dir, {"event": "StudyDone", "time": time.time(), "report_dir": str(study.report_dir),
                                       "stopped": stopped, "conclusions": findings})
    return StudyResult(study.report_dir, study.rows, findings, stopped, study.trials)
