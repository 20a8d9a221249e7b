"""Bad input on the command line: exit status 2, one line on stderr naming the value, nothing left behind."""
import shutil

import keras
import pytest

from tests.helpers import assert_bad_input, assert_no_run_folder, run_main, snapshot, write_idx


@pytest.fixture
def out(tmp_path):
    return tmp_path / "runs"


@pytest.fixture
def train_args(digits_idx_dir, out):
    return ["train", "--dataset", f"idx:{digits_idx_dir}", "--out", out, "-e", "1", "--latent-dim", "2"]


@pytest.mark.parametrize("extra, names", [
    (["-b", "-1"], ["beta", "'-1'"]),
    (["-b", "abc"], ["beta", "'abc'"]),
    (["-b", "nan"], ["beta", "'nan'"]),
    (["-e", "0"], ["epochs", "got 0"]),
    (["--latent-dim", "0"], ["latent dim", "got 0"]),
    (["-bs", "0"], ["batch size", "got 0"]),
    (["-bs", "-5"], ["batch size", "got -5"]),
    # Past the caps a value is a typo: --latent-dim 100000 once trained for minutes, then failed.
    (["--latent-dim", "100000"], ["latent dim must be at most 512", "got 100,000"]),
    (["-e", "1000000000"], ["epochs must be at most 100,000", "got 1,000,000,000"]),
    (["-bs", "1000000"], ["batch size must be at most 60,000", "got 1,000,000"]),
    (["--seed", str(2**32)], ["seed must be at most 2,147,483,647", "got 4,294,967,296"]),
    (["-l", "0"], ["learning rate", "got 0.0"]),
    (["-m", "transformer"], ["unknown model", "'transformer'"]),
    (["--dataset", "cifar10"], ["unknown dataset", "'cifar10'"]),
    (["-m", "vae", "-b", "2"], ["vanilla VAE", "beta = 2"]),
    (["--precision", "half"], ["unknown precision", "'half'"]),
    (["--arch", "resnet"], ["unknown architecture", "'resnet'"]),
    (["-e", "abc"], ["--epochs", "'abc'"]),
    (["--latent-dim", "2.5"], ["--latent-dim", "'2.5'"]),
    (["--no-such-option"], ["unrecognized arguments", "--no-such-option"]),
])
def test_bad_training_settings(train_args, out, extra, names):
    assert_bad_input(*run_main(train_args + extra), *names)
    assert_no_run_folder(out)


def test_missing_idx_file(tmp_path, out):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, stdout, stderr = run_main(["train", "--dataset", f"idx:{empty}", "--out", out, "-e", "1"])
    assert_bad_input(status, stdout, stderr, "missing IDX file", str(empty / "train-images-idx3-ubyte"))
    assert_no_run_folder(out)


def test_missing_idx_folder(tmp_path, out):
    status, stdout, stderr = run_main(["train", "--dataset", f"idx:{tmp_path / 'nowhere'}", "--out", out])
    assert_bad_input(status, stdout, stderr, "IDX folder not found", "nowhere")
    assert_no_run_folder(out)


@pytest.mark.parametrize("damage, names", [
    (lambda p: p.write_bytes(b"\x12\x34\x56\x78" + p.read_bytes()[4:]), ["not an IDX header"]),
    (lambda p: p.write_bytes(p.read_bytes()[:-3]), ["expected 60 bytes", "found 57"]),
])
def test_corrupt_idx_file(tmp_path, digits_idx_dir, out, damage, names):
    folder = tmp_path / "idx"
    shutil.copytree(digits_idx_dir, folder)
    damage(folder / "t10k-labels-idx1-ubyte")
    status, stdout, stderr = run_main(["train", "--dataset", f"idx:{folder}", "--out", out, "-e", "1"])
    assert_bad_input(status, stdout, stderr, "corrupt IDX file", str(folder / "t10k-labels-idx1-ubyte"), *names)
    assert_no_run_folder(out)


def test_mismatched_idx_files(tmp_path, digits_idx_dir, out):
    import numpy as np

    folder = tmp_path / "idx"
    shutil.copytree(digits_idx_dir, folder)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(7, dtype="uint8"))
    status, stdout, stderr = run_main(["train", "--dataset", f"idx:{folder}", "--out", out])
    assert_bad_input(status, stdout, stderr, "do not match", "(7,)")
    assert_no_run_folder(out)


def test_output_folder_that_cannot_be_written(tmp_path, train_args):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    bad_out = blocker / "runs"
    status, stdout, stderr = run_main(train_args + ["--out", bad_out])
    assert_bad_input(status, stdout, stderr, "cannot write to output folder", str(bad_out))
    assert blocker.read_text() == "not a folder"


# ----- damaged or foreign model files, through `grids` and `--resume` -----------------------------
def truncate(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])


def foreign(path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    path.unlink()
    model.save(path)


@pytest.fixture
def damaged_run(cli_run, tmp_path, request):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    request.param(run_dir / "model.keras")
    return run_dir


DAMAGE = [pytest.param(truncate, id="truncated"), pytest.param(foreign, id="foreign")]
DAMAGE_WORDS = {"truncated": ["cannot load model", "truncated or damaged"], "foreign": ["holds a Sequential", "not a model made by this tool"]}


@pytest.mark.parametrize("damaged_run", DAMAGE, indirect=True)
def test_grids_with_a_damaged_model_file(damaged_run, tmp_path, request):
    before = snapshot(damaged_run)
    status, stdout, stderr = run_main(["grids", damaged_run, "--out", tmp_path / "pngs"])
    kind = request.node.callspec.id
    assert_bad_input(status, stdout, stderr, str(damaged_run / "model.keras"), *DAMAGE_WORDS[kind])
    assert "not found" not in stderr  # the file is there, just unusable
    assert snapshot(damaged_run) == before
    assert not (tmp_path / "pngs").exists()


@pytest.mark.parametrize("damaged_run", DAMAGE, indirect=True)
def test_resume_with_a_damaged_model_file(damaged_run, request):
    before = snapshot(damaged_run)
    status, stdout, stderr = run_main(["train", "--resume", damaged_run, "-e", "1"])
    kind = request.node.callspec.id
    assert_bad_input(status, stdout, stderr, str(damaged_run / "model.keras"), *DAMAGE_WORDS[kind])
    assert snapshot(damaged_run) == before


def test_resume_of_a_folder_that_is_not_a_run(tmp_path):
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    assert_bad_input(*run_main(["train", "--resume", folder, "-e", "1"]), "not a run folder", str(folder))
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert_bad_input(*run_main(["train", "--resume", tmp_path / "absent"]), "not a run folder", "absent")


def test_resume_with_bad_epochs(cli_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cli_run[0], run_dir)
    before = snapshot(run_dir)
    assert_bad_input(*run_main(["train", "--resume", run_dir, "-e", "0"]), "epochs", "got 0")
    assert_bad_input(*run_main(["train", "--resume", run_dir, "-e", "1000000"]), "epochs must be at most 100,000")
    assert snapshot(run_dir) == before


def test_grids_of_a_folder_that_is_not_a_run(tmp_path):
    assert_bad_input(*run_main(["grids", tmp_path]), "not a run folder", str(tmp_path))


@pytest.mark.parametrize("extra, names", [
    (["--traverse-dim", "4"], ["--traverse-dim 4", "4 latent dimensions"]),
    (["--traverse-dim", "-1"], ["--traverse-dim -1"]),
    (["--classes", "3", "12"], ["--classes", "3 12"]),
    (["--traverse-dim", "x"], ["--traverse-dim", "'x'"]),
])
def test_grids_bad_options(cli_run, tmp_path, extra, names):
    status, stdout, stderr = run_main(["grids", cli_run[0], "--out", tmp_path / "pngs", *extra])
    assert_bad_input(status, stdout, stderr, *names)
    assert not (tmp_path / "pngs").exists()


def test_grids_output_folder_that_cannot_be_written(cli_run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    status, stdout, stderr = run_main(["grids", cli_run[0], "--out", blocker / "pngs"])
    assert_bad_input(status, stdout, stderr, "cannot write grids to", str(blocker / "pngs"))


def test_a_bad_value_is_the_only_line_on_stderr_even_with_tensorflow_installed(tmp_path):
    # TensorFlow prints several lines when it loads; settings are checked before it does.
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "main.py", "train", "-b", "-1", "--out", str(tmp_path)],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["main.py train: error: beta must be a number between 0 and 1000, got '-1'"]
    assert list(tmp_path.iterdir()) == []
