"""Run a study in another process and follow it: how the window runs a Ray study.

``ray.init`` takes over the driver's signal handlers and starts a dozen processes, so the
window never calls it: it plans the study folder itself (``runner.plan_study``), starts
``python main.py study --resume FOLDER --engine ray …`` and reads the progress log
(progress.jsonl) the driver appends to, turning each line back into the event it was.
Stop sends the driver SIGINT (it stops the trials and writes the report), then SIGTERM,
then SIGKILL if it does not end. No TensorFlow and no Ray here.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from keras_models.events import JobState, Notice, StageStarted, StudyFigure, StudyRow, StudyStarted, TrialFailed
from keras_models.study.ledger import PROGRESS_FILE, StudyState

MAIN = Path(__file__).resolve().parents[2] / "main.py"
DRIVER_LOG = "driver.log"
EVENTS = {cls.__name__: cls for cls in (StageStarted, StudyStarted, StudyRow, TrialFailed, StudyFigure, Notice)}
GRACE_S = (60.0, 15.0)  # after SIGINT, then after SIGTERM, before the next signal


def study_command(report_dir: str | Path, engine: str = "ray", address: str | None = None,
                  cpus_per_trial: int | None = None) -> list[str]:
    """The command line that runs the planned study in ``report_dir``."""
    command = [sys.executable, str(MAIN), "study", "--resume", str(Path(report_dir).resolve()), "--engine", engine]
    if address:
        command += ["--address", address]
    if cpus_per_trial:
        command += ["--cpus-per-trial", str(cpus_per_trial)]
    return command


def _read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete lines appended to ``path`` since ``offset``, and the new offset."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset
    end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next look
    lines = [json.loads(line) for line in chunk[:end].splitlines() if line.strip()]
    return lines, offset + end


def follow_study(command: Sequence[str], report_dir: str | Path, state: JobState,
                 poll_s: float = 0.25) -> dict[str, Any]:
    """Run ``command`` (a study driver writing into ``report_dir``), report each event of its
    progress log on ``state`` as it arrives, and return how it ended: ``report_dir``,
    ``stopped``, ``conclusions``, ``trials`` (study.json's records) and ``returncode``.
    A stop requested on ``state`` stops the driver. The driver's output goes to driver.log
    in the study folder; a driver that dies without finishing raises RuntimeError citing
    that log's last line."""
    report_dir = Path(report_dir)
    log_path = report_dir / DRIVER_LOG
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env)
    offset, finished, signals, deadline = 0, [], [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], None

    def dispatch() -> None:
        nonlocal offset
        events, offset = _read_events(report_dir / PROGRESS_FILE, offset)
        for event in events:
            name = event.pop("event")
            event.pop("time", None)
            if name == "StudyDone":
                finished.append(event)
            elif name in EVENTS:
                state.report(EVENTS[name](**event))

    try:
        while process.poll() is None:
            dispatch()
            if state.stop_requested and signals and (deadline is None or time.monotonic() > deadline):
                sent = signals.pop(0)
                process.send_signal(sent)
                deadline = time.monotonic() + (GRACE_S[0] if sent == signal.SIGINT else GRACE_S[1])
            time.sleep(poll_s)
        dispatch()  # what the driver wrote just before it ended
    finally:
        if process.poll() is None:  # the caller itself is going away
            process.kill()
            process.wait()
    done = finished[-1] if finished else None
    if done is None:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise RuntimeError(f"the study driver ended (status {process.returncode}) without finishing"
                           + (f": {tail[-1]}" if tail else ""))
    trials = StudyState.read(report_dir).trials
    return {"report_dir": report_dir, "stopped": bool(done["stopped"]), "conclusions": done["conclusions"],
            "trials": trials, "returncode": process.returncode}
