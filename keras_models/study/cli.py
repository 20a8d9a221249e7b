"""``python main.py study``: its flags and the command. Every flag is checked before TensorFlow
or Ray loads, so a bad value gets one line naming it and leaves nothing behind.

Exit status: 0 when every trial finished, 1 when some failed (the report is written and
says which), 2 for bad input, 130 when stopped with Ctrl+C (the report covers the trials
that finished; ``--resume`` continues the others).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_models.config import DEFAULT_CLASSES, ConfigError
from keras_models.schedule_flags import SCHEDULE_FLAGS, add_schedule_flags
from keras_models.study.config import RAY_ADDRESS

if TYPE_CHECKING:
    from keras_models.data import DataSplit
    from keras_models.study.config import StudyConfig

ENGINES = ("local", "ray")
# The settings of the study itself, which --resume takes from the study folder instead.
SETTINGS = ("betas", "no_cvae", "epochs", "batch_size", "latent_dim", "learning_rate", "dataset", "data_dir",
            "test_idx", "arch", "precision", "seed", "seeds", "k", "test_images", "traverse_dim", "classes", "out",
            "tensorboard", *SCHEDULE_FLAGS)
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 1, 2, 130


def add_parser(commands: Any) -> argparse.ArgumentParser:
    study = commands.add_parser("study", help="train a β family once per seed, measure it and write a report")
    study.add_argument("--betas", nargs="+", default=["0.1", "1", "10"], help="β values (default 0.1 1 10)")
    study.add_argument("--no-cvae", action="store_true", help="leave the conditional VAE out")
    study.add_argument("-e", "--epochs", type=int, help="default: sized to the training set (10 on MNIST)")
    study.add_argument("-bs", "--batch-size", type=int, help="default: sized to the training set (1000 on MNIST)")
    study.add_argument("--latent-dim", type=int, default=10)
    study.add_argument("-l", "--learning-rate", type=float, default=1e-3)
    study.add_argument("--dataset", default="mnist", help="as for train; shapes adds MIG, DCI and FactorVAE")
    study.add_argument("--data-dir")
    study.add_argument("--test-idx", metavar="FOLDER",
                       help="evaluate on the t10k IDX files in FOLDER instead of the data set's test split")
    study.add_argument("--arch", default="mlp")
    study.add_argument("--precision", default="auto")
    study.add_argument("--seed", type=int, default=0, help="the seed when --seeds is not given (default 0)")
    study.add_argument("--seeds", type=int, nargs="+",
                       help="train every model once per seed, e.g. --seeds 0 1 2 (default: --seed)")
    study.add_argument("-k", "--k", type=int, default=1000, help="importance samples for the NLL (default 1000)")
    study.add_argument("--test-images", type=_test_images,
                       help="measure on the first N test images, or all (default all; 10000 on shapes and dsprites)")
    study.add_argument("--traverse-dim", type=int, help="latent dimension to traverse (default 6, or the last)")
    study.add_argument("--classes", type=int, nargs="+", default=list(DEFAULT_CLASSES))
    study.add_argument("--out", default="reports", help="folder that receives the study folder")
    study.add_argument("--tensorboard", action="store_true",
                       help="TensorBoard logs in every trial's run folder: tensorboard --logdir STUDY_DIR")
    study.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: one trial after another in this process (default); ray: each trial a Ray "
                            "Tune trial, side by side")
    study.add_argument("--address", help="with --engine ray: join a running Ray cluster (auto, or "
                                         "ray://HOST:PORT); default: start a Ray on this machine for the study")
    study.add_argument("--cpus-per-trial", type=int,
                       help="CPUs each trial gets, and TensorFlow threads in it (default 1 with --engine ray; "
                            "local uses every core unless given)")
    study.add_argument("--gpus-per-trial", type=float, default=0.0,
                       help="GPUs Ray gives each trial (default 0; fractions share a GPU)")
    study.add_argument("--storage", help="with --engine ray: where Tune keeps its experiment files (a shared "
                                         "path or URI such as s3://bucket/studies; default: the study folder)")
    study.add_argument("--resume", metavar="STUDY_DIR",
                       help="continue a study whose driver died: finished trials are kept, the others continue "
                            "from their last checkpoint")
    add_schedule_flags(study, study=True)
    return study


def _test_images(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number or all, got {text!r}") from None


def _check_writable(flag: str, folder: str) -> None:
    """Refuse a folder that cannot be created or written, by making (and removing) a temporary
    folder in its nearest existing parent: permission bits alone pass /proc for root."""
    path = Path(folder).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    try:
        if existing is None or not existing.is_dir():
            raise OSError
        os.rmdir(tempfile.mkdtemp(prefix=".vae-studio-check-", dir=existing))
    except OSError:
        raise ConfigError(f"cannot write to {flag} folder {folder}") from None


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's options from the flags; ConfigError naming a bad one."""
    from keras_models.config import check_whole_number

    if args.cpus_per_trial is not None:
        check_whole_number("--cpus-per-trial", args.cpus_per_trial)
    gpus = args.gpus_per_trial
    if not (gpus >= 0 and gpus == gpus and gpus != float("inf")):
        raise ConfigError(f"--gpus-per-trial must be a number >= 0, got {gpus:g}")
    if args.engine == "local":
        for flag, value in (("--address", args.address), ("--storage", args.storage),
                            ("--gpus-per-trial", gpus or None)):
            if value is not None:
                raise ConfigError(f"{flag} {value:g} needs --engine ray" if isinstance(value, float)
                                  else f"{flag} {value} needs --engine ray")
        return {"cpus_per_trial": args.cpus_per_trial}
    if args.address is not None and not RAY_ADDRESS.match(args.address):
        raise ConfigError(f"--address must be auto, ray://HOST:PORT or HOST:PORT, got {args.address!r}")
    if args.storage is not None and "://" not in args.storage:
        _check_writable("--storage", args.storage)
    return {"cpus_per_trial": args.cpus_per_trial or 1, "gpus_per_trial": gpus, "address": args.address,
            "storage": args.storage}


def study_config(args: argparse.Namespace) -> "StudyConfig":
    """The study the flags describe, validated; ConfigError naming a bad value."""
    from keras_models.config import TrainConfig
    from keras_models.study.config import StudyConfig

    if args.seeds is not None and args.seed != _defaults().get_default("seed"):
        raise ConfigError("give --seed or --seeds, not both")

    training = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, latent_dim=args.latent_dim,
                           learning_rate=args.learning_rate, dataset=args.dataset, data_dir=args.data_dir,
                           arch=args.arch, precision=args.precision, seed=args.seed,
                           tensorboard=args.tensorboard)
    config = StudyConfig(training=training, betas=tuple(args.betas), include_cvae=not args.no_cvae, k=args.k,
                         traverse_dim=args.traverse_dim, classes=tuple(args.classes),
                         test_images="auto" if args.test_images is None else args.test_images,
                         out=args.out, seeds=None if args.seeds is None else tuple(args.seeds),
                         test_idx=args.test_idx,
                         **{name: getattr(args, name) for name in SCHEDULE_FLAGS if getattr(args, name) is not None}
                         ).validate()
    _check_writable("output", config.out)
    if config.test_idx is not None and not Path(config.test_idx).is_dir():
        raise ConfigError(f"--test-idx {config.test_idx} is not a folder")
    return config


def _printer(event: Any) -> None:
    from keras_models.events import StageStarted, StudyEstimate, StudyRow, StudyStarted, TrialFailed

    # Keras prints each epoch of a local trial itself (verbose=2); the study adds its steps and each trial's numbers.
    if isinstance(event, StudyEstimate):
        print(event.text, flush=True)
    elif isinstance(event, StudyStarted):
        before = f", {event.finished} finished before and kept" if event.finished else ""
        print(f"study folder {event.report_dir}: {event.trials} trial{'' if event.trials == 1 else 's'} on the {event.engine} engine{before} "
              f"(if interrupted: --resume {event.report_dir})", flush=True)
    elif isinstance(event, StageStarted):
        print(f"[{100 * event.fraction:3.0f}%] {event.text}", flush=True)
    elif isinstance(event, StudyRow):
        row = event.row
        print(f"       {row['title']}, seed {row['seed']}: NELBO {row['nelbo']:.2f}, IWAE NLL {row['iwae_nll']:.2f}, "
              f"active units {row['active_units']}/{row['latent_dim']}", flush=True)
    elif isinstance(event, TrialFailed):
        print(f"       {event.title}, seed {event.seed}: {event.status.upper()}"
              + (f": {event.reason}" if event.reason else ""), flush=True)


def _defaults() -> argparse.ArgumentParser:
    return add_parser(argparse.ArgumentParser().add_subparsers())


def _check_data(config: "StudyConfig", state: Any = None) -> "DataSplit | None":
    """Refuse data that cannot train now, in one line: sets that need no TensorFlow (idx:, the
    offline set) are loaded and checked before it loads, and returned so the study need not
    load them again; tensorflow-datasets sets are loaded by the study (None)."""
    from keras_models.data import CLASSIFIER_LABEL_USE, check_training_data, load_dataset
    from keras_models.data.tfds_sets import TFDS_HOSTS
    from keras_models.sizing import check_sized_all

    training = config.training
    if training.dataset in TFDS_HOSTS:
        return None
    data = check_training_data(training, load_dataset(training.dataset, training.data_dir, state=state),
                               CLASSIFIER_LABEL_USE)
    # A schedule longer than the epochs auto will choose, before TensorFlow and any trial.
    check_sized_all((config.train_config(entry) for entry in config.entries()), len(data.train_x))
    return data


def run(args: argparse.Namespace) -> int:
    """The ``study`` command; raises ValueError (ConfigError, DataError, RunError) for bad input."""
    from keras_models.events import JobState
    from keras_models.study.ledger import FAILED, StudyState

    options = engine_options(args)
    config = None
    if args.resume:
        StudyState.read(args.resume)  # not a study folder: one line, before anything loads
        defaults = _defaults()
        ignored = [f"--{name.replace('_', '-')}" for name in SETTINGS if getattr(args, name) != defaults.get_default(name)]
        if ignored:
            print(f"note: --resume uses the study's saved settings; ignoring {', '.join(ignored)}", file=sys.stderr)
    from keras_models.progress_bars import terminal_events

    state = JobState(on_event=terminal_events(_printer))
    data = None
    if not args.resume:
        config = study_config(args)
        data = _check_data(config, state)

    def stop(signum: int, frame: Any) -> None:
        print("stopping: the trials in progress end after their current batch (Ctrl+C again quits at once)",
              file=sys.stderr, flush=True)
        state.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    from keras_models.startup import import_tensorflow_quietly

    import_tensorflow_quietly()
    from keras_models.study.engines import make_engine  # Ray, for --engine ray: after every check above
    from keras_models.study.runner import run_study  # TensorFlow

    engine = make_engine(args.engine, **options)
    previous = signal.signal(signal.SIGINT, stop)
    try:
        # Handed over rather than loaded again (a folder set decoded twice, shapes converted twice);
        # not to Ray, whose trials load a named set themselves instead of being sent it.
        result = run_study(config, data=data if args.engine == "local" else None, state=state,
                           verbose=2 if args.engine == "local" else 0, engine=engine, resume=args.resume)
    finally:
        signal.signal(signal.SIGINT, previous)
    for line in result.conclusions:
        print(f"- {line}")
    print(f"report written to {result.report_dir / 'report.html'}")
    failed = [t for t in result.trials if t["status"] == FAILED]
    if failed:
        print(f"{len(failed)} of {len(result.trials)} trials failed; the report lists why", file=sys.stderr)
    if result.stopped:
        print(f"stopped; continue with: python main.py study --resume {result.report_dir}", file=sys.stderr)
        return EXIT_STOPPED
    return EXIT_FAILED if failed else 0
