"""The KL schedule flags of `main.py train` and `main.py study`: bad values and combinations get one
line naming them before anything is written (or TensorFlow loads); good ones reach the run."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from keras_models.files import read_metrics
from tests.helpers import assert_bad_input, assert_no_run_folder, run_main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def train_args(digits_idx_dir, tmp_path):
    return ["train", "--dataset", f"idx:{digits_idx_dir}", "--out", tmp_path / "runs", "-e", "4",
            "--latent-dim", "2", "-bs", "100", "--precision", "float32"]


@pytest.mark.parametrize("extra, names", [
    (["--kl-warmup", "-2"], ["KL warm-up epochs", "got -2"]),
    (["--kl-warmup", "5"], ["KL warm-up epochs must be at most 4", "got 5"]),
    (["--kl-warmup", "two"], ["--kl-warmup", "'two'"]),
    (["--kl-cycles", "3"], ["3 KL cycles need at least 6 epochs", "got 4"]),
    (["--kl-warmup", "2", "--kl-cycles", "2"], ["choose one KL schedule", "warm-up 2", "cycles 2"]),
    (["--kl-warmup", "2", "--capacity", "25"], ["choose one KL schedule", "capacity 25"]),
    (["--capacity", "-5"], ["capacity (C_max, nats)", "-5"]),
    (["--capacity", "inf"], ["capacity (C_max, nats)", "inf"]),
    (["--capacity", "25", "--gamma", "0"], ["gamma must be a number above 0", "got 0"]),
    (["--capacity", "25", "--capacity-epochs", "9"], ["capacity epochs must be at most 4", "got 9"]),
    (["--capacity", "25", "-b", "4"], ["not beta", "beta = 4"]),
    (["-m", "vae", "--capacity", "25"], ["capacity 25", "vanilla VAE"]),
    (["--gamma", "100"], ["gamma 100", "needs a capacity"]),
    (["--capacity-epochs", "2"], ["capacity epochs 2", "needs a capacity"]),
])
def test_bad_schedule_flags_are_refused_in_one_line(train_args, tmp_path, extra, names):
    status, stdout, stderr = run_main(train_args + extra)
    assert_bad_input(status, stdout, stderr, *names)
    assert_no_run_folder(tmp_path / "runs")


def test_a_bad_schedule_is_refused_before_tensorflow_loads(tmp_path):
    code = ("import sys, main\n"
            "status = main.main(sys.argv[1:])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code, "train", "--kl-cycles", "2", "--capacity", "9",
                             "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "main.py train: error: choose one KL schedule, got KL cycles 2 and capacity 9.0"]
    assert list(tmp_path.iterdir()) == []


def test_train_passes_the_schedule_to_the_run(train_args, tmp_path):
    status, stdout, stderr = run_main(train_args + ["--capacity", "6", "--capacity-epochs", "2", "--gamma", "20"])
    assert status == 0, stderr
    run_dir = next((tmp_path / "runs").iterdir())
    assert run_dir.name.endswith("_bvae_capacity6")
    saved = json.loads((run_dir / "config.json").read_text())["config"]
    assert (saved["capacity"], saved["capacity_epochs"], saved["gamma"]) == (6.0, 2, 20.0)
    assert [row["capacity"] for row in read_metrics(run_dir / "metrics.csv")] == [0.0, 3.0, 6.0, 6.0]


@pytest.mark.parametrize("extra, message", [
    (["--kl-warmup", "3"], "KL warm-up epochs must be at most 1, got 3"),
    (["--gamma", "5"], "gamma 5.0 needs a capacity (C_max, in nats)"),
    (["--capacity", "0"], "capacity (C_max, nats) must be a number above 0 and at most 10000, got 0.0"),
    (["--betas", "0", "--kl-cycles", "1"], "KL cycles 1 with beta = 0 has no KL term to schedule: give beta > 0"),
])
def test_bad_study_schedule_flags_are_refused_in_one_line(digits_idx_dir, tmp_path, extra, message):
    status, stdout, stderr = run_main(["study", "--dataset", f"idx:{digits_idx_dir}", "--out", tmp_path / "reports",
                                       "-e", "1", *extra])
    assert status == 2, (stdout, stderr)
    assert stderr.strip().splitlines() == [f"main.py study: error: {message}"]
    assert not (tmp_path / "reports").exists()


def test_study_flags_add_their_groups(digits_idx_dir):
    import main
    from keras_models.study.cli import study_config

    args = main.build_parser().parse_args(["study", "--dataset", f"idx:{digits_idx_dir}", "-e", "4", "--betas", "1",
                                           "4", "--no-cvae", "--capacity", "25", "--gamma", "50", "--kl-cycles", "2"])
    config = study_config(args)
    assert [g["title"] for g in config.groups()] == [
        "VAE (β = 1)", "β-VAE (β = 4)", "β-VAE with 2 KL cycles (β = 4)", "capacity-controlled β-VAE (C_max 25)"]
    capacity = config.train_config(config.entries()[-1]).validate()
    assert (capacity.capacity, capacity.capacity_epochs, capacity.gamma) == (25.0, 2, 50.0)
