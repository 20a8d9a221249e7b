"""One trial of a study: train one model of one seed in its run folder (or continue it from
the checkpoint there), measure it, and write its record, trial.json, beside it.

Every engine runs this same function: the local engine in its own process, the Ray engine
in a Tune trial on any node. Its row is a flat dict of plain values; everything else the
report needs is in the run folder, ``runs/<key>`` under the study folder.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from keras_models import classifier as digit_classifier
from keras_models import evaluation
from keras_models.data import DataSplit
from keras_models.events import JobState, ProgressMeter, StageStarted, Stopped, check_stop
from keras_models.files import MODEL_FILE, STATE_FILE, atomic_path, read_run
from keras_models.models import EVAL_SEED, VAE
from keras_models.study.config import StudyConfig
from keras_models.study.ledger import CLASSIFIER_DIR, FINISHED, run_dir_of, where, write_trial
from keras_models.threads import intra_op_threads, thread_count_from_environment
from keras_models.training import TrainingSession, load_model_file

DISENTANGLEMENT_IMAGES = 10_000


def disentanglement_numbers(model: VAE, data: DataSplit, state: JobState | None = None) -> dict[str, float]:
    """MIG, DCI and the FactorVAE score of the model's mean codes, on a data set with known factors."""
    from keras_models import disentanglement

    n = DISENTANGLEMENT_IMAGES
    # Steps: the two encodings, MIG, DCI (the boosted trees: most of the time), the FactorVAE score.
    meter = ProgressMeter(state, "MIG, DCI and FactorVAE scores", 5)

    def codes(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        encoded = model.encode(images[:n], labels[:n] if model.conditional else None)[0]
        meter.advance()
        return encoded

    test_codes, test_factors = codes(data.val_x, data.val_y), data.val_factors[:n]
    train_codes = codes(data.train_x, data.train_y)
    mig = float(disentanglement.mig(test_codes, test_factors)["score"])
    meter.advance()
    check_stop(state)
    dci = disentanglement.dci(train_codes, data.train_factors[:n], test_codes, test_factors)
    meter.advance()
    check_stop(state)
    factor_vae = float(disentanglement.factor_vae_score_from_codes(test_codes, test_factors)["score"])
    meter.finish()
    return {"mig": mig, "dci_disentanglement": float(dci["disentanglement"]),
            "dci_completeness": float(dci["completeness"]), "factor_vae": factor_vae}


def limit_threads(count: int | None) -> int:
    """Cap TensorFlow at ``count`` cores in this process: ``count`` inter-op threads, and the
    intra-op threads ``keras_models.threads`` gives that many cores. Return the intra-op threads
    in force, set here or in the environment (0: TensorFlow's default, every core). TensorFlow
    fixes its thread pools at its first operation, so only a process that has not computed
    anything yet can still change them."""
    import tensorflow as tf

    if count:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads(count, count))
            tf.config.threading.set_inter_op_parallelism_threads(count)
        except RuntimeError:  # already initialised: the earlier setting stays
            pass
    return (tf.config.threading.get_intra_op_parallelism_threads()
            or thread_count_from_environment("TF_NUM_INTRAOP_THREADS"))


# ----- the study's evaluation classifier -------------------------------------------------------
def _classifier_paths(folder: Path, data: DataSplit) -> tuple[Path, Path]:
    model_path = folder / f"{digit_classifier.file_safe(data.name)}.keras"
    return model_path, model_path.with_suffix(".json")


def study_classifier(data: DataSplit, report_dir: str | Path, cache_dir: str | Path | None = None,
                     seed: int = 0, state: JobState | None = None) -> digit_classifier.TrainedClassifier:
    """The classifier that judges every trial of the study, kept in the study folder so each
    trial (and a resumed study) uses the very same network: the study's copy when there is
    one, else the user's cached one or a new one, copied into the study folder."""
    folder = Path(report_dir) / CLASSIFIER_DIR
    if _classifier_paths(folder, data)[0].exists():
        return digit_classifier.load_or_train_classifier(data, cache_dir=folder, seed=seed, state=state)
    classifier = digit_classifier.load_or_train_classifier(data, cache_dir=cache_dir, seed=seed, state=state)
    source = Path(cache_dir) if cache_dir is not None else digit_classifier.default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # The JSON last, so a copy with a JSON always has its model (as the cache itself does).
    for src, dst in zip(_classifier_paths(source, data), _classifier_paths(folder, data)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    return classifier


def classifier_from_blob(blob: dict[str, Any], data: DataSplit) -> digit_classifier.TrainedClassifier:
    import tempfile

    import keras

    with tempfile.TemporaryDirectory(prefix="vae-studio-classifier-") as folder:
        path = Path(folder) / blob["name"]
        path.write_bytes(blob["model"])
        model = keras.models.load_model(path, compile=False)
    return digit_classifier.TrainedClassifier(model, data.name, float(json.loads(blob["info"])["test_accuracy"]))


# ----- the trial -------------------------------------------------------------------------------
_SPLITS: dict[tuple, DataSplit] = {}  # per process: a reused Ray worker skips loading the data again


def trial_data(config: StudyConfig, data: DataSplit | None = None) -> DataSplit:
    """The split a trial is measured on: ``data`` when the driver sent it (already cut to the
    study's test images), else the data set loaded by name with the study's test images
    (``config.test_idx``) and test image count, as the driver loaded it."""
    from keras_models.data import load_dataset, load_idx_test_set
    from keras_models.run_evaluation import measurement_split

    if data is not None:
        return data
    t = config.training
    key = (t.dataset, t.data_dir, config.test_idx, config.test_images)
    if key not in _SPLITS:
        test_set = load_idx_test_set(config.test_idx) if config.test_idx else None
        _SPLITS.clear()  # one data set at a time
        _SPLITS[key] = measurement_split(load_dataset(t.dataset, t.data_dir), test_set, config.test_images)
    return _SPLITS[key]


def _session(config: StudyConfig, entry: dict[str, Any], data: DataSplit, run_dir: Path, state: JobState,
             verbose: int) -> tuple[TrainingSession, int]:
    """The trial's training session and the epochs it has left: a new one, or the one in its run
    folder continued from its last checkpoint (the run of a killed driver or worker)."""
    epochs = config.training.epochs
    if not (run_dir / STATE_FILE).exists():  # never checkpointed: start again from scratch
        train_config = config.train_config(entry, out=str(run_dir.parent))
        return TrainingSession.new(train_config, data=data, run_dir=run_dir, state=state, verbose=verbose), epochs
    run = read_run(run_dir)
    left = epochs - len(run.history)
    if left > 0:
        return TrainingSession.resume(run_dir, left, data=data, state=state, verbose=verbose), left
    # Trained to the end, then stopped or killed while it was measured.
    model = load_model_file(run_dir / MODEL_FILE)
    return TrainingSession(run.config, model, data, run.run_dir, run.history, state=state, verbose=verbose), 0


def run_trial(config: StudyConfig, entry: dict[str, Any], data: DataSplit,
              classifier: digit_classifier.TrainedClassifier | None, report_dir: str | Path,
              state: JobState | None = None, verbose: int = 0, place: tuple[int, int] = (0, 1),
              fraction: Callable[[int], float] | None = None) -> dict[str, Any]:
    """Train the model of ``entry`` (one of ``config.entries()``) in ``report_dir/runs/<key>``,
    measure it on ``data``'s test split, write trial.json there and return its row.

    A run folder that already holds a checkpoint is continued from it with the epochs
    it has left. The row holds only str, int, float and None values; its ``run_dir``
    is relative to ``report_dir``. ``place`` is (index, count) of this trial, for the
    progress text; ``fraction(step)`` the progress after step 1 (training began) or 2
    (measuring began). Reports ``StageStarted`` and the training's own events on
    ``state``; a stop requested there raises ``Stopped`` and leaves the run folder, as
    far as it got, for a resumed study to continue.
    """
    state = state or JobState()
    fraction = fraction or (lambda step: 0.0)
    run_dir = run_dir_of(report_dir, entry["key"])
    index, count = place
    name = f"{entry['title']}, seed {entry['seed']}"
    state.check_stop()
    state.report(StageStarted(f"training {name} ({index + 1} of {count})", fraction(1)))
    session, left = _session(config, entry, data, run_dir, state, verbose)
    resumed_from = len(session.history)
    if left:
        if session.run().stopped:
            raise Stopped
    else:
        session.write_grids()
    state.report(StageStarted(f"measuring {name} (IWAE with k = {config.k})", fraction(2)))
    measured = evaluation.evaluate(session.model, data.val_x, data.val_y, k=config.k, seed=EVAL_SEED,
                                   classifier=classifier, state=state)
    if data.val_factors is not None:
        state.report(StageStarted(f"measuring the disentanglement of {name}", fraction(2)))
        measured.update(disentanglement_numbers(session.model, data, state))
    row = {**entry, **{k: v for k, v in measured.items() if k not in ("protocol", "latent_variance")},
           "k": config.k, "binarisation": measured["protocol"]["binarisation"],
           "test_images": measured["protocol"]["images"], "epochs": config.training.epochs,
           "resumed_from_epoch": resumed_from, "run_dir": str(run_dir.relative_to(Path(report_dir)))}
    write_trial(run_dir, entry, FINISHED, row=row, place={**where(), "threads": limit_threads(None)})
    return row
