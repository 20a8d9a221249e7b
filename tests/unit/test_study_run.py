"""Whole (tiny) β studies on the local engine: the files they write, the events they report,
stopping one, a failing trial, and resuming a stopped study."""
import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from keras_models.config import ConfigError, TrainConfig
from keras_models.events import (EpochDone, JobState, RunStarted, StageStarted, StudyFigure, StudyRow, StudyStarted,
                                 TrialFailed)
from keras_models.study import StudyConfig, run_study
from keras_models.study.report import write_report
from tests.helpers import StopAfter, pretrain_classifier, write_fake_run

FIGURES = ["loss_curves", "rate_distortion", "quality_vs_beta", "reconstructions_and_samples", "traversal_dim2",
           "cvae_classes", "kl_per_dimension"]
pytestmark = pytest.mark.usefixtures("quick_study_classifier")


def _outline(events):
    """The events that mark the study's steps, as (kind, what) pairs; batches and epochs left out."""
    marks = []
    for event in events:
        if isinstance(event, StageStarted):
            marks.append(("stage", event.text))
        elif isinstance(event, RunStarted):
            marks.append(("run", event.config["model"]))
        elif isinstance(event, StudyRow):
            marks.append(("row", event.row["key"]))
        elif isinstance(event, StudyFigure):
            marks.append(("figure", event.name))
    return marks


def _without_date(markdown):
    return "\n".join(line for line in markdown.splitlines() if "Written" not in line)


def test_a_whole_study_writes_its_report_and_reports_each_step_in_order(tmp_path, tiny_split):
    training = TrainConfig(epochs=1, batch_size=50, latent_dim=4, precision="float32")
    config = StudyConfig(training=training, betas=(0.5, 1.0), traverse_dim=2, k=4, out=str(tmp_path / "reports"))
    events = []
    result = run_study(config, data=tiny_split, state=JobState(on_event=events.append))
    report = result.report_dir
    assert not result.stopped
    assert [r["key"] for r in result.rows] == ["bvae_b0.5_s0", "vae_s0", "cvae_s0"]

    trained = []
    for i, (key, model, title) in enumerate((("bvae_b0.5_s0", "bvae", "β-VAE (β = 0.5)"),
                                             ("vae_s0", "vae", "VAE (β = 1)"), ("cvae_s0", "cvae", "CVAE (β = 1)"))):
        trained += [("stage", f"training {title}, seed 0 ({i + 1} of 3)"), ("run", model),
                    ("stage", f"measuring {title}, seed 0 (IWAE with k = 4)"), ("row", key)]
    assert _outline(events) == [
        ("stage", "training the evaluation classifier (cached after the first time)"), *trained,
        ("stage", "drawing figures and writing the report"), *(("figure", name) for name in FIGURES),
        ("stage", "done")]
    assert [e.fraction for e in events if isinstance(e, StageStarted)] == [i / 8 for i in range(8)] + [1.0]
    # Each model trained on the study's own state, in a run folder the row names.
    run_dirs = [e.run_dir for e in events if isinstance(e, RunStarted)]
    assert [str(report / r["run_dir"]) for r in result.rows] == run_dirs
    assert [e.row for e in events if isinstance(e, StudyRow)] == result.rows
    for event in events:
        if isinstance(event, StudyFigure):
            with Image.open(event.path) as image:
                assert image.size[0] > 200
            assert event.path == str(report / "figures" / f"{event.name}.png")

    with open(report / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["key"], r["seed"], r["status"]) for r in rows] == [
        ("bvae_b0.5_s0", "0", "finished"), ("vae_s0", "0", "finished"), ("cvae_s0", "0", "finished")]
    for r in rows:
        assert float(r["iwae_nll"]) <= float(r["nelbo"]) + 1.0
        assert r["k"] == "4" and r["binarisation"].startswith("fixed, seed")
        assert r["run_dir"] == f"runs/{r['key']}"
    md = (report / "report.md").read_text()
    assert "| β-VAE (β = 0.5) | 0.5 | 1 |" in md and "IWAE NLL" in md and "k = 4" in md
    for line in result.conclusions:
        assert line in md
    assert "<table>" in (report / "report.html").read_text()
    saved = json.loads((report / "study.json").read_text())
    assert saved["stopped"] is False and saved["status"] == "finished" and saved["rows"] == result.rows
    assert [(t["key"], t["status"], t["run_dir"]) for t in saved["trials"]] == [
        (k, "finished", f"runs/{k}") for k in ("bvae_b0.5_s0", "vae_s0", "cvae_s0")]
    assert saved["config"]["betas"] == [0.5, 1.0] and saved["data"] == "tiny: 400 training and 100 validation images"
    assert sorted(p.name for p in (report / "runs").iterdir()) == ["bvae_b0.5_s0", "cvae_s0", "vae_s0"]
    for row in result.rows:  # each trial's record beside its run folder, for a resume that needs no Ray state
        assert json.loads((report / row["run_dir"] / "trial.json").read_text())["row"] == row

    # The report needs only the trials' records, as JSON, and the run folders: what trials elsewhere send back.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(report / "runs", elsewhere / "runs")
    write_report(config, tiny_split, json.loads(json.dumps(result.rows)), elsewhere, stopped=False,
                 trials=json.loads(json.dumps(result.trials)))
    assert _without_date((elsewhere / "report.md").read_text()) == _without_date(md)
    for name in FIGURES:
        first = np.asarray(Image.open(report / "figures" / f"{name}.png"))
        again = np.asarray(Image.open(elsewhere / "figures" / f"{name}.png"))
        assert np.array_equal(first, again), name


def test_a_stop_while_measuring_the_second_model_reports_the_first_only(tmp_path, tiny_split):
    # A stop while the second model trains is asserted in the first half of the resume test below.
    training = TrainConfig(epochs=1, batch_size=50, latent_dim=4, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), include_cvae=False, k=4,
                         out=str(tmp_path / "reports"))
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StageStarted) and event.text.startswith("measuring β-VAE (β = 4)"):
            state.request_stop()  # as the window's Stop button does, from the study's own events

    state = JobState(on_event=on_event)
    result = run_study(config, data=tiny_split, state=state)
    assert result.stopped
    assert [r["key"] for r in result.rows] == ["vae_s0"]
    assert [e.row["key"] for e in events if isinstance(e, StudyRow)] == ["vae_s0"]
    assert [(e.key, e.status) for e in events if isinstance(e, TrialFailed)] == [("bvae_b4_s0", "stopped")]
    measured = [text for kind, text in _outline(events) if kind == "stage" and text.startswith("measuring")]
    assert measured == ["measuring VAE (β = 1), seed 0 (IWAE with k = 4)",
                        "measuring β-VAE (β = 4), seed 0 (IWAE with k = 4)"]
    assert _outline(events)[-3:] == [("figure", "traversal_dim3"), ("figure", "kl_per_dimension"), ("stage", "done")]
    report = result.report_dir
    saved = json.loads((report / "study.json").read_text())
    assert saved["stopped"] is True and [t["status"] for t in saved["trials"]] == ["finished", "stopped"]
    md = (report / "report.md").read_text()
    assert "| VAE (β = 1) | 1 | 1 |" in md and "| β-VAE (β = 4) | 4 | 0 (1 did not finish) | – | – |" in md
    assert "| β-VAE (β = 4) | 0 | stopped: stopped before it finished |" in md  # in the trials table
    with open(report / "metrics.csv") as f:
        assert [(r["key"], r["status"]) for r in csv.DictReader(f)] == [("vae_s0", "finished"),
                                                                         ("bvae_b4_s0", "stopped")]
    # The second model's run folder stays, for a resume; the report leaves its numbers out.
    assert sorted(p.name for p in (report / "runs").iterdir()) == ["bvae_b4_s0", "vae_s0"]


def test_a_study_stopped_while_its_classifier_trains_writes_a_report_without_models(tmp_path, tiny_split):
    config = StudyConfig(training=TrainConfig(epochs=1, batch_size=50, latent_dim=4), betas=(1.0,), k=4,
                         out=str(tmp_path / "reports"))
    events = []
    result = run_study(config, data=tiny_split, state=StopAfter(1, on_event=events.append),
                       classifier_cache=tmp_path / "cache")
    assert result.stopped and result.rows == [] and result.conclusions == []
    assert "stopped before any model finished" in (result.report_dir / "report.md").read_text()
    assert not (tmp_path / "cache").exists()  # the classifier stopped within a batch: nothing was cached
    assert not (result.report_dir / "runs").exists() and not (result.report_dir / "classifier").exists()
    assert _outline(events) == [("stage", "training the evaluation classifier (cached after the first time)"),
                                ("stage", "drawing figures and writing the report"), ("stage", "done")]


def test_a_study_on_shapes_measures_disentanglement(tmp_path):
    from keras_models.data import shapes

    # 450 training images in whole batches of 50: boosted-tree DCI costs in proportion to them.
    factors = shapes.sample_factors(500, np.random.default_rng(0))
    data = shapes.split_with_factors("shapes (500)", shapes.render_images(factors, 28), factors, shapes.factor_names)
    training = TrainConfig(epochs=1, batch_size=50, latent_dim=5, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), include_cvae=False, traverse_dim=1, k=2,
                         out=str(tmp_path / "reports"))
    events = []
    pretrain_classifier(data)
    result = run_study(config, data=data, state=JobState(on_event=events.append))
    for row in result.rows:
        for key in ("mig", "dci_disentanglement", "dci_completeness", "factor_vae"):
            assert 0.0 <= row[key] <= 1.0
    assert ("stage", "measuring the disentanglement of β-VAE (β = 4), seed 0") in _outline(events)
    assert (result.report_dir / "figures" / "disentanglement_vs_beta.png").exists()
    md = (result.report_dir / "report.md").read_text()
    assert "| MIG |" in md
    # One seed: the numbers are reported, and no claim about MIG rising or falling is made.
    assert not any("MIG over" in line for line in result.conclusions)
    assert result.conclusions[0].startswith("With one seed per model")


def test_test_images_of_another_shape_are_refused_before_anything_is_trained(tmp_path, tiny_split):
    config = StudyConfig(training=TrainConfig(epochs=1, batch_size=50), out=str(tmp_path / "reports"))
    test_set = (np.zeros((10, 32, 32, 1), "float32"), np.zeros(10, "int32"))
    with pytest.raises(ValueError, match="test images are 32×32×1 but tiny trains on 28×28×1"):
        run_study(config, data=tiny_split, test_set=test_set, classifier_cache=tmp_path / "cache")
    assert not (tmp_path / "reports").exists()


def test_a_stopped_study_resumes_keeping_finished_trials_and_a_damaged_one_fails_alone(tmp_path, tiny_split):
    training = TrainConfig(epochs=2, batch_size=50, latent_dim=4, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), k=4, traverse_dim=2, out=str(tmp_path / "reports"))

    def stop_in_second_trial(event):
        if isinstance(event, EpochDone) and event.record["epoch"] == 1 and trained["bvae"]:
            state.request_stop()  # after β = 4's first epoch: its run folder holds a checkpoint of epoch 1
        if isinstance(event, RunStarted):
            trained[event.config["model"]] = True

    trained = {"vae": False, "bvae": False}
    first_events = []
    state = JobState(on_event=lambda event: (first_events.append(event), stop_in_second_trial(event)))
    first = run_study(config, data=tiny_split, state=state)
    report = first.report_dir
    assert first.stopped and [t["status"] for t in first.trials] == ["finished", "stopped", "stopped"]
    # A stop while the second model trains: the report has the first model only.
    assert [r["key"] for r in first.rows] == ["vae_s0"]
    assert [e.row["key"] for e in first_events if isinstance(e, StudyRow)] == ["vae_s0"]
    assert [(e.key, e.status) for e in first_events if isinstance(e, TrialFailed)][:1] == [("bvae_b4_s0", "stopped")]
    measured = [text for kind, text in _outline(first_events) if kind == "stage" and text.startswith("measuring")]
    assert measured == ["measuring VAE (β = 1), seed 0 (IWAE with k = 4)"]
    assert _outline(first_events)[-3:] == [("figure", "traversal_dim2"), ("figure", "kl_per_dimension"),
                                           ("stage", "done")]
    saved = json.loads((report / "study.json").read_text())
    assert saved["stopped"] is True and [t["status"] for t in saved["trials"]] == ["finished", "stopped", "stopped"]
    md = (report / "report.md").read_text()
    assert "| VAE (β = 1) | 1 | 1 |" in md and "| β-VAE (β = 4) | 4 | 0 (1 did not finish) | – | – |" in md
    assert "| β-VAE (β = 4) | 0 | stopped: stopped before it finished |" in md  # in the trials table
    with open(report / "metrics.csv") as f:
        assert [(r["key"], r["status"]) for r in csv.DictReader(f)] == [
            ("vae_s0", "finished"), ("bvae_b4_s0", "stopped"), ("cvae_s0", "stopped")]
    # The second model's run folder stays, for a resume; the report leaves its numbers out.
    assert sorted(p.name for p in (report / "runs").iterdir()) == ["bvae_b4_s0", "vae_s0"]
    kept = {path: path.stat().st_mtime_ns for path in (report / "runs" / "vae_s0").rglob("*")}
    # The CVAE never started; give it a run folder whose checkpoint is damaged.
    damaged = write_fake_run(report / "runs" / "cvae_s0", model="cvae", beta=1.0, epochs=1)
    (damaged / "model.keras").write_bytes(b"not a zip file")

    events = []
    again = run_study(resume=report, data=tiny_split, state=JobState(on_event=events.append))
    assert again.report_dir == report and not again.stopped
    assert {p: p.stat().st_mtime_ns for p in (report / "runs" / "vae_s0").rglob("*")} == kept
    status = {t["key"]: (t["status"], t["reason"]) for t in again.trials}
    assert status["vae_s0"] == ("finished", None) and status["bvae_b4_s0"] == ("finished", None)
    assert status["cvae_s0"][0] == "failed"
    assert "cannot load model" in status["cvae_s0"][1] and "not a complete .keras file" in status["cvae_s0"][1]
    resumed = next(r for r in again.rows if r["key"] == "bvae_b4_s0")
    assert resumed["resumed_from_epoch"] == 1
    with open(report / "runs" / "bvae_b4_s0" / "metrics.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    started = next(e for e in events if isinstance(e, StudyStarted))
    assert (started.trials, started.finished) == (3, 1)
    assert [e.row["key"] for e in events if isinstance(e, StudyRow)] == ["vae_s0", "bvae_b4_s0"]
    saved = json.loads((report / "study.json").read_text())
    assert saved["status"] == "finished" and [t["status"] for t in saved["trials"]] == ["finished", "finished",
                                                                                       "failed"]
    assert "cannot load model" in (report / "report.md").read_text()
    assert (report / "runs" / "cvae_s0" / "error.txt").exists()


def test_a_schedule_longer_than_the_epochs_sized_to_the_data_is_refused_before_anything_is_trained(
        tmp_path, tiny_split):
    # No -e: the epochs are chosen from the data (100 here) only once it is loaded.
    config = StudyConfig(training=TrainConfig(epochs=None, batch_size=50), betas=(4.0,), include_cvae=False,
                         kl_warmup=150, out=str(tmp_path / "reports"))
    with pytest.raises(ConfigError, match="KL warm-up epochs must be at most 100, got 150"):
        run_study(config, data=tiny_split, classifier_cache=tmp_path / "cache")
    assert not (tmp_path / "reports").exists()
