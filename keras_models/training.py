"""A training session: config -> data -> model -> fit, with a run folder on disk.

The session reports progress as typed events through a ``JobState``
(``keras_models.events``); it knows nothing about windows or terminals. A stop
requested on that state is honoured after the batch in progress.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import keras

from keras_models import grids
from keras_models.callbacks import StopOnRequest, batches_done
from keras_models.config import (DEFAULT_CLASSES, MAX_EPOCHS, TrainConfig, check_dataset_name, check_whole_number,
                                 default_traverse_dim)
from keras_models.data import DataSplit, binarize_fixed, check_training_data, load_dataset, make_pipeline
from keras_models.events import BatchProgress, EpochDone, JobState, RunStarted, Stopped, TrainingSized
from keras_models.files import (CONFIG_FILE, GRIDS_DIR, METRICS_FILE, MODEL_FILE, STATE_FILE, atomic_path,
                                write_text_atomic)
from keras_models.execution import steps_per_execution
from keras_models.models import EVAL_SEED, TRACKED_TERMS, VAE, build_model
from keras_models.files import (DiskFull, RunError, check_model_file, clear_stale_temporaries, format_size,
                                is_disk_full, read_run)
from keras_models.memory import gradients_released
from keras_models.schedules import SCHEDULE_COLUMNS
from keras_models.sizing import apply_training_size
from keras_models.tensorboard import RunTensorBoard
from keras_models.views import epoch_pictures

METRIC_COLUMNS = ["epoch", *TRACKED_TERMS, *(f"val_{t}" for t in TRACKED_TERMS), "time_s"]
UPDATES_PER_EPOCH = 10


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. ``model`` is the last good checkpoint reloaded, or
    None when none had been written (the diverged weights would only draw NaN pictures)."""

    def __init__(self, message: str, model: VAE | None) -> None:
        super().__init__(message)
        self.model = model


class _Diverged(Exception):
    """Raised from inside ``fit`` to leave it at once when a loss is not finite."""


@dataclasses.dataclass
class TrainingResult:
    """A finished (or stopped) training: the model as saved in ``run_dir``, with its settings and data."""

    run_dir: Path
    history: list[dict[str, float]]
    stopped: bool
    model: VAE
    config: TrainConfig
    data: DataSplit


# ----- run folders --------------------------------------------------------------------------------
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "numpy", "tensorflow-datasets"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def create_run_dir(out: str | Path, name: str, now: dt.datetime | None = None) -> Path:
    """A fresh folder ``out/YYYY-MM-DD_HHMM_name`` (suffixed ``_2``, ``_3`` … if taken)."""
    out = Path(out).expanduser()
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d_%H%M")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            candidate = out / (f"{stamp}_{name}" + (f"_{attempt}" if attempt > 1 else ""))
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as exc:
        raise RunError(f"cannot write to output folder {out}: {exc.strerror or exc}") from None
    raise RunError(f"too many runs named {stamp}_{name} in {out}")


def metrics_csv_text(history: list[dict[str, float]]) -> str:
    # A scheduled run adds its schedule's column (kl_weight or capacity); others keep the columns they always had.
    columns = METRIC_COLUMNS + [c for c in SCHEDULE_COLUMNS if any(c in row for row in history)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (int(v) if k == "epoch" else f"{v:.6g}") for k, v in row.items() if k in columns})
    return buffer.getvalue()


def model_save_size(model: keras.Model, path: Path) -> tuple[int, str]:
    """About how many bytes saving ``model`` to ``path`` takes, and how that was judged: the
    size of the file there, else four bytes a weight and optimizer slot (the file's bulk)."""
    try:
        return path.stat().st_size, f"the size of the last {path.name}"
    except OSError:
        optimizer = getattr(model, "optimizer", None)
        variables = [*model.weights, *(optimizer.variables if optimizer is not None else [])]
        return 4 * sum(math.prod(v.shape) for v in variables), "estimated from the weights"


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Save ``model`` to ``path`` atomically; a full disk raises DiskFull saying how much room
    the save needs, with the file at ``path`` as it was."""
    try:
        with atomic_path(path) as tmp:
            model.save(tmp)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        size, basis = model_save_size(model, path)
        raise DiskFull(f"no space left on device saving {path}: it needs about {format_size(size)} free "
                       f"({basis})", path) from None


def load_model_file(path: str | Path) -> VAE:
    """Load a saved model, turning every way a file can be wrong into one RunError."""
    path = check_model_file(path)
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for truncated or foreign files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(f"cannot load model {path}: {reason[:200]}") from None
    if not isinstance(model, VAE):
        raise RunError(f"{path} holds a {type(model).__name__}, not a model made by this tool")
    return model


def _loadable_name(data: DataSplit, config: TrainConfig) -> str:
    """The name load_dataset gives ``data`` (the offline set after a fallback); a split the
    caller made itself stands for the configured set."""
    try:
        return check_dataset_name(data.name)
    except ValueError:
        return config.dataset


def _report_often_enough(model: VAE, batch_size: int, steps: int) -> None:
    """Batches a compiled call trains: ``execution.steps_per_execution``, but fewer where an epoch
    is short, so that a training still reports about ``UPDATES_PER_EPOCH`` times an epoch to
    the window's live plots. A model file saved before such calls existed gets them here too."""
    calls = max(1, min(steps_per_execution(batch_size), steps // UPDATES_PER_EPOCH))
    if model.steps_per_execution != calls:
        model.steps_per_execution = calls
        # Keras makes its compiled loops on the next fit with the new number.
        model.train_function = model.test_function = None


# ----- the Keras callback that drives reporting and checkpoints -------------------------------
class _SessionCallback(keras.callbacks.Callback):
    def __init__(self, session: "TrainingSession", steps: int) -> None:
        super().__init__()
        self.session = session
        self.steps = steps
        self.update_every = max(1, steps // UPDATES_PER_EPOCH)
        self.nan_at: str | None = None  # "epoch 2, batch 5", or "epoch 2, batches 1-8" for a compiled call
        self.epoch = 0
        self.epoch_start = 0.0
        self.train_start = 0.0
        self.batches_done = 0
        self.epoch_batches = 0
        self.schedule_value: float | None = None

    def on_train_begin(self, logs=None):
        self.train_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = time.perf_counter()
        self.epoch_batches = 0
        # Keras counts epochs from initial_epoch, so a resumed run continues its schedule where it was.
        self.schedule_value = self.model.start_epoch(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        batch = batches_done(batch, self.steps) - 1  # the last batch this compiled call trained
        logs = {k: float(v) for k, v in (logs or {}).items()}
        first = self.epoch_batches + 1
        self.batches_done += batch + 1 - self.epoch_batches
        crossed_update = (batch + 1) // self.update_every > self.epoch_batches // self.update_every
        self.epoch_batches = batch + 1
        if not all(math.isfinite(v) for v in logs.values()):
            batches = f"batch {first}" if first == batch + 1 else f"batches {first}-{batch + 1}"
            self.nan_at = f"epoch {self.epoch + 1}, {batches}"
            raise _Diverged
        if crossed_update or batch + 1 == self.steps:
            s = self.session
            elapsed = time.perf_counter() - self.train_start
            remaining = (s.config.epochs - self.epoch) * self.steps - (batch + 1)
            s.state.report(BatchProgress(epoch=self.epoch + 1, epochs=s.config.epochs, batch=batch + 1,
                                         steps=self.steps, logs=logs,
                                         eta_s=elapsed / self.batches_done * max(remaining, 0)))
            s.state.show_model(self.model, s.data)

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": float(epoch + 1), **{k: float(v) for k, v in (logs or {}).items()},
                  "time_s": time.perf_counter() - self.epoch_start}
        if self.schedule_value is not None:
            record[self.model.schedule.column] = self.schedule_value
        self.session.record_epoch(record)


class TrainingSession:
    """Owns one model and its run folder; ``run()`` trains it.

    Build it with ``TrainingSession.new(config)`` or ``TrainingSession.resume(run_dir)``.
    Data loading happens before any folder is created, so bad input leaves nothing behind.
    """

    def __init__(self, config: TrainConfig, model: VAE, data: DataSplit, run_dir: Path,
                 history: list[dict[str, float]], state: JobState | None = None, verbose: int = 0) -> None:
        self.config = config
        self.model = model
        self.data = data
        self.run_dir = run_dir
        self.history = history
        self.state = state or JobState()
        self.verbose = verbose
        self.checkpoint_epoch = int(history[-1]["epoch"]) if history else 0

    @classmethod
    def new(cls, config: TrainConfig, data: DataSplit | None = None, run_dir: str | Path | None = None,
            **kwargs: Any) -> "TrainingSession":
        """``run_dir``: train in this folder (created if missing; a study names each trial's
        folder itself) instead of a fresh dated one under ``config.out``."""
        config.validate()
        keras.utils.set_random_seed(config.seed)
        if data is None:
            data = load_dataset(config.dataset, config.data_dir)
        check_training_data(config, data)
        sized = apply_training_size(config, len(data.train_x))
        if sized is not None:
            (kwargs.get("state") or JobState()).report(TrainingSized(sized.batch_size, sized.epochs, sized.reason))
        model = build_model(config, data.image_shape)
        model.start_from_data_mean(data.train_x)
        if run_dir is None:
            run_dir = create_run_dir(config.out, config.run_name())
        else:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / CONFIG_FILE, json.dumps({
            "config": config.to_dict(),
            # Both, because an offline fallback trains on another set than the one asked for,
            # and a resume must continue on the one trained on (files.read_run).
            "data": {"requested": config.dataset, "trained_on": _loadable_name(data, config),
                     "name": data.name, "train": len(data.train_x), "validation": len(data.val_x),
                     "notice": data.notice},
            "versions": library_versions(),
            "created": dt.datetime.now().isoformat(timespec="seconds"),
        }, indent=2))
        return cls(config, model, data, run_dir, [], **kwargs)

    @classmethod
    def resume(cls, run_dir: str | Path, more_epochs: int, data: DataSplit | None = None,
               model: VAE | None = None, **kwargs: Any) -> "TrainingSession":
        """Continue ``run_dir`` from its last checkpoint (weights and optimizer state), on the
        data set it trained on: after an offline fallback that is the offline set, with a
        notice; a set that cannot be loaded now is refused, never replaced by another."""
        run = read_run(run_dir)
        check_whole_number("epochs", more_epochs, maximum=MAX_EPOCHS)
        # Whoever resumes a run is its only writer, so every temporary there is stale.
        clear_stale_temporaries(run.run_dir, older_than_s=0)
        if model is None:
            model = load_model_file(run.run_dir / MODEL_FILE)
        config = run.config
        config.epochs = len(run.history) + more_epochs
        keras.utils.set_random_seed(config.seed + len(run.history))
        if data is None:
            data = load_dataset(config.dataset, config.data_dir, fallback=False)
        elif data.notice and data.name != config.dataset:  # the caller's loader fell back
            raise RunError(f"{run.run_dir} was trained on {config.dataset}, which cannot be loaded now; "
                           f"a resume continues on the same data only, not on {data.name}")
        if run.fell_back_from:
            data = dataclasses.replace(data, notice=(
                f"this run trained on {config.dataset} because {run.fell_back_from} could not be loaded "
                f"when it started; it continues on {config.dataset}"))
        check_training_data(config, data)
        return cls(config, model, data, run.run_dir, run.history, **kwargs)

    @property
    def initial_epoch(self) -> int:
        return len(self.history)

    def record_epoch(self, record: dict[str, float]) -> None:
        self.history.append(record)
        write_text_atomic(self.run_dir / METRICS_FILE, metrics_csv_text(self.history))
        epoch = int(record["epoch"])
        if epoch % self.config.ckpt_every == 0 or epoch == self.config.epochs:
            self.checkpoint(epoch)
        pictures = (epoch_pictures(self.model, self.data.val_x, self.data.val_y, self.config.seed,
                                   self.state.map_projection()) if self.state.wants_pictures else None)
        self.state.report(EpochDone(record, pictures))
        self.state.show_model(self.model, self.data)

    def checkpoint(self, epoch: int) -> None:
        # checkpoint.json is written before the model and renamed after it, so a full disk
        # never leaves a model.keras newer than the epoch checkpoint.json names.
        with atomic_path(self.run_dir / STATE_FILE) as state_tmp:
            state_tmp.write_text(json.dumps({"epoch": epoch}), encoding="utf-8")
            save_model_atomic(self.model, self.run_dir / MODEL_FILE)
        self.checkpoint_epoch = epoch

    # Without it TensorFlow keeps every trained model's train-step graphs (~20 MB each): keras_models.memory.
    @gradients_released()
    def run(self) -> TrainingResult:
        """Train, checkpoint and draw the grids. A full disk raises DiskFull, one line saying
        what a checkpoint needs and which one is kept; no file is left half-written."""
        try:
            return self._run()
        except (DiskFull, OSError) as exc:
            if not isinstance(exc, DiskFull) and not is_disk_full(exc):
                raise
            path = exc.path if isinstance(exc, DiskFull) else exc.filename
            size, basis = model_save_size(self.model, self.run_dir / MODEL_FILE)
            kept = (f"kept the checkpoint from epoch {self.checkpoint_epoch}"
                    if (self.run_dir / MODEL_FILE).exists() else "no checkpoint had been written yet")
            raise DiskFull(f"no space left on device writing {path}: a checkpoint needs about "
                           f"{format_size(size)} free ({basis}); {kept} in {self.run_dir}", path) from None

    def _run(self) -> TrainingResult:
        cfg, data = self.config, self.data
        train = make_pipeline(data.train_x, data.train_y, cfg.batch_size, shuffle=True, seed=cfg.seed)
        # The same fixed binarisation as keras_models.evaluation, so the validation numbers in
        # metrics.csv and those of an evaluation describe the same binary images.
        val = make_pipeline(binarize_fixed(data.val_x, EVAL_SEED), data.val_y, cfg.batch_size, shuffle=False)
        steps = math.ceil(len(data.train_x) / cfg.batch_size)
        _report_often_enough(self.model, cfg.batch_size, steps)
        callback = _SessionCallback(self, steps)
        self.state.report(RunStarted(
            run_dir=str(self.run_dir), data=data.describe(), notice=data.notice, epochs=cfg.epochs,
            initial_epoch=self.initial_epoch, steps=steps, config=cfg.to_dict(), history=list(self.history)))
        stopped = False
        # The session's callback goes first, so a NaN batch is caught before a stop is honoured.
        callbacks = [callback, StopOnRequest(self.state)]
        if cfg.tensorboard:
            callbacks.append(RunTensorBoard(self.run_dir, data.val_x, data.val_y, cfg.seed))
        try:
            self.model.fit(train, validation_data=val, epochs=cfg.epochs, initial_epoch=self.initial_epoch,
                           callbacks=callbacks, verbose=self.verbose, shuffle=False)
        except _Diverged:
            pass
        except Stopped:
            stopped = True
        finally:
            for board in callbacks[2:]:
                board.close()
        if callback.nan_at is not None:
            kept = (f"kept the checkpoint from epoch {self.checkpoint_epoch}" if self.checkpoint_epoch
                    else "no checkpoint had been written yet")
            restored = load_model_file(self.run_dir / MODEL_FILE) if self.checkpoint_epoch else None
            raise TrainingDiverged(f"loss became NaN at {callback.nan_at}; {kept} in {self.run_dir}",
                                   restored)
        last_epoch = int(self.history[-1]["epoch"]) if self.history else 0
        # A stop mid-epoch keeps what was learned: the weights include the unfinished epoch's
        # batches, while the history and the epoch count stop at the last finished epoch.
        if stopped or self.checkpoint_epoch != last_epoch:
            self.checkpoint(last_epoch)
        self.write_grids()
        return TrainingResult(self.run_dir, self.history, stopped, self.model, cfg, data)

    def write_grids(self) -> list[Path]:
        return grids.write_run_grids(self.model, self.data.val_x, self.data.val_y, self.run_dir / GRIDS_DIR,
                                     default_traverse_dim(self.model.latent_dim), DEFAULT_CLASSES,
                                     self.config.seed)
