"""VAE Studio: `python main.py` opens the window; `train`, `grids`, `evaluate` and `study` run headless."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from keras_models.config import DEFAULT_CLASSES
from keras_models.startup import import_tensorflow_quietly
from keras_models.schedule_flags import SCHEDULE_FLAGS, add_schedule_flags
from keras_models.study import cli as study_cli

if TYPE_CHECKING:
    from keras_models.events import JobState

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports bad input in one line (no usage dump), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="main.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    train = commands.add_parser("train", help="train a model without the window")
    train.add_argument("-m", "--model", help="vae, bvae or cvae (default bvae)")
    train.add_argument("-e", "--epochs", type=int,
                       help="epochs to train (default: sized to the training set, 10 on MNIST; with --resume: "
                            "more epochs, default 10)")
    train.add_argument("-b", "--beta", help="weight of the KL term, >= 0 (default 1)")
    train.add_argument("-bs", "--batch-size", type=int,
                       help="default: sized to the training set (1000 on MNIST, 100 on mnist-5k)")
    train.add_argument("--latent-dim", type=int, help="default 10")
    train.add_argument("-l", "--learning-rate", type=float, help="default 1e-3")
    train.add_argument("--dataset", help="mnist (default), fashion_mnist, mnist-5k, shapes, dsprites, "
                                          "idx:FOLDER or folder:DIR (one sub-folder of images per class)")
    train.add_argument("--data-dir", help="where tensorflow-datasets keeps its downloads")
    train.add_argument("--arch", help="mlp (default, the reference network) or conv")
    train.add_argument("--seed", type=int, help="default 0")
    train.add_argument("--precision", help="auto (default), float32 or bfloat16 matrix products")
    train.add_argument("--out", help="folder that receives the run folder (default runs)")
    train.add_argument("--ckpt-every", type=int, help="save model.keras every N epochs (default 1)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    train.add_argument("--tensorboard", action="store_true", default=None,
                       help="also write TensorBoard logs (scalars and pictures per epoch) into RUN_DIR/tensorboard")
    add_schedule_flags(train)

    study_cli.add_parser(commands)

    evaluate = commands.add_parser("evaluate", help="measure a saved run and write evaluation.json in it")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("-k", "--k", type=int, default=1000, help="importance samples for the NLL (default 1000)")
    evaluate.add_argument("--test-idx", metavar="FOLDER",
                          help="evaluate on the t10k IDX files in FOLDER instead of the data set's test split")
    evaluate.add_argument("--test-images", type=int, help="measure on the first N test images (default all)")

    grids = commands.add_parser("grids", help="write the image grids of a saved run again")
    grids.add_argument("run_dir", metavar="RUN_DIR")
    grids.add_argument("--traverse-dim", type=int,
                       help="latent dimension to traverse (default 6, or the last one of smaller models)")
    grids.add_argument("--classes", type=int, nargs="+", default=list(DEFAULT_CLASSES),
                       help="CVAE classes (default %(default)s)")
    grids.add_argument("--out", help="folder for the PNG files (default RUN_DIR/grids)")
    return parser


def _check_writable(folder: str) -> None:
    """Refuse an output folder that cannot be written before TensorFlow loads (its import
    prints several log lines that would bury the one-line error)."""
    path = Path(folder).expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ValueError(f"cannot write to output folder {folder}")


@contextlib.contextmanager
def _ctrl_c_stops(state: JobState) -> Iterator[None]:
    """For the block, a first Ctrl-C asks ``state`` to stop after the batch in progress, as the
    window's Stop does; a second one aborts at once. The previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread():  # only it may set handlers
        yield
        return

    def stop(signum, frame) -> None:
        if state.stop_requested:
            raise KeyboardInterrupt
        state.request_stop()

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _train(args: argparse.Namespace) -> int:
    from keras_models.config import TrainConfig, check_whole_number
    from keras_models.data import check_training_data, load_dataset
    from keras_models.data.tfds_sets import TFDS_HOSTS
    from keras_models.events import JobState
    from keras_models.files import MODEL_FILE, check_model_file, read_run
    from keras_models.progress_bars import terminal_events
    from keras_models.schedules import schedule_of

    settings = {k: v for k, v in vars(args).items() if k not in ("command", "resume") and v is not None}
    # Everything that can be checked without TensorFlow is checked first, so bad input
    # gets its one-line error at once.
    if args.resume:
        run = read_run(args.resume)
        epochs = check_whole_number("epochs", settings.get("epochs", 10))
        check_model_file(run.run_dir / MODEL_FILE)
        config = run.config
        ignored = sorted(set(settings) - {"epochs"})
        if ignored:
            # Named as typed (--kl-warmup, not kl_warmup); a schedule asked for is the likeliest
            # surprise, so the one the run keeps is named too.
            note = "ignoring " + ", ".join("--" + name.replace("_", "-") for name in ignored)
            if set(ignored) & set(SCHEDULE_FLAGS):
                schedule = schedule_of(config)
                note += f" (the run keeps its own KL schedule: {schedule.describe() if schedule else 'none'})"
            print(f"note: --resume uses the run's saved settings; {note}", file=sys.stderr)
    else:
        # Batch size and epochs not given are sized to the training set once it is loaded.
        config = TrainConfig(**{"epochs": None, "batch_size": None, **settings}).validate()
        _check_writable(config.out)
    if config.dataset in TFDS_HOSTS:  # tensorflow-datasets imports TensorFlow
        import_tensorflow_quietly()
    state = JobState(on_event=terminal_events())
    # A resume continues on the data it trained on or not at all: no offline stand-in.
    data = check_training_data(config, load_dataset(config.dataset, config.data_dir, fallback=not args.resume,
                                                    state=state))
    if not args.resume:  # what needs the epochs auto will choose (a KL schedule's span) fails here, not later
        from keras_models.sizing import check_sized, resolve_training_size

        size = resolve_training_size(config.batch_size, config.epochs, len(data.train_x))
        if size is not None:
            check_sized(config, size, len(data.train_x))

    import_tensorflow_quietly()
    from keras_models.formatting import summary_line
    from keras_models.training import TrainingDiverged, TrainingSession

    if args.resume:
        session = TrainingSession.resume(run.run_dir, epochs, data=data, state=state, verbose=1)
    else:
        session = TrainingSession.new(config, data=data, state=state, verbose=1)
    if session.data.notice:
        print(f"notice: {session.data.notice}", file=sys.stderr)
    print(f"training {session.config.run_name()} on {session.data.describe()} -> {session.run_dir}")
    try:
        with _ctrl_c_stops(state):
            result = session.run()
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if result.stopped:
        print()  # end the progress bar Keras left half-drawn
    if result.history:
        print(summary_line(result.history[-1]))
    print(f"run saved in {result.run_dir}")
    if result.stopped:
        print(f"stopped by Ctrl-C: kept the weights trained so far; the unfinished epoch is not counted, "
              f"so the run stands at epoch {len(result.history)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _grids(args: argparse.Namespace) -> int:
    from keras_models.config import default_traverse_dim
    from keras_models.files import (GRIDS_DIR, MODEL_FILE, DiskFull, check_model_file, format_size, is_disk_full,
                                    read_run)

    run = read_run(args.run_dir)
    config = run.config
    if args.traverse_dim is None:  # the same choice training makes for its own grids
        args.traverse_dim = default_traverse_dim(config.latent_dim)
    if not 0 <= args.traverse_dim < config.latent_dim:
        raise ValueError(f"--traverse-dim {args.traverse_dim} does not exist: the model has {config.latent_dim} latent dimensions")
    if any(not 0 <= c <= 9 for c in args.classes):
        raise ValueError(f"--classes must be digits 0-9, got {' '.join(map(str, args.classes))}")
    check_model_file(run.run_dir / MODEL_FILE)
    out = Path(args.out) if args.out else run.run_dir / GRIDS_DIR
    try:
        _check_writable(str(out))
    except ValueError:
        raise ValueError(f"cannot write grids to {out}: not a folder that can be written") from None

    import_tensorflow_quietly()
    from keras_models import grids
    from keras_models.data import load_dataset
    from keras_models.training import load_model_file

    model = load_model_file(run.run_dir / MODEL_FILE)
    data = load_dataset(config.dataset, config.data_dir, notify=lambda text: print(f"notice: {text}", file=sys.stderr))
    try:
        written = grids.write_run_grids(model, data.val_x, data.val_y, out, args.traverse_dim, args.classes, config.seed)
    except OSError as exc:
        if is_disk_full(exc):
            saved = [p.stat().st_size for p in (run.run_dir / GRIDS_DIR).glob("*.*") if p.is_file()]
            need = f": they need about {format_size(sum(saved))} free (the run's {GRIDS_DIR} folder)" if saved else ""
            raise DiskFull(f"no space left on device writing {exc.filename}{need}; no grid is left half-written",
                           exc.filename) from None
        raise ValueError(f"cannot write grids to {out}: {exc.strerror or exc}") from None
    for path in written:
        print(path)
    if config.latent_dim < 2:  # said, so that a missing latent_map.png is not taken for a failure
        print("notice: no latent_map.png: a latent map needs a latent size of at least 2, this model has 1",
              file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from keras_models.config import check_test_images, check_whole_number
    from keras_models.data import load_idx_test_set
    from keras_models.events import JobState, StageStarted
    from keras_models.files import read_run

    read_run(args.run_dir)  # a bad folder is reported before TensorFlow loads
    check_whole_number("k (importance samples)", args.k)
    check_test_images(args.test_images)
    test_set = load_idx_test_set(args.test_idx) if args.test_idx else None
    import_tensorflow_quietly()
    from keras_models.formatting import evaluation_lines
    from keras_models.run_evaluation import evaluate_run

    from keras_models.progress_bars import terminal_events

    def print_stage(event: object) -> None:
        if isinstance(event, StageStarted):
            print(f"{event.text}…", flush=True)

    numbers = evaluate_run(args.run_dir, k=args.k, test_set=test_set, test_images=args.test_images,
                           state=JobState(on_event=terminal_events(print_stage)))
    for line in evaluation_lines(numbers):
        print(line)
    print(f"written to {Path(args.run_dir) / 'evaluation.json'}")
    return 0


def _study(args: argparse.Namespace) -> int:
    return study_cli.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        from gui.app import run_app
        return run_app()
    from keras_models.files import DiskFull, is_disk_full

    runner = {"train": _train, "grids": _grids, "evaluate": _evaluate, "study": _study}[args.command]
    try:
        return runner(args)
    except DiskFull as exc:  # not bad input, so not status 2
        _end_progress_bars()
        print(f"main.py {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:  # ConfigError, DataError and RunError all derive from it
        _end_progress_bars()
        print(f"main.py {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        if not is_disk_full(exc):  # any other failure keeps its traceback: it is a bug to report
            raise
        _end_progress_bars()
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"main.py {args.command}: error: no space left on device{where}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _end_progress_bars()
        print(INTERRUPTED[args.command], file=sys.stderr)
        return EXIT_INTERRUPTED


# What a Ctrl-C that ends a command at once leaves: only training and studies have checkpoints.
INTERRUPTED = {"train": "interrupted; the last checkpoint is kept",
               "study": "interrupted; each trial's last checkpoint is kept (--resume continues)",
               "evaluate": "interrupted; nothing was measured or written",
               "grids": "interrupted"}


def _end_progress_bars() -> None:
    """A bar cut short by an error or Ctrl-C is ended first: the message went after it, mid-line."""
    if "keras_models.progress_bars" in sys.modules:  # imported only once a command draws bars
        sys.modules["keras_models.progress_bars"].close_all()


if __name__ == "__main__":
    sys.exit(main())
