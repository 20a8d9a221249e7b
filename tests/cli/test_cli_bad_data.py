"""Data that cannot train, on the command line: one line naming the bad value, exit status 2,
no run or report folder, and for IDX folders no TensorFlow loaded first."""
import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (assert_bad_input, assert_no_run_folder, idx_header, run_main, write_digits_idx,
                           write_fake_run, write_idx)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def out(tmp_path):
    return tmp_path / "runs"


def digits_folder(tmp_path, **replaced):
    """An IDX folder of 200 training and 60 test digits, with the files named in ``replaced``
    (stem with '-' as '_', e.g. ``t10k_images_idx3_ubyte``) holding other arrays."""
    folder = tmp_path / "idx"
    write_digits_idx(folder, n_train=200, n_val=60)
    for key, array in replaced.items():
        write_idx(folder / key.replace("_", "-"), array)
    return folder


def train(folder, out, *extra):
    return run_main(["train", "--dataset", f"idx:{folder}", "--out", out, "-e", "1", "-bs", "50",
                     "--latent-dim", "2", *extra])


@pytest.mark.parametrize("part, stems", [("training", ("train_images_idx3_ubyte", "train_labels_idx1_ubyte")),
                                         ("validation", ("t10k_images_idx3_ubyte", "t10k_labels_idx1_ubyte"))])
def test_a_split_without_images(tmp_path, out, part, stems):
    folder = digits_folder(tmp_path, **{stems[0]: np.zeros((0, 28, 28), "uint8"), stems[1]: np.zeros(0, "uint8")})
    assert_bad_input(*train(folder, out), f"idx:{folder}: the {part} split has no images")
    assert_no_run_folder(out)


def test_fewer_validation_images_than_a_preview_row(tmp_path, out):
    folder = digits_folder(tmp_path, t10k_images_idx3_ubyte=np.zeros((2, 28, 28), "uint8"),
                           t10k_labels_idx1_ubyte=np.zeros(2, "uint8"))
    assert_bad_input(*train(folder, out), f"idx:{folder}: 2 validation images; a run needs at least 10")
    assert_no_run_folder(out)


def test_training_and_test_images_of_different_sizes(tmp_path, out):
    folder = digits_folder(tmp_path, t10k_images_idx3_ubyte=np.zeros((60, 32, 32), "uint8"))
    assert_bad_input(*train(folder, out), "the training images are 28×28 but the validation images are 32×32")
    assert_no_run_folder(out)


def test_images_that_are_not_grey_2d(tmp_path, out):
    folder = digits_folder(tmp_path, train_images_idx3_ubyte=np.zeros((200, 28, 28, 3), "uint8"))
    assert_bad_input(*train(folder, out), "training images must be grey 2-D images", "(200, 28, 28, 3)")
    assert_no_run_folder(out)


def test_pixels_that_are_not_finite(tmp_path, out):
    pixels = np.full((60, 28, 28), 100.0, ">f4")
    pixels[5, 5, 5], pixels[6, 6, 6] = np.nan, -np.inf
    folder = digits_folder(tmp_path, t10k_images_idx3_ubyte=pixels)
    assert_bad_input(*train(folder, out), "2 validation pixels are not finite numbers")
    assert_no_run_folder(out)


def test_cvae_labels_that_are_not_digits(tmp_path, out):
    labels = np.arange(200, dtype="uint8") % 10
    labels[[3, 50, 51]] = [10, 12, 12]
    folder = digits_folder(tmp_path, train_labels_idx1_ubyte=labels)
    assert_bad_input(*train(folder, out, "-m", "cvae"),
                     "3 of 200 training labels are outside the classes 0-9 that the conditional VAE one-hot "
                     "encodes: 10, 12")
    assert_no_run_folder(out)


def test_a_batch_larger_than_the_training_set(tmp_path, out):
    folder = digits_folder(tmp_path)
    assert_bad_input(*train(folder, out, "-bs", "201"),
                     f"batch size 201 is larger than the 200 training images of idx:{folder}: choose at most 200")
    assert_no_run_folder(out)


def test_a_compressed_file_whose_header_promises_far_more_than_it_holds(tmp_path, out):
    folder = digits_folder(tmp_path)
    (folder / "train-images-idx3-ubyte").unlink()
    lying = folder / "train-images-idx3-ubyte.gz"
    lying.write_bytes(gzip.compress(idx_header((10**9, 28, 28)) + bytes(1_500_000)))
    assert_bad_input(*train(folder, out), f"IDX file {lying} is too large", "(1000000000, 28, 28)",
                     "784,000,000,000 bytes")
    assert_no_run_folder(out)


@pytest.mark.parametrize("command", ["train", "study"])
def test_bad_data_is_refused_before_tensorflow_loads(tmp_path, command):
    # TensorFlow takes seconds to load and prints lines that would bury the error; an IDX
    # folder needs none of it to be checked.
    folder = digits_folder(tmp_path, t10k_images_idx3_ubyte=np.zeros((60, 32, 32), "uint8"))
    argv = [command, "--dataset", f"idx:{folder}", "--out", str(tmp_path / "out"), "-bs", "50"]
    script = ("import sys, main\n"
              f"status = main.main({argv!r})\n"
              "print('tensorflow loaded' if 'tensorflow' in sys.modules else 'no tensorflow')\n"
              "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"main.py {command}: error: idx:{folder}: the training images are 28×28 but the validation images "
        f"are 32×32"]
    assert result.stdout.strip() == "no tensorflow"
    assert not (tmp_path / "out").exists()


# ----- study and evaluate -------------------------------------------------------------------------
def test_a_study_on_labels_its_classifier_cannot_learn(tmp_path):
    labels = np.arange(200, dtype="uint8") % 10
    labels[7] = 200
    folder = digits_folder(tmp_path, train_labels_idx1_ubyte=labels)
    reports = tmp_path / "reports"
    status, stdout, stderr = run_main(["study", "--dataset", f"idx:{folder}", "--out", reports, "-e", "1",
                                       "-bs", "50", "--latent-dim", "2", "--no-cvae", "--betas", "1"])
    assert_bad_input(status, stdout, stderr,
                     "1 of 200 training labels are outside the classes 0-9 that the evaluation classifier learns: 200")
    assert_no_run_folder(reports)


def test_a_study_batch_larger_than_the_training_set(tmp_path):
    folder = digits_folder(tmp_path)
    reports = tmp_path / "reports"
    status, stdout, stderr = run_main(["study", "--dataset", f"idx:{folder}", "--out", reports, "-bs", "1000"])
    assert_bad_input(status, stdout, stderr, "batch size 1,000 is larger than the 200 training images")
    assert_no_run_folder(reports)


def test_evaluate_on_a_test_folder_without_images(tmp_path):
    run_dir = write_fake_run(tmp_path / "run")
    tests = tmp_path / "tests"
    tests.mkdir()
    write_idx(tests / "t10k-images-idx3-ubyte", np.zeros((0, 28, 28), "uint8"))
    write_idx(tests / "t10k-labels-idx1-ubyte", np.zeros(0, "uint8"))
    status, stdout, stderr = run_main(["evaluate", run_dir, "--test-idx", tests])
    assert_bad_input(status, stdout, stderr, f"idx:{tests}: the test split has no images")
    assert not (run_dir / "evaluation.json").exists()
