"""The β study: generated conclusions, report rendering, and a whole (tiny) study end to end."""
import csv
import threading

import numpy as np
import pytest
from PIL import Image

from keras_models.config import ConfigError, TrainConfig
from keras_models.study import StudyConfig, conclusions, render_html, render_markdown, run_study


def _row(model, beta, rec, kl, nll, units, fd, class_accuracy=None):
    return {"key": f"{model}{beta}", "model": model, "beta": beta, "title": f"{model} {beta}", "rec": rec, "kl": kl,
            "nelbo": rec + kl, "iwae_nll": nll, "elbo_gap": rec + kl - nll, "active_units": units, "latent_dim": 10,
            "frechet_distance": fd, "class_accuracy": class_accuracy, "classifier_accuracy": 0.99}


def test_conclusions_state_the_measured_direction_of_each_number():
    rows = [_row("bvae", 0.5, 100.0, 30.0, 125.0, 10, 20.0), _row("vae", 1.0, 110.0, 20.0, 126.0, 9, 15.0),
            _row("bvae", 4.0, 150.0, 5.0, 150.0, 3, 12.0), _row("cvae", 1.0, 105.0, 20.0, 120.0, 10, 14.0, 0.9)]
    lines = conclusions(rows)
    text = "\n".join(lines)
    assert "From β = 0.5 to β = 4, the reconstruction term rose steadily: 100.00 (β = 0.5)" in text
    assert "the KL term (rate) fell steadily" in text
    assert "the number of active units fell steadily: 10 (β = 0.5), 9 (β = 1), 3 (β = 4)" in text
    assert "the Fréchet distance of samples to test images fell steadily" in text
    # Larger β gave better samples here: the report must say that this contradicts the reference.
    assert "did not worsen samples by Fréchet distance, which contradicts that claim" in text
    assert "The CVAE drew the requested class 90.0% of the time" in text


def test_conclusions_follow_the_numbers_when_they_agree_with_the_reference():
    rows = [_row("bvae", 0.1, 100.0, 30.0, 125.0, 10, 10.0), _row("bvae", 10.0, 150.0, 5.0, 150.0, 3, 30.0)]
    text = "\n".join(conclusions(rows))
    assert "did worsen reconstructions, and did worsen samples" in text
    assert "contradicts" not in text


def test_non_monotonic_numbers_are_described_as_such():
    rows = [_row("bvae", 0.1, 100.0, 30.0, 125.0, 10, 30.0), _row("vae", 1.0, 110.0, 20.0, 120.0, 10, 10.0),
            _row("bvae", 10.0, 150.0, 5.0, 150.0, 3, 40.0)]
    text = "\n".join(conclusions(rows))
    assert "Fréchet distance of samples to test images did not move one way (lowest at β = 1, highest at β = 10)" in text


def test_equal_numbers_stayed_level():
    rows = [_row("vae", 1.0, 110.0, 20.0, 120.0, 10, 10.0), _row("bvae", 4.0, 130.0, 12.0, 135.0, 10, 20.0)]
    text = "\n".join(conclusions(rows))
    assert "the number of active units stayed level: 10 (β = 1), 10 (β = 4)." in text


def test_markdown_and_html_carry_the_same_content():
    doc = [("h1", "Title"), ("p", "a < b"), ("list", ["one", "two"]), ("table", ["x", "y"], [["1", "2"]]),
           ("img", "figures/f.png", "caption")]
    md, page = render_markdown(doc), render_html(doc, "t")
    assert md.startswith("# Title") and "| x | y |" in md and "![caption](figures/f.png)" in md
    assert "<h1>Title</h1>" in page and "a &lt; b" in page and "<td>2</td>" in page and 'src="figures/f.png"' in page


def test_bad_study_settings_are_refused():
    with pytest.raises(ConfigError, match="'-1'"):
        StudyConfig(betas=("-1",)).validate()
    with pytest.raises(ConfigError, match="traverse dimension 6"):
        StudyConfig(training=TrainConfig(latent_dim=4), traverse_dim=6).validate()
    assert StudyConfig(training=TrainConfig(latent_dim=4)).validate().traverse_dim == 3
    with pytest.raises(ConfigError, match="epochs"):
        StudyConfig(training=TrainConfig(epochs=0)).validate()
    with pytest.raises(ConfigError, match="k"):
        StudyConfig(k=0).validate()


def test_a_whole_study_writes_every_figure_and_the_table(tmp_path, tiny_split):
    training = TrainConfig(epochs=1, batch_size=50, latent_dim=4, precision="float32")
    config = StudyConfig(training=training, betas=(0.5, 1.0), traverse_dim=2, k=4, out=str(tmp_path / "reports"))
    stages = []

    class Recorder:
        def on_stage(self, text, fraction):
            stages.append(fraction)

        def on_training(self, entry):
            return None

        def on_model_done(self, row):
            pass

        def on_figure(self, name, path):
            pass

    result = run_study(config, data=tiny_split, listener=Recorder(), classifier_cache=tmp_path / "cache")
    report = result.report_dir
    assert [r["key"] for r in result.rows] == ["bvae_b0.5", "vae", "cvae"]
    assert stages == sorted(stages) and stages[-1] == 1.0
    for name in ("loss_curves", "rate_distortion", "reconstructions_and_samples", "traversal_dim2",
                 "cvae_classes", "kl_per_dimension"):
        with Image.open(report / "figures" / f"{name}.png") as image:
            assert image.size[0] > 200
    with open(report / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["key"] for r in rows] == ["bvae_b0.5", "vae", "cvae"]
    for r in rows:
        assert float(r["iwae_nll"]) <= float(r["nelbo"]) + 1.0
        assert r["k"] == "4" and r["binarisation"].startswith("fixed, seed")
    md = (report / "report.md").read_text()
    assert "| β-VAE (β = 0.5) |" in md and "IWAE NLL" in md and "k = 4" in md
    for line in result.conclusions:
        assert line in md
    assert "<table>" in (report / "report.html").read_text()
    assert len(list((report / "runs").iterdir())) == 3


def test_a_study_on_shapes_measures_disentanglement(tmp_path):
    import numpy as np

    from keras_models.data import shapes

    factors = shapes.sample_factors(900, np.random.default_rng(0))
    data = shapes.split_with_factors("shapes (900)", shapes.render_images(factors, 28), factors, shapes.factor_names)
    training = TrainConfig(epochs=1, batch_size=100, latent_dim=5, precision="float32")
    config = StudyConfig(training=training, betas=(1.0, 4.0), include_cvae=False, traverse_dim=1, k=2,
                         out=str(tmp_path / "reports"))
    result = run_study(config, data=data, classifier_cache=tmp_path / "cache")
    for row in result.rows:
        for key in ("mig", "dci_disentanglement", "dci_completeness", "factor_vae"):
            assert 0.0 <= row[key] <= 1.0
    assert (result.report_dir / "figures" / "disentanglement_vs_beta.png").exists()
    md = (result.report_dir / "report.md").read_text()
    assert "| MIG |" in md
    mig_line = next(line for line in result.conclusions if "MIG over" in line)
    raised = result.rows[1]["mig"] > result.rows[0]["mig"]
    assert ("β = 4 raised MIG" if raised else "β = 4 did not raise MIG") in mig_line


def test_a_study_stopped_while_its_classifier_trains_writes_a_report_without_models(tmp_path, tiny_split):
    stop = threading.Event()
    stop.set()
    config = StudyConfig(training=TrainConfig(epochs=1, batch_size=50, latent_dim=4), betas=(1.0,), k=4,
                         out=str(tmp_path / "reports"))
    result = run_study(config, data=tiny_split, stop_event=stop, classifier_cache=tmp_path / "cache")
    assert result.stopped and result.rows == []
    assert "stopped before any model finished" in (result.report_dir / "report.md").read_text()
    assert not (tmp_path / "cache").exists()  # the classifier stopped within a batch: nothing was cached
    assert not (result.report_dir / "runs").exists()


def test_test_images_of_another_shape_are_refused_before_anything_is_trained(tmp_path, tiny_split):
    config = StudyConfig(training=TrainConfig(epochs=1), out=str(tmp_path / "reports"))
    test_set = (np.zeros((10, 32, 32, 1), "float32"), np.zeros(10, "int32"))
    with pytest.raises(ValueError, match="test images are 32×32×1 but tiny trains on 28×28×1"):
        run_study(config, data=tiny_split, test_set=test_set, classifier_cache=tmp_path / "cache")
    assert not (tmp_path / "reports").exists()
