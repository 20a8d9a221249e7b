"""What a study keeps on disk so that any process can pick it up: the study's plan and state
(study.json), each trial's outcome (runs/<key>/trial.json) and the progress log
(progress.jsonl). No TensorFlow and no Ray here.

A trial writes its own trial.json, atomically, when it ends: its row when it finished,
a one-line reason when it failed. So ``--resume`` needs nothing but the folder: a trial
with a finished trial.json is done; any other trial runs again and continues from the
checkpoint in its run folder.
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

from keras_models.files import STATE_FILE, RunError, write_text_atomic
from keras_models.study.config import StudyConfig

STUDY_FILE = "study.json"
TRIAL_FILE = "trial.json"
PROGRESS_FILE = "progress.jsonl"
ERROR_FILE = "error.txt"
RUNS_DIR = "runs"
CLASSIFIER_DIR = "classifier"

FINISHED, FAILED, STOPPED, PENDING = "finished", "failed", "stopped", "pending"
ENTRY_KEYS = ("key", "group", "model", "beta", "seed", "title")  # a trial's settings, as StudyConfig.entries gives them
SCHEDULE_KEY = "schedule"  # only the trials of a KL schedule's group have it (and study.json files from before lack it)


def entry_of(trial: dict[str, Any]) -> dict[str, Any]:
    """A trial's settings without its status, reason, row or place."""
    schedule = {SCHEDULE_KEY: trial[SCHEDULE_KEY]} if trial.get(SCHEDULE_KEY) else {}
    return {**{k: trial[k] for k in ENTRY_KEYS}, **schedule}


def run_dir_of(report_dir: str | Path, key: str) -> Path:
    return Path(report_dir) / RUNS_DIR / key


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type (unless the message says enough) and first line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, ValueError) and text:  # the tool's own errors already name what went wrong
        return text[:300]
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def where() -> dict[str, Any]:
    """Where this process runs: host name, IP address, process id, and the Ray node when in one."""
    place: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(), "node_id": None}
    try:
        place["ip"] = socket.gethostbyname(place["host"])
    except OSError:
        place["ip"] = None
    ray = sys.modules.get("ray")  # only when Ray is loaded: a local trial never imports it
    if ray is not None and ray.is_initialized():
        place["node_id"] = ray.get_runtime_context().get_node_id()
        place["ip"] = ray.util.get_node_ip_address()
    return place


def checkpointed_epoch(run_dir: str | Path) -> int:
    """The epoch of the run folder's last checkpoint, 0 when it has none."""
    try:
        return int(json.loads((Path(run_dir) / STATE_FILE).read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def read_trial(run_dir: str | Path) -> dict[str, Any] | None:
    """A trial's record, or None when it has none (never ended) or it cannot be read."""
    path = Path(run_dir) / TRIAL_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("status") in (FINISHED, FAILED, STOPPED) else None


def write_trial(run_dir: str | Path, entry: dict[str, Any], status: str, row: dict[str, Any] | None = None,
                reason: str | None = None, place: dict[str, Any] | None = None,
                error: BaseException | None = None) -> dict[str, Any]:
    """Write a trial's record (and, for an exception, its traceback to error.txt) atomically."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {**entry_of(entry), "status": status, "reason": reason, "row": row, "where": place or where()}
    if error is not None:
        write_text_atomic(run_dir / ERROR_FILE, "".join(traceback.format_exception(error)))
    write_text_atomic(run_dir / TRIAL_FILE, json.dumps(record, indent=2, default=float))
    return record


def trial_summary(record: dict[str, Any], report_dir: Path) -> dict[str, Any]:
    """A trial as study.json lists it: its settings, status, reason and run folder."""
    summary = {k: record.get(k) for k in (*ENTRY_KEYS, "status", "reason")}
    if record.get(SCHEDULE_KEY):
        summary[SCHEDULE_KEY] = record[SCHEDULE_KEY]
    summary["run_dir"] = str(run_dir_of(report_dir, record["key"]).relative_to(report_dir))
    summary["where"] = record.get("where")
    return summary


@dataclasses.dataclass
class StudyState:
    """Every trial of a study with its latest record; ``rows`` are the finished ones' rows."""

    config: StudyConfig
    report_dir: Path
    trials: list[dict[str, Any]]

    @classmethod
    def start(cls, config: StudyConfig, report_dir: Path) -> "StudyState":
        return cls(config, report_dir, [{**e, "status": PENDING, "reason": None, "row": None}
                                        for e in config.entries()])

    @classmethod
    def read(cls, report_dir: str | Path) -> "StudyState":
        """The study in ``report_dir`` with each trial's latest record; RunError naming the
        folder when it is not a study. Needs no Ray and no TensorFlow."""
        report_dir = Path(report_dir)
        path = report_dir / STUDY_FILE
        if not path.is_file():
            raise RunError(f"not a study folder: {report_dir} (no {STUDY_FILE})")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            config = StudyConfig.from_dict(saved["config"]).validate()
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RunError(f"unreadable {path}: {one_line(exc)}") from None
        state = cls.start(config, report_dir)
        for i, trial in enumerate(state.trials):
            record = read_trial(run_dir_of(report_dir, trial["key"]))
            if record is not None:
                state.trials[i] = {**trial, **{k: record.get(k) for k in ("status", "reason", "row", "where")}}
        return state

    def record(self, record: dict[str, Any]) -> None:
        for i, trial in enumerate(self.trials):
            if trial["key"] == record["key"]:
                self.trials[i] = {**trial, **record}

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [t["row"] for t in self.trials if t["status"] == FINISHED and t.get("row")]

    def unfinished(self) -> list[dict[str, Any]]:
        """The settings of every trial still to run (failed, stopped or never started)."""
        return [entry_of(t) for t in self.trials if t["status"] != FINISHED]

    def count(self, status: str) -> int:
        return sum(t["status"] == status for t in self.trials)

    def to_json(self, data_description: str, status: str, engine: str) -> str:
        return json.dumps({
            "config": dataclasses.asdict(self.config), "data": data_description, "status": status,
            "stopped": status == STOPPED, "engine": engine,
            "trials": [trial_summary(t, self.report_dir) for t in self.trials], "rows": self.rows,
        }, indent=2, default=float)

    def write(self, data_description: str, status: str, engine: str) -> None:
        write_text_atomic(self.report_dir / STUDY_FILE, self.to_json(data_description, status, engine))


def append_progress(report_dir: str | Path, event: dict[str, Any]) -> None:
    """Append one event to the study's progress log: one JSON object per line, written in
    one call so a reader never sees half a line."""
    line = json.dumps(event, default=float) + "\n"
    fd = os.open(Path(report_dir) / PROGRESS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def classifier_blob(report_dir: str | Path) -> dict[str, Any]:
    """The study's classifier (the one model in its classifier/ folder) as bytes, for trials on
    nodes that may not see the study folder."""
    model_path = next((Path(report_dir) / CLASSIFIER_DIR).glob("*.keras"))
    return {"name": model_path.name, "model": model_path.read_bytes(),
            "info": model_path.with_suffix(".json").read_text(encoding="utf-8")}
