"""The β study without training: its settings, generated conclusions, report rendering and figures."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_models.config import ConfigError, TrainConfig
from keras_models.study import StudyConfig, conclusions
from keras_models.study.figures import kl_bars_figure
from keras_models.study.report import metrics_csv_text, render_html, render_markdown, table_columns

REPO = Path(__file__).resolve().parents[2]


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


def test_numbers_that_only_partly_moved_say_so():
    rows = [_row("bvae", 0.5, 100.0, 30.0, 125.0, 10, 20.0), _row("vae", 1.0, 100.0, 20.0, 126.0, 9, 15.0),
            _row("bvae", 4.0, 150.0, 20.0, 150.0, 9, 12.0)]
    text = "\n".join(conclusions(rows))
    assert "the reconstruction term rose or stayed level: 100.00 (β = 0.5), 100.00 (β = 1), 150.00 (β = 4)." in text
    assert "the KL term (rate) fell or stayed level" in text


def test_one_model_of_the_family_gives_no_trend():
    assert conclusions([_row("vae", 1.0, 110.0, 20.0, 120.0, 10, 10.0)]) == []


def test_markdown_and_html_carry_the_same_content():
    doc = [("h1", "Title"), ("p", "a < b"), ("list", ["one", "two"]), ("table", ["x", "y"], [["1", "2"]]),
           ("img", "figures/f.png", "caption")]
    md, page = render_markdown(doc), render_html(doc, "t")
    assert md.startswith("# Title") and "| x | y |" in md and "![caption](figures/f.png)" in md
    assert "<h1>Title</h1>" in page and "a &lt; b" in page and "<td>2</td>" in page and 'src="figures/f.png"' in page


def test_the_table_leaves_out_numbers_no_model_has():
    rows = [_row("vae", 1.0, 110.0, 20.0, 120.0, 10, None)]
    keys = [key for key, _ in table_columns(rows)]
    assert "frechet_distance" not in keys and "mig" not in keys and "iwae_nll" in keys
    header, line = metrics_csv_text(rows).splitlines()
    assert header.startswith("key,model,beta,nelbo") and line.startswith("vae1.0,vae,1.0,130.0")


def test_kl_bars_count_active_units_as_the_table_does():
    # Three dimensions carry KL > 0.01, but the table's count (variance of the posterior mean) says 2.
    rows = [{"key": "bvae_b4", "title": "β-VAE (β = 4)", "active_units": 2, "latent_dim": 4}]
    figure = kl_bars_figure(rows, {"bvae_b4": np.array([0.5, 0.02, 0.0, 0.3])})
    assert figure.axes[0].get_title() == "β-VAE (β = 4): 2 of 4 active units"


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
    with pytest.raises(ConfigError, match="test images must be a whole number >= 10, got 5"):
        StudyConfig(test_images=5).validate()
    with pytest.raises(ConfigError, match=r"classes must be digits 0-9, got \[1, 12\]"):
        StudyConfig(classes=(1, 12)).validate()


def test_settings_are_sorted_and_give_one_model_per_beta_then_the_cvae():
    config = StudyConfig(betas=("4", 1, 0.5, "1.0")).validate()
    assert config.betas == (0.5, 1.0, 4.0)
    assert [e["key"] for e in config.entries()] == ["bvae_b0.5", "vae", "bvae_b4", "cvae"]
    assert config.train_config(config.entries()[2], out="elsewhere").out == "elsewhere"
    assert StudyConfig.from_dict({"training": {"latent_dim": 3}, "k": 7}).validate().traverse_dim == 2


def test_the_study_settings_load_without_tensorflow():
    # The window builds a StudyConfig before TensorFlow has loaded.
    code = ("import sys, keras_models.study.config\n"
            "from keras_models.study import StudyConfig, conclusions\n"
            "StudyConfig().validate()\n"
            "loaded = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
