"""The β study without training: its settings, generated conclusions, report rendering and figures."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_models.config import ConfigError, TrainConfig
from keras_models.study import StudyConfig, conclusions
from keras_models.study.figures import kl_bars_figure
from keras_models.study.report import metrics_csv_text, render_html, render_markdown, table_columns, table_rows
from keras_models.study.stats import group_rows
from tests.helpers import seeded_rows, study_row

REPO = Path(__file__).resolve().parents[2]


def test_conclusions_state_the_rule_and_each_measured_direction():
    rows = (seeded_rows("bvae", 0.5, rec=100.0, kl=30.0, nll=125.0, units=10, fd=20.0)
            + seeded_rows("vae", 1.0, rec=110.0, kl=20.0, nll=126.0, units=9, fd=15.0)
            + seeded_rows("bvae", 4.0, rec=150.0, kl=5.0, nll=150.0, units=3, fd=12.0)
            + seeded_rows("cvae", 1.0, rec=105.0, kl=20.0, nll=120.0, units=10, fd=14.0, class_accuracy=0.9,
                          offsets=(0.0, 0.0, 0.0)))
    lines = conclusions(rows)
    text = "\n".join(lines)
    assert lines[0].startswith("Rule: a number is said to rise or fall between two β values only when Welch's")
    assert ("From β = 0.5 to β = 4, the reconstruction term rose (p < 0.001): 101.00 ± 1.00 (β = 0.5), "
            "111.00 ± 1.00 (β = 1), 151.00 ± 1.00 (β = 4); between neighbouring β values: rose, rose.") in text
    assert "the KL term (rate) fell (p < 0.001)" in text
    # Whole numbers do not get the offsets: without any spread, every change exceeds it.
    assert ("the number of active units fell (p < 0.001): 10.0 ± 0.0 (β = 0.5), 9.0 ± 0.0 (β = 1), 3.0 ± 0.0 "
            "(β = 4); between neighbouring β values: fell, fell.") in text
    assert "the Fréchet distance of samples to test images fell (p < 0.001)" in text
    # Larger β gave better samples here: the report must say that this contradicts the reference.
    assert "improved samples by Fréchet distance, which contradicts that claim for sample quality" in text
    assert "The CVAE drew the requested class 90.0 ± 0.0% of the time (n = 3" in text


def test_conclusions_follow_the_numbers_when_they_agree_with_the_reference():
    rows = (seeded_rows("bvae", 0.1, rec=100.0, kl=30.0, nll=125.0, fd=10.0)
            + seeded_rows("bvae", 10.0, rec=150.0, kl=5.0, nll=150.0, fd=30.0))
    text = "\n".join(conclusions(rows))
    assert "worsened reconstructions, and worsened samples by Fréchet distance." in text
    assert "contradicts" not in text


def test_mig_is_held_against_the_reference_claim_on_data_with_known_factors():
    rows = (seeded_rows("vae", 1.0, mig=0.10, offsets=(0.0, 0.01, 0.02))
            + seeded_rows("bvae", 8.0, mig=0.30, offsets=(0.0, 0.01, 0.02)))
    text = "\n".join(conclusions(rows))
    assert "β = 8 raised MIG over β = 1 (0.110 ± 0.010 to 0.310 ± 0.010, p < 0.001)." in text
    assert "no ground-truth factors" not in text
    flat = seeded_rows("vae", 1.0, mig=0.10) + seeded_rows("bvae", 8.0, mig=0.11)
    assert ("β = 8 made no measurable difference to MIG at n = 3, which does not support the reference's claim"
            in "\n".join(conclusions(flat)))


def test_a_change_within_the_spread_is_no_measurable_difference():
    rows = (seeded_rows("vae", 1.0, rec=110.0, kl=20.0, fd=10.0, offsets=(0.0, 3.0, 6.0))
            + seeded_rows("bvae", 4.0, rec=111.0, kl=12.0, fd=20.0, offsets=(0.0, 3.0, 6.0)))
    text = "\n".join(conclusions(rows))
    # Welch's t by hand: means 113 and 114, sd 3 each, n = 3: t = 1 / √6 = 0.41 on 4 degrees of freedom.
    assert ("From β = 1 to β = 4, the reconstruction term: no measurable difference at n = 3 (p = 0.704): "
            "113.00 ± 3.00 (β = 1), 114.00 ± 3.00 (β = 4).") in text
    assert "the KL term (rate) fell (p = 0.031)" in text  # t = 8 / √6 = 3.27
    assert "made no measurable difference to reconstructions, and worsened samples by Fréchet distance." in text


def test_one_seed_says_once_that_no_difference_can_be_claimed():
    rows = [study_row("vae", 1.0, rec=110.0), study_row("bvae", 4.0, rec=150.0)]
    lines = conclusions(rows)
    assert lines[0].startswith("With one seed per model there is no spread to compare against, so no claim about "
                               "differences can be made")
    text = "\n".join(lines)
    assert text.count("no claim") == 1 and "rose" not in text and "fell" not in text and "Rule" not in text


def test_trials_that_did_not_finish_are_counted():
    rows = seeded_rows("vae", 1.0, offsets=(0.0, 1.0))
    failed = {k: study_row("vae", 1.0, seed=2)[k] for k in ("key", "group", "model", "beta", "seed", "title")}
    trials = [{**r, "status": "finished"} for r in rows] + [
        {**failed, "status": "failed", "reason": "loss became NaN at epoch 3, batch 1"}]
    assert conclusions(rows, trials)[-1].startswith("1 of 3 trials did not finish")


def test_no_finished_trial_gives_no_conclusions():
    assert conclusions([]) == []


def test_markdown_and_html_carry_the_same_content():
    doc = [("h1", "Title"), ("p", "a < b"), ("list", ["one", "two"]), ("table", ["x", "y"], [["1", "2"]]),
           ("img", "figures/f.png", "caption")]
    md, page = render_markdown(doc), render_html(doc, "t")
    assert md.startswith("# Title") and "| x | y |" in md and "![caption](figures/f.png)" in md
    assert "<h1>Title</h1>" in page and "a &lt; b" in page and "<td>2</td>" in page and 'src="figures/f.png"' in page


def test_the_table_gives_one_row_per_model_kind_and_leaves_out_numbers_no_model_has():
    rows = seeded_rows("vae", 1.0, rec=110.0, fd=None) + [study_row("bvae", 4.0, rec=150.0, fd=None)]
    keys = [key for key, _ in table_columns(rows)]
    assert keys[:3] == ["title", "beta", "n"]
    assert "frechet_distance" not in keys and "mig" not in keys and "iwae_nll" in keys
    assert [line[:4] for line in table_rows(rows)] == [["VAE (β = 1)", "1", "3", "131.00 ± 1.00"],
                                                       ["β-VAE (β = 4)", "4", "1", "170.00"]]


def test_metrics_csv_has_one_line_per_trial_with_its_seed_and_status():
    rows = seeded_rows("vae", 1.0, offsets=(0.0, 1.0))
    failed = {k: study_row("vae", 1.0, seed=2)[k] for k in ("key", "group", "model", "beta", "seed", "title")}
    trials = [{**r, "status": "finished", "row": r} for r in rows] + [
        {**failed, "status": "failed", "reason": "boom", "row": None}]
    header, *lines = metrics_csv_text(rows, trials).splitlines()
    assert header.startswith("key,group,model,beta,seed,status,reason,nelbo")
    assert [line.split(",")[:7] for line in lines] == [
        ["vae_s0", "vae", "vae", "1.0", "0", "finished", ""], ["vae_s1", "vae", "vae", "1.0", "1", "finished", ""],
        ["vae_s2", "vae", "vae", "1.0", "2", "failed", "boom"]]
    assert lines[2].split(",")[7] == ""  # a failed trial has no numbers


def test_kl_bars_count_active_units_as_the_table_does():
    # Three dimensions carry KL > 0.01, but the table's count (variance of the posterior mean) says 2.
    rows = [{**study_row("bvae", 4.0, units=2), "latent_dim": 4}]
    figure = kl_bars_figure(group_rows(rows), {"bvae_b4_s0": np.array([0.5, 0.02, 0.0, 0.3])})
    assert figure.axes[0].get_title() == "β-VAE (β = 4): 2 of 4 active units"
    assert [bar.get_height() for bar in figure.axes[0].patches] == [0.5, 0.02, 0.0, 0.3]


def test_kl_bars_of_several_seeds_rank_each_seeds_dimensions_first():
    rows = [{**study_row("vae", 1.0, seed=s, units=u), "latent_dim": 3} for s, u in ((0, 2), (1, 3))]
    kl = {"vae_s0": np.array([0.0, 1.0, 3.0]), "vae_s1": np.array([2.0, 0.5, 1.0])}
    axes = kl_bars_figure(group_rows(rows), kl).axes[0]
    assert [bar.get_height() for bar in axes.patches] == [2.5, 1.0, 0.25]
    assert axes.get_title() == "VAE (β = 1): 2.5 ± 0.7 of 3 active units\n(mean ± sd, n = 2)"


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
    with pytest.raises(ConfigError, match="seed must be a whole number >= 0, got -1"):
        StudyConfig(seeds=(0, -1)).validate()
    with pytest.raises(ConfigError, match="give at least one seed"):
        StudyConfig(seeds=()).validate()


def test_every_model_kind_is_trained_once_per_seed_seed_by_seed():
    config = StudyConfig(training=TrainConfig(seed=5), betas=(1.0, 4.0), seeds=(2, 0, 2)).validate()
    assert config.seeds == (0, 2)
    assert [(e["key"], e["group"], e["seed"]) for e in config.entries()] == [
        ("vae_s0", "vae", 0), ("bvae_b4_s0", "bvae_b4", 0), ("cvae_s0", "cvae", 0),
        ("vae_s2", "vae", 2), ("bvae_b4_s2", "bvae_b4", 2), ("cvae_s2", "cvae", 2)]
    assert config.train_config(config.entries()[4]).seed == 2
    # Without seeds the study trains with the training seed, as it always has.
    assert [e["seed"] for e in StudyConfig(training=TrainConfig(seed=5)).validate().entries()] == [5, 5, 5, 5]


def test_settings_are_sorted_and_give_one_model_per_beta_then_the_cvae():
    config = StudyConfig(betas=("4", 1, 0.5, "1.0")).validate()
    assert config.betas == (0.5, 1.0, 4.0) and config.seeds == (0,)
    assert [e["key"] for e in config.entries()] == ["bvae_b0.5_s0", "vae_s0", "bvae_b4_s0", "cvae_s0"]
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
