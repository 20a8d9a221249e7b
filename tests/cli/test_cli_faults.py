"""Faults on the command line: a full disk, Ctrl-C, a run resumed from another folder, and bad
values that must be the only line on stderr (TensorFlow's start-up lines kept out)."""
import csv
import json
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from keras_models import events
from keras_models.events import BatchProgress
from tests.helpers import full_disk, run_main, write_digits_idx, write_fake_run

REPO = Path(__file__).resolve().parents[2]
STEPS = 4  # 200 synthetic digits in batches of 50


def epochs_in(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as f:
        return [row["epoch"] for row in csv.DictReader(f)]


def saved_iterations(run_dir):
    from keras_models.training import load_model_file

    return int(load_model_file(run_dir / "model.keras").optimizer.iterations)


def test_a_full_disk_is_one_line_and_keeps_the_checkpoint(cli_run, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    model_size = (run_dir / "model.keras").stat().st_size
    full_disk(monkeypatch, ".model-")
    status, stdout, stderr = run_main(["train", "--resume", run_dir, "-e", "1"])
    assert status == 1 and "Traceback" not in stdout + stderr
    from keras_models.files import format_size

    assert stderr.splitlines() == [
        f"main.py train: error: no space left on device writing {run_dir / 'model.keras'}: a checkpoint needs about "
        f"{format_size(model_size)} free (the size of the last model.keras); kept the checkpoint from epoch 1 in "
        f"{run_dir}"]
    assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}
    assert saved_iterations(run_dir) == STEPS

    grids_size = sum(p.stat().st_size for p in (run_dir / "grids").iterdir())
    full_disk(monkeypatch, ".samples-")
    status, stdout, stderr = run_main(["grids", run_dir, "--out", tmp_path / "pngs"])
    assert status == 1 and "Traceback" not in stdout + stderr
    assert stderr.splitlines() == [
        f"main.py grids: error: no space left on device writing {tmp_path / 'pngs' / 'samples.png'}: they need "
        f"about {format_size(grids_size)} free (the run's grids folder); no grid is left half-written"]
    assert [p.name for p in (tmp_path / "pngs").iterdir()] == ["reconstructions.png"]


class CtrlCAt(events.JobState):
    """A job state that sends this process ``times`` SIGINTs when training reaches ``batch`` of ``epoch``."""

    at, times = (2, 2), 1

    def report(self, event):
        super().report(event)
        if isinstance(event, BatchProgress) and (event.epoch, event.batch) == self.at:
            for _ in range(self.times):
                signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_stops_like_the_window_and_twice_aborts(tmp_path, digits_idx_dir, monkeypatch, times):
    monkeypatch.setattr(CtrlCAt, "times", times)
    monkeypatch.setattr(events, "JobState", CtrlCAt)
    handler = signal.getsignal(signal.SIGINT)
    status, stdout, stderr = run_main(["train", "--dataset", f"idx:{digits_idx_dir}", "-e", "3", "-bs", "50",
                                       "--latent-dim", "2", "--out", tmp_path])
    assert signal.getsignal(signal.SIGINT) is handler
    assert status == 130 and "Traceback" not in stdout + stderr
    (run_dir,) = tmp_path.iterdir()
    assert epochs_in(run_dir) == ["1"]  # the unfinished epoch is not counted
    if times == 1:  # as Stop: the two batches of epoch 2 are kept
        assert stderr.splitlines() == ["stopped by Ctrl-C: kept the weights trained so far; the unfinished epoch "
                                       "is not counted, so the run stands at epoch 1"]
        assert json.loads((run_dir / "checkpoint.json").read_text()) == {"epoch": 1}
        assert saved_iterations(run_dir) == STEPS + 2
        assert stdout.rstrip().endswith(f"run saved in {run_dir}")
    else:  # at once: only the checkpoint of epoch 1
        assert stderr.splitlines() == ["interrupted; the last checkpoint is kept"]
        assert saved_iterations(run_dir) == STEPS


def test_a_relative_idx_folder_is_found_when_resuming_from_elsewhere(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    write_digits_idx(tmp_path / "here" / "digits")
    monkeypatch.chdir(tmp_path / "here")
    status, _, stderr = run_main(["train", "--dataset", "idx:digits", "-e", "1", "-bs", "50", "--latent-dim", "2",
                                  "--out", "runs"])
    assert status == 0, stderr
    (run_dir,) = (tmp_path / "here" / "runs").iterdir()
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["dataset"] == f"idx:{tmp_path / 'here' / 'digits'}"

    monkeypatch.chdir(tmp_path / "elsewhere")
    status, stdout, stderr = run_main(["train", "--resume", run_dir, "-e", "1"])
    assert status == 0, stderr
    assert epochs_in(run_dir) == ["1", "2"]
    assert f"on idx:{tmp_path / 'here' / 'digits'}: 200 training" in stdout


def test_a_bad_value_is_the_only_line_on_stderr(tmp_path):
    """Each command runs as a user types it. The last case, whose error comes after TensorFlow has
    loaded, runs beside the others (one at a time: this machine has two cores)."""
    runs = {}
    for name in ("good", "truncated", "garbage-metrics", "bad-config"):
        runs[name] = write_fake_run(tmp_path / name)
        with zipfile.ZipFile(runs[name] / "model.keras", "w") as archive:  # complete, but not a Keras model
            archive.writestr("readme.txt", "not a model")
    raw = (runs["truncated"] / "model.keras").read_bytes()
    (runs["truncated"] / "model.keras").write_bytes(raw[: len(raw) // 2])
    (runs["garbage-metrics"] / "metrics.csv").write_text("epoch,loss\nabc,def\n")
    (runs["bad-config"] / "config.json").write_text("{not json")
    good, study = runs["good"], ["study", "--out", tmp_path / "reports"]
    cases = [
        (["train", "--resume", good, "-e", "0"], "main.py train: error: epochs must be a whole number >= 1, got 0"),
        (["train", "--resume", runs["truncated"]], f"main.py train: error: cannot load model "
         f"{runs['truncated'] / 'model.keras'}: not a complete .keras file (truncated or damaged)"),
        (["train", "--resume", runs["garbage-metrics"]], f"main.py train: error: unreadable "
         f"{runs['garbage-metrics'] / 'metrics.csv'}: could not convert string to float: 'abc'"),
        (["train", "--resume", runs["bad-config"]], f"main.py train: error: unreadable "
         f"{runs['bad-config'] / 'config.json'}: Expecting property name enclosed in double quotes: "
         f"line 1 column 2 (char 1)"),
        (["grids", good, "--traverse-dim", "99"],
         "main.py grids: error: --traverse-dim 99 does not exist: the model has 4 latent dimensions"),
        ([*study, "--betas", "x"], "main.py study: error: beta must be a number >= 0, got 'x'"),
        ([*study, "-k", "0"], "main.py study: error: k (importance samples) must be a whole number >= 1, got 0"),
        ([*study, "--test-images", "3"], "main.py study: error: test images must be a whole number >= 10, got 3"),
        ([*study, "--classes", "12"], "main.py study: error: classes must be digits 0-9, got [12]"),
        (["evaluate", good, "-k", "0"],
         "main.py evaluate: error: k (importance samples) must be a whole number >= 1, got 0"),
        (["grids", good], f"main.py grids: error: cannot load model {good / 'model.keras'}: "
         f"\"There is no item named 'config.json' in the archive\""),
    ]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    def start(argv):
        return subprocess.Popen([sys.executable, "main.py", *map(str, argv)], cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    slowest = start(cases[-1][0])
    for argv, line in cases:
        process = slowest if argv is cases[-1][0] else start(argv)
        stdout, stderr = process.communicate(timeout=300)
        assert (process.returncode, stdout, stderr.splitlines()) == (2, "", [line]), argv
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # nothing written
