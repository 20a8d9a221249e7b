"""Run a β study: train a family of models on the same data and seed, measure each one,
and write the report.

The unit of work is one trial (``run_trial``): it trains one model of the study,
measures it and returns its row of the metrics table, a flat dict of plain
values that can be sent between processes. Everything else the report needs
is in the trial's run folder, which the row names. ``run_study`` runs the trials
one after the other in this process; an engine that runs them elsewhere only has
to bring their rows back and their run folders under the report folder.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from keras_models import classifier as digit_classifier
from keras_models import evaluation
from keras_models.data import DataSplit, check_training_data, load_dataset
from keras_models.events import JobState, StageStarted, Stopped, StudyRow
from keras_models.models import EVAL_SEED, VAE
from keras_models.run_evaluation import measurement_split
from keras_models.study.config import StudyConfig
from keras_models.study.report import write_report
from keras_models.training import TrainingSession, create_run_dir

DISENTANGLEMENT_IMAGES = 10_000
RUNS_DIR = "runs"


@dataclasses.dataclass
class StudyResult:
    """A finished (or stopped) study: its report folder, the rows of the models that finished
    and the conclusions drawn from them."""

    report_dir: Path
    rows: list[dict[str, Any]]
    conclusions: list[str]
    stopped: bool


def disentanglement_numbers(model: VAE, data: DataSplit) -> dict[str, float]:
    """MIG, DCI and the FactorVAE score of the model's mean codes, on a data set with known factors."""
    from keras_models import disentanglement

    n = DISENTANGLEMENT_IMAGES

    def codes(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return model.encode(images[:n], labels[:n] if model.conditional else None)[0]

    test_codes, test_factors = codes(data.val_x, data.val_y), data.val_factors[:n]
    dci = disentanglement.dci(codes(data.train_x, data.train_y), data.train_factors[:n], test_codes, test_factors)
    return {
        "mig": float(disentanglement.mig(test_codes, test_factors)["score"]),
        "dci_disentanglement": float(dci["disentanglement"]),
        "dci_completeness": float(dci["completeness"]),
        "factor_vae": float(disentanglement.factor_vae_score_from_codes(test_codes, test_factors)["score"]),
    }


def _fraction(step: int, trials: int) -> float:
    """Progress after ``step`` of a study of ``trials`` models: the classifier, then two steps a
    model (train, measure), then the report."""
    return step / (2 * trials + 2)


def run_trial(config: StudyConfig, entry: dict[str, Any], data: DataSplit,
              classifier: digit_classifier.TrainedClassifier | None, runs_dir: str | Path,
              state: JobState | None = None, verbose: int = 0, place: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """Train the model of ``entry`` (one of ``config.entries()``) in a run folder under ``runs_dir``,
    measure it on ``data``'s test split and return its row of the metrics table.

    The row holds only str, int, float and None values. Its ``run_dir`` is the run
    folder relative to the parent of ``runs_dir`` (the report folder, locally).
    ``place`` is (index, count) of this trial in the study, for the progress
    fractions. Reports ``StageStarted`` and the training's own events on ``state``;
    a stop requested there raises ``Stopped``, leaving a half-trained run folder
    and no row.
    """
    state = state or JobState()
    runs_dir = Path(runs_dir)
    index, count = place
    state.check_stop()
    state.report(StageStarted(f"training {entry['title']} ({index + 1} of {count})", _fraction(2 * index + 1, count)))
    session = TrainingSession.new(config.train_config(entry, out=str(runs_dir)), data=data, state=state,
                                  verbose=verbose)
    result = session.run()
    if result.stopped:
        raise Stopped
    state.report(StageStarted(f"measuring {entry['title']} (IWAE with k = {config.k})",
                              _fraction(2 * index + 2, count)))
    measured = evaluation.evaluate(result.model, data.val_x, data.val_y, k=config.k, seed=EVAL_SEED,
                                   classifier=classifier, state=state)
    if data.val_factors is not None:
        state.report(StageStarted(f"measuring the disentanglement of {entry['title']}",
                                  _fraction(2 * index + 2, count)))
        measured.update(disentanglement_numbers(result.model, data))
    return {**entry, **{k: v for k, v in measured.items() if k not in ("protocol", "latent_variance")},
            "k": config.k, "binarisation": measured["protocol"]["binarisation"],
            "test_images": measured["protocol"]["images"], "epochs": config.training.epochs,
            "run_dir": str(result.run_dir.relative_to(runs_dir.parent))}


def run_study(config: StudyConfig, data: DataSplit | None = None,
              test_set: tuple[np.ndarray, np.ndarray] | None = None, state: JobState | None = None,
              classifier_cache: str | Path | None = None, verbose: int = 0) -> StudyResult:
    """Train every model of ``config``, measure it on the test images, write the report.

    ``test_set`` (images, labels) replaces the data set's own test split for
    validation and every measurement, for example real MNIST test images beside
    the offline training set. Reports ``StageStarted``, a ``StudyRow`` per finished
    model and a ``StudyFigure`` per figure on ``state``, which each training shares,
    so a front end sees every model train. A stop requested on ``state`` ends the
    study after the model in progress is dropped: the finished ones are reported
    and the result says ``stopped``.
    """
    config.validate()
    state = state or JobState()
    if data is None:
        data = load_dataset(config.training.dataset, config.training.data_dir)
    # Before the report folder exists: test images of the wrong shape leave nothing behind.
    data = measurement_split(data, test_set, config.test_images)
    check_training_data(config.training, data)
    report_dir = create_run_dir(config.out, "study")
    entries = config.entries()
    rows: list[dict[str, Any]] = []
    stopped = False
    try:
        state.report(StageStarted("training the evaluation classifier (cached after the first time)", 0.0))
        classifier = digit_classifier.load_or_train_classifier(data, cache_dir=classifier_cache,
                                                               seed=config.training.seed, state=state)
        for index, entry in enumerate(entries):
            row = run_trial(config, entry, data, classifier, report_dir / RUNS_DIR, state, verbose,
                            place=(index, len(entries)))
            rows.append(row)
            state.report(StudyRow(dict(row)))
    except Stopped:  # a model half-trained or half-measured is left out; the finished ones are reported
        stopped = True
    state.report(StageStarted("drawing figures and writing the report", _fraction(2 * len(entries) + 1, len(entries))))
    findings = write_report(config, data, rows, report_dir, stopped, state)
    state.report(StageStarted("done", 1.0))
    return StudyResult(report_dir, rows, findings, stopped)
