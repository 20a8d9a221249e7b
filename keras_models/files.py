"""Run-folder file names, the metrics reader, and atomic writes (a killed process never
leaves a half-written file behind). No TensorFlow here: the window reads runs too."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

# The files of a run folder.
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
MODEL_FILE = "model.keras"
STATE_FILE = "checkpoint.json"
EVALUATION_FILE = "evaluation.json"
GRIDS_DIR = "grids"


CACHE_ENV = "VAE_STUDIO_CACHE"


def cache_home(subfolder: str = "") -> Path:
    """Where the tool keeps what it can always rebuild (shapes renders, evaluation classifiers).

    ``$VAE_STUDIO_CACHE`` when set, else ``$XDG_CACHE_HOME/vae-studio``, else
    ``~/.cache/vae-studio``; ``subfolder`` is joined on. Nothing is created here.
    """
    base = os.environ.get(CACHE_ENV)
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vae-studio"
    return Path(base).expanduser() / subfolder


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    The temporary name keeps the final suffix, because some writers (Keras,
    Pillow) choose the format from it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates owner-only files; results are meant to be shared like any other file.
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """The rows of a metrics.csv as floats; none when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [{k: float(v) for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(f)]


def read_saved_history(run_dir: str | Path) -> list[dict[str, float]]:
    """The metrics.csv rows up to the epoch of the saved model (checkpoint.json's).

    A run can log epochs after its last checkpoint (checkpoints every few
    epochs, or a crash in between); those rows describe weights that were never
    saved, so a reopened or compared run leaves them out.
    """
    run_dir = Path(run_dir)
    state_path, metrics_path = run_dir / STATE_FILE, run_dir / METRICS_FILE
    try:
        saved_epoch = float(json.loads(state_path.read_text(encoding="utf-8"))["epoch"]) if state_path.exists() else 0
    except KeyError:
        raise ValueError(f"unreadable {state_path}: it has no epoch") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(unreadable_message(state_path, exc)) from None
    try:
        rows = read_metrics(metrics_path)
    except (OSError, ValueError, TypeError, csv.Error) as exc:  # TypeError: a row longer than the header
        raise ValueError(unreadable_message(metrics_path, exc)) from None
    if any("epoch" not in row for row in rows):
        raise ValueError(f"unreadable {metrics_path}: a row has no epoch")
    return [row for row in rows if row["epoch"] <= saved_epoch]


def unreadable_message(path: Path, exc: BaseException) -> str:
    """One line naming the file and why it could not be read."""
    reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return f"unreadable {path}: {reason.splitlines()[0]}"
