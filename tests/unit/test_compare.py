"""Comparing runs from their files: summaries, the table, the stacked traversals, and bad folders."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_models.files import RunError
from tests.helpers import EVALUATION, traversal_png, write_fake_run

from keras_models.compare import (PAD_VALUE, SEPARATOR_HEIGHT, SEPARATOR_VALUE, comparison_table,
                                  load_run_summary, shared_traversal, traversal_stack)

def test_summary_holds_label_settings_history_and_evaluation(tmp_path):
    run = write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4", evaluation=EVALUATION)
    summary = load_run_summary(run)
    assert summary.label == "β-VAE β = 4 (2026-11-24_1530)"
    assert summary.config["latent_dim"] == 4
    assert [row["epoch"] for row in summary.history] == [1, 2, 3]
    assert summary.final("val_rec") == pytest.approx(172.0)
    assert summary.final("val_kl") == pytest.approx(5.75)
    assert summary.final("val_nelbo") == pytest.approx(177.75)
    assert summary.evaluation["iwae_nll"] == 97.25
    assert set(summary.traversals) == {"traversal_dim3", "traversal_all_dims"}


def test_epochs_logged_after_the_saved_model_are_left_out_as_when_the_run_is_opened(tmp_path):
    summary = load_run_summary(write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4", epochs=3, saved_epoch=2))
    assert [row["epoch"] for row in summary.history] == [1, 2]
    assert summary.final("val_rec") == pytest.approx(182.0)


def test_folder_without_a_time_stamp_is_labelled_by_its_name(tmp_path):
    summary = load_run_summary(write_fake_run(tmp_path / "my run", model="vae", beta=1.0))
    assert summary.label == "VAE β = 1 (my run)"


def test_table_shows_settings_last_epoch_and_evaluation_or_dashes(tmp_path):
    evaluated = load_run_summary(write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4", evaluation=EVALUATION))
    plain = load_run_summary(write_fake_run(tmp_path / "2026-11-24_1600_cvae_b1", model="cvae", beta=1.0,
                                            latent_dim=10, epochs=2))
    headers, rows = comparison_table([evaluated, plain])
    assert headers == ["run", "model", "β", "latent size", "epochs", "val NELBO", "val rec", "val KL",
                       "IWAE NLL", "active units", "Fréchet distance"]
    assert rows[0] == ["2026-11-24_1530_bvae_b4", "β-VAE", "4", "4", "3", "177.75", "172.00", "5.75",
                       "97.25", "3 / 4", "12.30"]
    assert rows[1] == ["2026-11-24_1600_cvae_b1", "CVAE", "1", "10", "2", "189.00", "182.00", "7.00",
                       "–", "–", "–"]


def test_likelihoods_name_their_k_only_when_runs_used_different_k(tmp_path):
    rough = {**EVALUATION, "iwae_nll": 99.5, "protocol": {**EVALUATION["protocol"], "k": 10}}
    summaries = [load_run_summary(write_fake_run(tmp_path / "a", evaluation=EVALUATION)),
                 load_run_summary(write_fake_run(tmp_path / "b", evaluation=rough)),
                 load_run_summary(write_fake_run(tmp_path / "c"))]
    _, rows = comparison_table(summaries)
    assert [row[8] for row in rows] == ["97.25 (k = 1000)", "99.50 (k = 10)", "–"]
    _, rows = comparison_table(summaries[::2])
    assert [row[8] for row in rows] == ["97.25", "–"]


def test_run_that_never_finished_an_epoch_shows_dashes_and_has_no_traversal(tmp_path):
    run = write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4", traversals=())
    (run / "metrics.csv").unlink()
    summary = load_run_summary(run)
    assert summary.history == [] and summary.final("val_kl") is None
    _, rows = comparison_table([summary])
    assert rows[0][4:] == ["0", "–", "–", "–", "–", "–", "–"]
    assert shared_traversal([summary]) is None
    with pytest.raises(ValueError, match="none of these runs has a traversal"):
        traversal_stack([summary])


def test_runs_with_the_same_traversed_dimension_stack_that_grid(tmp_path):
    first = load_run_summary(write_fake_run(tmp_path / "a", shade=0.2))
    second = load_run_summary(write_fake_run(tmp_path / "b", shade=0.8))
    assert shared_traversal([first, second]) == "traversal_dim3"
    stack = traversal_stack([first, second])
    height, width = first.traversals["traversal_dim3"].shape  # 2 rows of 11 images of 6 pixels
    assert (height, width) == (18, 90)
    assert stack.shape == (2 * height + SEPARATOR_HEIGHT, width)
    assert stack.dtype == np.float32 and 0.0 <= stack.min() and stack.max() <= 1.0
    np.testing.assert_array_equal(stack[height:height + SEPARATOR_HEIGHT], SEPARATOR_VALUE)
    assert stack[2, 2] == pytest.approx(0.2, abs=1 / 255)  # first run on top
    assert stack[height + SEPARATOR_HEIGHT + 2, 2] == pytest.approx(0.8, abs=1 / 255)


def test_runs_traversing_different_dimensions_stack_all_dimensions_padding_narrow_ones(tmp_path):
    small = load_run_summary(write_fake_run(tmp_path / "a", traversals=(
        ("traversal_dim3", 2, 11), ("traversal_all_dims", 4, 11))))
    wide = load_run_summary(write_fake_run(tmp_path / "b", latent_dim=10, traversals=(
        ("traversal_dim6", 2, 13), ("traversal_all_dims", 10, 13))))
    assert shared_traversal([small, wide]) == "traversal_all_dims"
    stack = traversal_stack([small, wide])
    assert stack.shape == (4 * 8 + 2 + SEPARATOR_HEIGHT + 10 * 8 + 2, 13 * 8 + 2)
    assert np.all(np.isclose(stack[:34, 90:], PAD_VALUE, atol=1 / 255))  # right of the narrower grid


def test_a_run_without_the_shared_traversal_is_left_out_of_the_stack(tmp_path):
    with_grid = load_run_summary(write_fake_run(tmp_path / "a"))
    without = load_run_summary(write_fake_run(tmp_path / "b", traversals=()))
    assert shared_traversal([with_grid, without]) == "traversal_all_dims"
    assert traversal_stack([with_grid, without]).shape == with_grid.traversals["traversal_all_dims"].shape


def test_folder_without_config_is_not_a_run(tmp_path):
    (tmp_path / "holiday photos").mkdir()
    with pytest.raises(RunError, match=r"not a run folder: .*holiday photos \(no config.json\)"):
        load_run_summary(tmp_path / "holiday photos")
    with pytest.raises(ValueError, match="not a run folder"):
        load_run_summary(tmp_path / "missing")


@pytest.mark.parametrize("damage, file_name", [
    (lambda run: (run / "config.json").write_text("{not json"), "config.json"),
    (lambda run: (run / "config.json").write_text('{"data": {}}'), "config.json"),
    (lambda run: (run / "config.json").write_text('{"config": {"model": "bvae", "beta": "lots"}}'), "config.json"),
    (lambda run: (run / "metrics.csv").write_text("epoch,val_kl\n1,many\n"), "metrics.csv"),
    (lambda run: (run / "metrics.csv").write_text("val_kl\n1.5\n"), "metrics.csv"),
    (lambda run: (run / "metrics.csv").write_text("epoch,val_kl\n1,2,3\n"), "metrics.csv"),
    (lambda run: (run / "evaluation.json").write_text('{"iwae_nll": "low"}'), "evaluation.json"),
    (lambda run: (run / "checkpoint.json").write_text('{"epoch": '), "checkpoint.json"),
    (lambda run: (run / "checkpoint.json").write_text('{"step": 2}'), "checkpoint.json"),
    (lambda run: (run / "grids" / "traversal_dim3.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated"),
     "grids/traversal_dim3.png"),
])
def test_unreadable_file_is_one_line_naming_it(tmp_path, damage, file_name):
    run = write_fake_run(tmp_path / "2026-11-24_1530_bvae_b4")
    damage(run)
    with pytest.raises(RunError) as info:
        load_run_summary(run)
    message = str(info.value)
    assert message.startswith(f"unreadable {run / file_name}: ") and "\n" not in message


def test_comparing_never_imports_tensorflow_or_qt():
    # The window's GUI thread uses this module; loading TensorFlow there would freeze the window.
    code = ("import sys, keras_models.compare; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'PyQt6'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
