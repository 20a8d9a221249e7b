"""Run folders on disk: their file names, the one reader of a run folder, the metrics reader,
atomic writes (a killed process never leaves a half-written file behind) and the cache folder.
No TensorFlow here: the window reads runs too."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import json
import os
import re
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

from keras_models.config import TrainConfig

# The files of a run folder.
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
MODEL_FILE = "model.keras"
STATE_FILE = "checkpoint.json"
EVALUATION_FILE = "evaluation.json"
GRIDS_DIR = "grids"
# The numbers of evaluation.json that readers rely on; each must be a number or null.
EVALUATION_NUMBERS = ("nelbo", "iwae_nll", "active_units", "latent_dim", "frechet_distance")


class RunError(ValueError):
    """A folder is not a run, or one of its files cannot be used; the message names it."""


class DiskFull(RunError):
    """A save found no room; the message says how much it needs. The file it was to replace
    is intact (atomic_path), so the last good checkpoint survives."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = path


def is_disk_full(exc: BaseException) -> bool:
    """True for the OSError of a write that found no room: a full disk or a spent quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def format_size(size: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


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
    except OSError as exc:
        # A failed write names no file, or the temporary; messages should name the file meant.
        if exc.filename is None or str(exc.filename) == tmp:
            exc.filename = str(path)
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


# atomic_path's temporaries: "." + the file's stem + "-" + mkstemp's eight random characters + suffix.
_TEMPORARY = re.compile(r"\.(?P<stem>.+)-[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9]+)")
# A temporary this old is no write in progress: live writers create theirs moments before
# renaming them, and a model save writes into it throughout.
STALE_TEMPORARY_S = 60.0


def clear_stale_temporaries(run_dir: str | Path, older_than_s: float = STALE_TEMPORARY_S) -> list[Path]:
    """Delete the temporaries of atomic_path that a killed process left in ``run_dir`` (beside
    its own files) or in its grids folder; return them. Nothing else is touched, and a
    temporary younger than ``older_than_s`` seconds is left alone: another process may be
    writing it. A folder that cannot be written keeps its temporaries."""
    run_dir = Path(run_dir)
    run_files = {os.path.splitext(name) for name in (CONFIG_FILE, METRICS_FILE, MODEL_FILE, STATE_FILE,
                                                     EVALUATION_FILE)}
    now, removed = time.time(), []
    for folder, belongs in ((run_dir, lambda stem, suffix: (stem, suffix) in run_files),
                            (run_dir / GRIDS_DIR, lambda stem, suffix: suffix in (".png", ".gif"))):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            match = _TEMPORARY.fullmatch(path.name)
            try:
                if (match and belongs(match["stem"], match["suffix"]) and path.is_file()
                        and now - path.stat().st_mtime >= older_than_s):
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue
    return removed


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


def check_model_file(path: str | Path) -> Path:
    """``path`` if it holds a complete .keras archive; else RunError naming it. Without
    TensorFlow, so the command line refuses a damaged file before loading it."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no model file at {path}")
    if not zipfile.is_zipfile(path):  # Keras would call a truncated file "File not found"
        raise RunError(f"cannot load model {path}: not a complete .keras file (truncated or damaged)")
    return path


def unreadable_message(path: Path, exc: BaseException) -> str:
    """One line naming the file and why it could not be read."""
    reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return f"unreadable {path}: {reason.splitlines()[0]}"


@dataclasses.dataclass
class RunFolder:
    """What the files of one run folder say: validated settings, the saved description
    (config.json as written), the checkpointed history and the evaluation, if any."""

    run_dir: Path
    config: TrainConfig
    saved: dict[str, Any]
    history: list[dict[str, float]]
    evaluation: dict[str, Any] | None
    # The data set the run asked for when it trained on another (an offline fallback); then
    # ``config.dataset`` is the one it trained on, so every reader loads the same data again.
    fell_back_from: str | None = None


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(unreadable_message(path, exc)) from None
    if not isinstance(values, dict):
        raise RunError(f"unreadable {path}: expected a JSON object")
    return values


def _read_evaluation(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None  # the run was never evaluated
    evaluation = _read_json_object(path)
    for key in EVALUATION_NUMBERS:
        value = evaluation.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
            raise RunError(f"unreadable {path}: {key} is not a number")
    return evaluation


def _fallback(saved: dict[str, Any]) -> tuple[Any, Any] | None:
    """(asked for, trained on) when config.json says the run trained on another data set."""
    data = saved.get("data")
    if not isinstance(data, dict):
        return None
    if "trained_on" in data:
        requested, trained_on = data.get("requested", saved["config"].get("dataset")), data["trained_on"]
    elif data.get("notice"):  # written before "trained_on": after a fallback "name" is the set trained on
        requested, trained_on = saved["config"].get("dataset"), data.get("name")
    else:
        return None
    return None if trained_on == requested else (requested, trained_on)


def read_run(run_dir: str | Path) -> RunFolder:
    """Read a run folder; raise RunError naming the file if it is not a run or cannot be read.

    Also deletes the stale temporaries a killed save left there (clear_stale_temporaries):
    every opened or resumed run passes through here.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise RunError(f"not a run folder: {run_dir} (no {CONFIG_FILE})")
    saved = _read_json_object(config_path)
    if not isinstance(saved.get("config"), dict):
        raise RunError(f"unreadable {config_path}: it has no 'config' settings")
    clear_stale_temporaries(run_dir)
    fallback = _fallback(saved)
    try:
        # Validated here, so every reader can rely on each setting being present and sane.
        config = TrainConfig.from_dict({**saved["config"], **({"dataset": fallback[1]} if fallback else {})})
        config.validate()
    except (AttributeError, TypeError, ValueError) as exc:  # a hand-edited file can hold any JSON type
        raise RunError(unreadable_message(config_path, exc)) from None
    try:
        history = read_saved_history(run_dir)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    return RunFolder(run_dir, config, saved, history, _read_evaluation(run_dir / EVALUATION_FILE),
                     fallback[0] if fallback else None)
