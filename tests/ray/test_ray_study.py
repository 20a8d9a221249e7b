"""The β study on Ray: trials as Tune trials on a simulated two-node cluster, a failing trial, a
worker killed mid-trial that continues from its Tune checkpoint, and a study whose driver was
killed (kill -9) resumed from its folder alone."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

tune = pytest.importorskip("ray.tune")  # its reason names the import error

from keras_models.config import TrainConfig  # noqa: E402 (after the skip: without Ray these fail to import)
from keras_models.events import JobState, StudyRow, StudyStarted, TrialFailed  # noqa: E402
from keras_models.study import StudyConfig  # noqa: E402
from keras_models.study.ray_engine import RayEngine, RayOptions  # noqa: E402
from keras_models.study.runner import plan_study, run_study  # noqa: E402
from tests.helpers import tiny_split_data, write_fake_run  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("ray_cluster", "quick_idx_classifier")


class KillOnce(tune.Callback):
    """Kills the worker of trial ``key`` when it reports epoch 2 (its epoch-1 checkpoint is then
    in Tune's storage) and deletes its run folder, as if its node had gone: the retry must
    continue from ``tune.get_checkpoint()``."""

    def __init__(self, key: str, run_dir: Path) -> None:
        self.key, self.run_dir, self.killed = key, run_dir, False

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if trial.config["trial"]["key"] == self.key and result.get("epoch") == 2 and not self.killed:
            self.killed = True
            os.kill(result["pid"], signal.SIGKILL)
            shutil.rmtree(self.run_dir)


@pytest.fixture(scope="module")
def ray_study(tmp_path_factory, digits_idx_dir, quick_study_classifier):
    """One study of three trials on the two nodes, sent a small in-memory split through the object
    store (the driver-killing test below has its trials load theirs by name): β = 1, whose worker
    is killed once; β = 4, undisturbed; β = 10, whose run folder holds a damaged checkpoint."""
    out = tmp_path_factory.mktemp("ray_reports")
    training = TrainConfig(epochs=3, batch_size=50, latent_dim=4, precision="float32",
                           dataset=f"idx:{digits_idx_dir}")
    config = StudyConfig(training=training, betas=(1.0, 4.0, 10.0), include_cvae=False, k=2, traverse_dim=2,
                         out=str(out))
    report = plan_study(config)
    damaged = write_fake_run(report / "runs" / "bvae_b10_s0", model="bvae", beta=10.0, epochs=1)
    (damaged / "model.keras").write_bytes(b"not a zip file")
    events = []
    engine = RayEngine(RayOptions(callbacks=(KillOnce("vae_s0", report / "runs" / "vae_s0"),)))
    result = run_study(resume=report, data=tiny_split_data(), state=JobState(on_event=events.append), engine=engine)
    return result, events


def _record(report, key):
    return json.loads((report / "runs" / key / "trial.json").read_text())


def test_the_trials_finish_or_fail_each_with_its_record(ray_study):
    result, events = ray_study
    status = {t["key"]: (t["status"], t["reason"]) for t in result.trials}
    assert status["vae_s0"] == ("finished", None) and status["bvae_b4_s0"] == ("finished", None)
    failed, reason = status["bvae_b10_s0"]
    assert failed == "failed" and "cannot load model" in reason and "not a complete .keras file" in reason
    assert sorted(e.row["key"] for e in events if isinstance(e, StudyRow)) == ["bvae_b4_s0", "vae_s0"]
    assert [(e.key, e.status) for e in events if isinstance(e, TrialFailed)] == [("bvae_b10_s0", "failed")]
    saved = json.loads((result.report_dir / "study.json").read_text())
    assert saved["engine"] == "ray" and saved["status"] == "finished"
    assert {t["key"]: t["status"] for t in saved["trials"]} == {"vae_s0": "finished", "bvae_b4_s0": "finished",
                                                               "bvae_b10_s0": "failed"}
    with open(result.report_dir / "metrics.csv") as f:
        assert sorted((r["key"], r["seed"], r["status"]) for r in csv.DictReader(f)) == [
            ("bvae_b10_s0", "0", "failed"), ("bvae_b4_s0", "0", "finished"), ("vae_s0", "0", "finished")]
    md = (result.report_dir / "report.md").read_text()
    assert "| β-VAE (β = 4) | 4 | 1 |" in md and reason in md
    assert "Data: tiny: 400 training and 100 validation images." in md  # the split it was sent


def test_the_trials_ran_on_both_nodes_with_their_threads_capped(ray_study, ray_cluster):
    result, _ = ray_study
    nodes = {node.node_id for node in ray_cluster.list_all_nodes()}
    assert len(nodes) == 2
    # The first two trials start together, one CPU each: one on each node. Tune's results keep the
    # node of every attempt (a retry may move), trial.json the node of the attempt that ended the trial.
    reported = {json.loads(line)["node_id"] for key in ("vae_s0", "bvae_b4_s0")
                for line in (result.report_dir / "tune" / key / "result.json").read_text().splitlines()
                if "node_id" in json.loads(line)}
    assert reported == nodes
    places = [_record(result.report_dir, key)["where"] for key in ("vae_s0", "bvae_b4_s0", "bvae_b10_s0")]
    assert all(p["node_id"] in nodes and p["threads"] == 1 and p["ip"] and p["host"] for p in places)


def test_a_killed_worker_continues_from_its_tune_checkpoint(ray_study):
    result, _ = ray_study
    row = next(r for r in result.rows if r["key"] == "vae_s0")
    assert row["resumed_from_epoch"] == 1  # the run folder was gone: only Tune's checkpoint had epoch 1
    with open(result.report_dir / "runs" / "vae_s0" / "metrics.csv") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2", "3"]
    assert next(r for r in result.rows if r["key"] == "bvae_b4_s0")["resumed_from_epoch"] == 0


def test_a_driver_killed_mid_study_resumes_from_its_folder(tmp_path, digits_idx_dir, ray_cluster):
    import ray

    out = tmp_path / "reports"
    command = [sys.executable, "main.py", "study", "--engine", "ray", "--address", ray_cluster.address,
               "--dataset", f"idx:{digits_idx_dir}", "--betas", "1", "4", "10", "--no-cvae", "-e", "5", "-bs", "50",
               "--latent-dim", "4", "--precision", "float32", "-k", "2", "--out", str(out)]
    driver = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:  # kill -9 once one trial has finished while another is early in its epochs
        while time.monotonic() < deadline and driver.poll() is None:
            runs = list(out.glob("*/runs/*"))
            if any(_finished(r) for r in runs) and any(0 < _epoch(r) <= 2 and not _finished(r) for r in runs):
                break
            time.sleep(0.02)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait()
    # Ray ends a dead driver's trials; once their CPUs are free again the folder holds what they left.
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    (report,) = out.iterdir()
    assert json.loads((report / "study.json").read_text())["status"] == "running"
    runs = list((report / "runs").iterdir())
    done = [r for r in runs if _finished(r)]
    checkpoints = {r.name: _epoch(r) for r in runs if not _finished(r) and _epoch(r) > 0}
    assert done and checkpoints
    kept = {p: p.stat().st_mtime_ns for r in done for p in r.rglob("*")}

    events = []
    result = run_study(resume=report, state=JobState(on_event=events.append), engine=RayEngine())
    assert not result.stopped and [t["status"] for t in result.trials] == ["finished"] * 3
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # finished trials: neither trained nor measured again
    started = next(e for e in events if isinstance(e, StudyStarted))
    assert (started.trials, started.finished) == (3, len(done))
    for key, epoch in checkpoints.items():  # continued from its checkpoint, not from scratch
        assert next(r for r in result.rows if r["key"] == key)["resumed_from_epoch"] == epoch
    assert json.loads((report / "study.json").read_text())["status"] == "finished"


def _finished(run_dir: Path) -> bool:
    return '"finished"' in _text(run_dir / "trial.json")


def _epoch(run_dir: Path) -> int:
    text = _text(run_dir / "checkpoint.json")
    return json.loads(text)["epoch"] if text else 0


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
