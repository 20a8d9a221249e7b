"""`main.py study`: bad settings are refused in one line before anything is written (and before
TensorFlow or Ray load); a tiny study prints its steps, each trial's numbers and the
conclusions, and writes its report."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def study_args(digits_idx_dir, tmp_path):
    return ["study", "--dataset", f"idx:{digits_idx_dir}", "--out", tmp_path / "reports", "-e", "1",
            "-bs", "50", "--latent-dim", "4", "--precision", "float32", "-k", "2"]


@pytest.mark.parametrize("extra, message", [
    (["--betas", "1", "-1"], "beta must be a number between 0 and 1000, got '-1'"),
    (["-k", "0"], "k (importance samples) must be a whole number >= 1, got 0"),
    (["--test-images", "5"], "test images must be a whole number >= 10, got 5"),
    (["--traverse-dim", "4"], "traverse dimension 4 does not exist with latent size 4"),
    (["--classes", "1", "12"], "classes must be digits 0-9, got [1, 12]"),
    (["-e", "0"], "epochs must be a whole number >= 1, got 0"),
    (["--seeds", "0", "-1"], "seed must be a whole number >= 0, got -1"),
    (["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
    (["--seed", "3", "--seeds", "0", "1"], "give --seed or --seeds, not both"),
    (["--engine", "spark"], "argument --engine: invalid choice: 'spark' (choose from 'local', 'ray')"),
    (["--address", "auto"], "--address auto needs --engine ray"),
    (["--storage", "/tmp"], "--storage /tmp needs --engine ray"),
    (["--gpus-per-trial", "1"], "--gpus-per-trial 1 needs --engine ray"),
    (["--engine", "ray", "--address", "somewhere"],
     "--address must be auto, ray://HOST:PORT or HOST:PORT, got 'somewhere'"),
    (["--engine", "ray", "--cpus-per-trial", "0"], "--cpus-per-trial must be a whole number >= 1, got 0"),
    (["--engine", "ray", "--gpus-per-trial", "-0.5"], "--gpus-per-trial must be a number >= 0, got -0.5"),
    (["--engine", "ray", "--storage", "/proc/nowhere"], "cannot write to --storage folder /proc/nowhere"),
])
def test_bad_study_settings(study_args, tmp_path, extra, message):
    status, stdout, stderr = run_main(study_args + extra)
    assert status == 2, (stdout, stderr)
    assert stderr.strip().splitlines() == [f"main.py study: error: {message}"]
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("extra, message", [
    (["--betas", "-1"], "beta must be a number between 0 and 1000, got '-1'"),
    (["--engine", "ray", "--cpus-per-trial", "0"], "--cpus-per-trial must be a whole number >= 1, got 0"),
])
def test_a_bad_study_value_is_the_only_line_on_stderr_and_nothing_heavy_loads(tmp_path, extra, message):
    # The settings are checked before TensorFlow or Ray load and print their own lines.
    code = ("import sys, main\n"
            "status = main.main(sys.argv[1:])\n"
            "assert not {'tensorflow', 'ray', 'keras'} & set(sys.modules), sorted({'tensorflow', 'ray'} & set(sys.modules))\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code, "study", *extra, "--out", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"main.py study: error: {message}"]
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_a_folder_that_is_not_a_study(tmp_path):
    status, stdout, stderr = run_main(["study", "--resume", tmp_path])
    assert status == 2 and stderr.strip() == f"main.py study: error: not a study folder: {tmp_path} (no study.json)"


@pytest.mark.usefixtures("quick_idx_classifier")
def test_a_tiny_study_prints_its_steps_and_writes_its_report(study_args, tmp_path, monkeypatch):
    from keras_models import startup

    quiet_imports = []
    monkeypatch.setattr(startup, "import_tensorflow_quietly", lambda: quiet_imports.append(True))
    status, stdout, stderr = run_main(study_args + ["--betas", "1", "4", "--no-cvae"])
    assert status == 0, stderr
    assert quiet_imports == [True]  # TensorFlow's start-up lines stay out of the study's output
    (report,) = (tmp_path / "reports").iterdir()
    lines = stdout.splitlines()
    # The estimate comes first, before anything is written.
    assert lines[0].startswith("estimated time about ") and "training 2 models" in lines[0]
    assert lines[1] == f"study folder {report}: 2 trials on the local engine (if interrupted: --resume {report})"
    stages = [line for line in lines if line.startswith("[")]
    assert stages == ["[  0%] training the evaluation classifier (cached after the first time)",
                      "[ 17%] training VAE (β = 1), seed 0 (1 of 2)",
                      "[ 33%] measuring VAE (β = 1), seed 0 (IWAE with k = 2)",
                      "[ 50%] training β-VAE (β = 4), seed 0 (2 of 2)",
                      "[ 67%] measuring β-VAE (β = 4), seed 0 (IWAE with k = 2)",
                      "[ 83%] drawing figures and writing the report", "[100%] done"]
    models = [line.split(":")[0].strip() for line in lines if "IWAE NLL" in line and "active units" in line]
    assert models == ["VAE (β = 1), seed 0", "β-VAE (β = 4), seed 0"]
    conclusions = [line[2:] for line in lines if line.startswith("- ")]
    assert conclusions and all(line in (report / "report.md").read_text() for line in conclusions)
    assert lines[-1] == f"report written to {report / 'report.html'}"
    assert {"report.md", "report.html", "metrics.csv", "study.json", "figures", "runs"} <= {
        p.name for p in report.iterdir()}
