"""Evaluate a run: measure its model on test images and write ``evaluation.json`` in its folder.

The one evaluation job, shared by ``python main.py evaluate`` and the window's
Evaluate run button.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from keras_models import classifier as digit_classifier
from keras_models import evaluation
from keras_models.config import DEFAULT_K, NUM_CLASSES, check_test_images, check_whole_number
from keras_models.data import CLASSIFIER_LABEL_USE, DataError, DataSplit, load_dataset
from keras_models.events import EvaluationDone, JobState, StageStarted
from keras_models.files import EVALUATION_FILE, MODEL_FILE, read_run, write_text_atomic
from keras_models.models import EVAL_SEED, VAE
from keras_models.training import load_model_file


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(side) for side in shape)


def measurement_split(data: DataSplit, test_set: tuple[np.ndarray, np.ndarray] | None = None,
                      test_images: int | None = None) -> DataSplit:
    """``data`` with its test split replaced by ``test_set`` (images, labels) and/or cut to its
    first ``test_images`` images: what every measurement of a run or study is made on."""
    if test_set is not None:
        if test_set[0].shape[1:] != data.image_shape:
            raise DataError(f"the test images are {_shape_text(test_set[0].shape[1:])} but {data.name} "
                            f"trains on {_shape_text(data.image_shape)}")
        data = dataclasses.replace(data, val_x=test_set[0], val_y=test_set[1], val_factors=None)
    if test_images is not None:
        n = test_images
        data = dataclasses.replace(data, val_x=data.val_x[:n], val_y=data.val_y[:n],
                                   val_factors=None if data.val_factors is None else data.val_factors[:n])
    # Every measurement trains (or loads) the digit classifier on these labels as classes.
    data.check_classes(NUM_CLASSES, CLASSIFIER_LABEL_USE)
    return data


def evaluate_run(run_dir: str | Path, k: int = DEFAULT_K, test_set: tuple[np.ndarray, np.ndarray] | None = None,
                 test_images: int | None = None, state: JobState | None = None, model: VAE | None = None,
                 data: DataSplit | None = None, classifier_cache: str | Path | None = None) -> dict[str, Any]:
    """Measure the model of ``run_dir`` and write its numbers to ``run_dir/evaluation.json``.

    ``model`` and ``data`` spare reloading what a caller already holds (the window's
    open run); otherwise they come from the run folder and its data set. Reports
    ``StageStarted`` before each step and ``EvaluationDone`` at the end. A stop
    requested on ``state`` raises ``Stopped``, and nothing is written.
    """
    state = state or JobState()
    check_whole_number("k (importance samples)", k)
    check_test_images(test_images)
    run = read_run(run_dir)
    if model is None:
        model = load_model_file(run.run_dir / MODEL_FILE)
    if data is None:
        state.report(StageStarted(f"loading {run.config.dataset}", 0.0))
        data = load_dataset(run.config.dataset, run.config.data_dir, state=state)
    data = measurement_split(data, test_set, test_images)
    state.report(StageStarted("training the evaluation classifier (cached after the first time)", 0.05))
    clf = digit_classifier.load_or_train_classifier(data, cache_dir=classifier_cache, state=state)
    state.report(StageStarted(f"measuring {len(data.val_x):,} test images (IWAE with k = {k})", 0.3))
    numbers = evaluation.evaluate(model, data.val_x, data.val_y, k=k, seed=EVAL_SEED, classifier=clf, state=state)
    path = run.run_dir / EVALUATION_FILE
    write_text_atomic(path, json.dumps(numbers, indent=2))
    state.report(EvaluationDone(numbers, str(path)))
    return numbers
