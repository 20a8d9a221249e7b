"""Whole (tiny) β studies: the files they write, the events they report, and stopping one."""
import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from keras_models.config import TrainConfig
from keras_models.events import JobState, RunStarted, StageStarted, StudyFigure, StudyRow
from keras_models.study import StudyConfig, run_study
from keras_models.study.report import write_report
from tests.helpers import StopAfter

FIGURES = ["loss_curves", "rate_distortion", "reconstructions_and_samples", "traversal_dim2", "cvae_classes",
           "kl_per_dimension"]


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
    result = run_study(config, data=tiny_split, state=JobState(on_event=events.append),
                       classifier_cache=tmp_path / "cache")
    report = result.report_dir
    assert not result.stopped
    assert [r["key"] for r in result.rows] == ["bvae_b0.5", "vae", "cvae"]

    trained = []
    for i, (key, model, title) in enumerate((("bvae_b0.5", "bvae", "β-VAE (β = 0.5)"), ("vae", "vae", "VAE (β = 1)"),
                                             ("cvae", "cvae", "CVAE (β = 1)"))):
        trained += [("stage", f"training {title} ({i + 1} of 3)"), ("run", model),
                    ("stage", f"measuring {title} (IWAE with k = 4)"), ("row", key)]
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
    assert [r["key"] for r in rows] == ["bvae_b0.5", "vae", "cvae"]
    for r in rows:
        assert float(r["iwae_nll"]) <= float(r["nelbo"]) + 1.0
        assert r["k"] == "4" and r["binarisation"].startswith("fixed, seed")
        assert r["run_dir"].startswith("runs/")
    md = (report / "report.md").read_text()
    assert "| β-VAE (β = 0.5) |" in md and "IWAE NLL" in md and "k = 4" in md
    for line in result.conclusions:
        assert line in md
    assert "<table>" in (report / "report.html").read_text()
    saved = json.loads((report / "study.json").read_text())
    assert saved["stopped"] is False and saved["rows"] == result.rows
    assert saved["config"]["betas"] == [0.5, 1.0] and saved["data"] == "tiny: 400 training and 100 validation images"
    assert len(list((report / "runs").iterdir())) == 3

    # The report needs only the rows, as JSON, and the run folders: what a trial run elsewhere sends back.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(report / "runs", elsewhere / "runs")
    write_report(config, tiny_split, json.loads(json.dumps(result.rows)), elsewhere, stopped=False)
    assert _without_date((elsewhere / "report.md").read_text()) == _without_date(md)
    for name in FIGURES:
        first = np.asarray(Image.open(report / "figures" / f"{name}.png"))
        again = np.asarray(Image.open(elsewhere / "figures" / f"{name}.png"))
        assert np.array_equal(first, again), name


@pytest.mark.parametrize("moment", ["training", "measuring"])
def test_a_stop_during_the_second_model_reports_the_first_only(tmp_path, tiny_split, moment):
    training = TrainConfig(epochs=1, batch_size=50, latent_dim=4, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), include_cvae=False, k=4,
                         out=str(tmp_path / "reports"))
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StageStarted) and event.text.startswith(f"{moment} β-VAE (β = 4)"):
            state.request_stop()  # as the window's Stop button does, from the study's own events

    state = JobState(on_event=on_event)
    result = run_study(config, data=tiny_split, state=state, classifier_cache=tmp_path / "cache")
    assert result.stopped
    assert [r["key"] for r in result.rows] == ["vae"]
    assert [e.row["key"] for e in events if isinstance(e, StudyRow)] == ["vae"]
    measured = [text for kind, text in _outline(events) if kind == "stage" and text.startswith("measuring")]
    assert measured == ["measuring VAE (β = 1) (IWAE with k = 4)"] + (
        ["measuring β-VAE (β = 4) (IWAE with k = 4)"] if moment == "measuring" else [])
    assert _outline(events)[-3:] == [("figure", "traversal_dim3"), ("figure", "kl_per_dimension"), ("stage", "done")]
    report = result.report_dir
    assert json.loads((report / "study.json").read_text())["stopped"] is True
    md = (report / "report.md").read_text()
    assert "| VAE (β = 1) |" in md and "β-VAE (β = 4)" not in md
    with open(report / "metrics.csv") as f:
        assert [r["key"] for r in csv.DictReader(f)] == ["vae"]
    # The second model's run folder stays, as any stopped run does; the report leaves it out.
    assert len(list((report / "runs").iterdir())) == 2


def test_a_study_stopped_while_its_classifier_trains_writes_a_report_without_models(tmp_path, tiny_split):
    config = StudyConfig(training=TrainConfig(epochs=1, batch_size=50, latent_dim=4), betas=(1.0,), k=4,
                         out=str(tmp_path / "reports"))
    events = []
    result = run_study(config, data=tiny_split, state=StopAfter(1, on_event=events.append),
                       classifier_cache=tmp_path / "cache")
    assert result.stopped and result.rows == [] and result.conclusions == []
    assert "stopped before any model finished" in (result.report_dir / "report.md").read_text()
    assert not (tmp_path / "cache").exists()  # the classifier stopped within a batch: nothing was cached
    assert not (result.report_dir / "runs").exists()
    assert _outline(events) == [("stage", "training the evaluation classifier (cached after the first time)"),
                                ("stage", "drawing figures and writing the report"), ("stage", "done")]


def test_a_study_on_shapes_measures_disentanglement(tmp_path):
    from keras_models.data import shapes

    factors = shapes.sample_factors(900, np.random.default_rng(0))
    data = shapes.split_with_factors("shapes (900)", shapes.render_images(factors, 28), factors, shapes.factor_names)
    training = TrainConfig(epochs=1, batch_size=100, latent_dim=5, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), include_cvae=False, traverse_dim=1, k=2,
                         out=str(tmp_path / "reports"))
    events = []
    result = run_study(config, data=data, state=JobState(on_event=events.append), classifier_cache=tmp_path / "cache")
    for row in result.rows:
        for key in ("mig", "dci_disentanglement", "dci_completeness", "factor_vae"):
            assert 0.0 <= row[key] <= 1.0
    assert ("stage", "measuring the disentanglement of β-VAE (β = 4)") in _outline(events)
    assert (result.report_dir / "figures" / "disentanglement_vs_beta.png").exists()
    md = (result.report_dir / "report.md").read_text()
    assert "| MIG |" in md
    mig_line = next(line for line in result.conclusions if "MIG over" in line)
    raised = result.rows[1]["mig"] > result.rows[0]["mig"]
    assert ("β = 4 raised MIG" if raised else "β = 4 did not raise MIG") in mig_line


def test_test_images_of_another_shape_are_refused_before_anything_is_trained(tmp_path, tiny_split):
    config = StudyConfig(training=TrainConfig(epochs=1), out=str(tmp_path / "reports"))
    test_set = (np.zeros((10, 32, 32, 1), "float32"), np.zeros(10, "int32"))
    with pytest.raises(ValueError, match="test images are 32×32×1 but tiny trains on 28×28×1"):
        run_study(config, data=tiny_split, test_set=test_set, classifier_cache=tmp_path / "cache")
    assert not (tmp_path / "reports").exists()
