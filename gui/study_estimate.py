"""The study tab's time estimate before Run: the study's sizes from the training panel and the
study tab, and this machine's cached throughput (nominal figures until a study has measured it).
A study that runs replaces it with the estimate it computes from the loaded data."""
from __future__ import annotations

from typing import Any

from keras_models.config import ConfigError
from keras_models.sizing import KNOWN_TRAINING_IMAGES, resolve_training_size
from keras_models.study.config import FACTOR_SETS, StudyConfig, default_test_images
from keras_models.study.estimate import (NOMINAL, StudyWork, cached_throughput, estimate_study, estimate_text,
                                         probe_key)

# Test images of the named sets (the offline set's 500 validation images stand in for MNIST's test set).
KNOWN_TEST_IMAGES = {"mnist": 10_000, "fashion_mnist": 10_000, "mnist-5k": 500, "shapes": 73_728,
                     "dsprites": 73_728}


def estimate_for(window: Any) -> str:
    """The estimate of the study the window's settings describe, in one line."""
    training = window.controls.config()
    images = KNOWN_TRAINING_IMAGES.get(training.dataset)
    if images is None:
        return "estimated time: shown when the study starts (the data set's size is not known before it loads)"
    try:
        settings = window.study.study_settings()
    except ConfigError as exc:
        # A blank line looked like a hang; the same words come back as an error on Run study.
        return f"no estimate: {exc}"
    training.epochs = settings["epochs"]
    size = resolve_training_size(training.batch_size, training.epochs, images)
    if size is not None:
        training.batch_size, training.epochs = size.batch_size, size.epochs
    study = StudyConfig(training=training, betas=settings["betas"], include_cvae=settings["include_cvae"],
                        k=settings["k"], seeds=settings["seeds"])
    tests = KNOWN_TEST_IMAGES[training.dataset]
    limit = default_test_images(training.dataset)
    tests = min(tests, limit) if limit else tests
    work = StudyWork(trials=len(study.entries()), epochs=training.epochs, train_images=images,
                     validation_images=tests, test_images=tests, k=settings["k"], classifier_images=0,
                     factors=training.dataset in FACTOR_SETS)
    key = probe_key(training.batch_size, training.arch, training.latent_dim, (28, 28, 1), training.precision)
    speed = cached_throughput(key) or NOMINAL
    return estimate_text(estimate_study(work, speed), speed) + " (plus the evaluation classifier the first time)"


def connect_study_estimate(window: Any) -> None:
    """Keep the study tab's estimate current as the settings change."""
    def refresh(*_: object) -> None:
        if not window.busy:
            window.study.estimate.setText(estimate_for(window))

    controls, study = window.controls, window.study
    # Not the training panel's epochs: a study trains for its own (the study tab's box).
    for signal in (controls.dataset.currentIndexChanged, controls.batch_size.valueChanged,
                   controls.arch.currentIndexChanged,
                   controls.latent_dim.valueChanged, controls.precision.currentIndexChanged,  # the probe's key
                   study.betas.textChanged, study.include_cvae.toggled,
                   study.seeds.textChanged, study.epochs.valueChanged, study.k.valueChanged):
        signal.connect(refresh)
    refresh()
