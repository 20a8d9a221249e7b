"""`main.py evaluate`: a saved run measured from the command line, evaluation.json written."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keras_models.data import load_dataset, load_idx_test_set
from keras_models.files import read_run
from keras_models.run_evaluation import measurement_split
from tests.helpers import pretrain_classifier, run_main, write_digits_idx

REPO = Path(__file__).resolve().parents[2]


def test_evaluate_writes_evaluation_json_that_the_run_reader_reads_back(cli_run, digits_idx_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    # Another test set of 12 images (the run's own has 60), and a --test-images above that: both options
    # in one run, as every new test set trains its own evaluation classifier.
    other = tmp_path / "other-test-set"
    write_digits_idx(other, n_train=10, n_val=12)
    # Its classifier, trained briefly where evaluate looks first: 200 training images would get the
    # full one 200 epochs (classifier.default_epochs), for a test of what evaluate writes.
    pretrain_classifier(measurement_split(load_dataset(f"idx:{digits_idx_dir}"), load_idx_test_set(other), 50))
    status, stdout, stderr = run_main(["evaluate", run_dir, "-k", "4", "--test-idx", other, "--test-images", "50"])
    assert status == 0, stderr
    saved = json.loads((run_dir / "evaluation.json").read_text())
    assert saved["protocol"]["k"] == 4 and saved["protocol"]["images"] == 12
    assert 0 < saved["iwae_nll"] <= saved["nelbo"] + 1.0
    assert 0 <= saved["active_units"] <= saved["latent_dim"] == 4
    assert saved["frechet_distance"] is not None and saved["class_accuracy"] is None  # not a CVAE
    assert read_run(run_dir).evaluation == saved
    assert f"IWAE NLL {saved['iwae_nll']:.2f} (k = 4" in stdout
    assert f"active units {saved['active_units']} / 4" in stdout
    assert stdout.rstrip().endswith(f"written to {run_dir / 'evaluation.json'}")


@pytest.mark.parametrize("extra, words", [
    (["-k", "0"], ["k (importance samples)", "got 0"]),
    (["--test-images", "3"], ["test images", ">= 10", "got 3"]),
])
def test_evaluate_bad_options_are_one_line_and_write_nothing(cli_run, tmp_path, extra, words):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    status, stdout, stderr = run_main(["evaluate", run_dir, *extra])
    assert status == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and all(w in stderr for w in words), stderr
    assert not (run_dir / "evaluation.json").exists()


def test_evaluate_of_a_folder_that_is_not_a_run_fails_before_tensorflow_loads(tmp_path):
    result = subprocess.run([sys.executable, "main.py", "evaluate", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"main.py evaluate: error: not a run folder: {tmp_path} (no config.json)"]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_mid_evaluation_ends_the_bar_and_says_nothing_was_written(tmp_path, monkeypatch):
    # The message went after the half-drawn bar, mid-line, and spoke of a checkpoint.
    import keras_models.run_evaluation as run_evaluation
    from keras_models.events import StageProgress
    from tests.helpers import run_main, write_fake_run

    def interrupted(run_dir, state=None, **kwargs):
        state.report(StageProgress("IWAE bound (k = 10) on 100 images", 3, 10, 1.0))
        raise KeyboardInterrupt

    monkeypatch.setattr(run_evaluation, "evaluate_run", interrupted)
    run_dir = write_fake_run(tmp_path / "run")
    status, stdout, stderr = run_main(["evaluate", run_dir, "-k", "10"])
    assert status == 130
    assert stderr.endswith("\ninterrupted; nothing was measured or written\n"), stderr[-200:]
    assert not (run_dir / "evaluation.json").exists()
