"""folder:DIR, a user's own images with one sub-folder per class."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_models.config import ConfigError, TrainConfig
from keras_models.data import DataError, load_dataset
from keras_models.data.folder import load_image_folder
from tests.helpers import assert_bad_input, assert_no_run_folder, make_digits, run_main


def write_class_folders(root, classes=("cat", "dog"), per_class=10, size=28, fmt="PNG"):
    """Sub-folders of synthetic digits saved as images; returns the pixel arrays written, per class."""
    images, _ = make_digits(per_class * len(classes), seed=5, size=size)
    written = {}
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        written[name] = []
        for i in range(per_class):
            pixels = (images[c * per_class + i, ..., 0] * 255).round().astype("uint8")
            Image.fromarray(pixels, mode="L").save(root / name / f"{i:02d}.{fmt.lower()}", fmt)
            written[name].append(pixels)
    return written


def test_classes_are_sorted_sub_folders_and_every_fifth_file_is_validation(tmp_path):
    written = write_class_folders(tmp_path, classes=("zebra", "ant"), per_class=25)
    data = load_dataset(f"folder:{tmp_path}")
    assert data.name == f"folder:{tmp_path}"
    # ant sorts first: label 0; 20 training and 5 validation images per class, the classes in turn.
    assert data.train_y.tolist() == [0, 1] * 20
    assert data.val_y.tolist() == [0, 1] * 5
    assert data.train_x.shape == (40, 28, 28, 1) and data.val_x.dtype == np.float32
    # The 5th, 10th … files by name (04.png, 09.png …) are the validation images, pixels kept.
    np.testing.assert_allclose(data.val_x[0, ..., 0], written["ant"][4] / 255.0, atol=1e-6)
    np.testing.assert_allclose(data.val_x[9, ..., 0], written["zebra"][24] / 255.0, atol=1e-6)
    np.testing.assert_allclose(data.train_x[1, ..., 0], written["zebra"][0] / 255.0, atol=1e-6)
    np.testing.assert_allclose(data.train_x[6, ..., 0], written["ant"][3] / 255.0, atol=1e-6)
    assert data.notice is None


def test_mixed_sizes_and_colour_images_become_28_by_28_grey(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for i in range(25):
        Image.new("RGB", (64, 40), (255, 255, 255)).save(tmp_path / "a" / f"{i}.jpg")
        Image.new("L", (13, 13), 0).save(tmp_path / "b" / f"{i}.bmp")
    data = load_image_folder(tmp_path)
    assert data.image_shape == (28, 28, 1)
    assert data.val_x[0].min() > 0.95  # white, resized from 64×40 colour
    assert data.val_x[1].max() == 0.0  # black, resized from 13×13


@pytest.mark.parametrize("name, make", [
    # A 16-bit scan: its levels are out of 65,535, not clipped at 255.
    ("16bit.png", lambda square: Image.fromarray((square * 30_000).astype("uint16"))),
    # Floats in [0, 1], as scientific tools write them: not read as 0 or 1 out of 255.
    ("float.tiff", lambda square: Image.fromarray((square * 0.5).astype("float32"))),
    # Black strokes on a transparent ground: the ground a viewer shows (white), not its hidden black.
    ("alpha.png", lambda square: Image.fromarray(np.dstack([np.zeros((28, 28, 3), "uint8"),
                                                            (square * 255).astype("uint8")]), "RGBA")),
])
def test_images_beyond_8_bit_grey_keep_what_they_show(tmp_path, name, make):
    from keras_models.data.folder import read_image

    square = np.zeros((28, 28))
    square[8:20, 8:20] = 1.0
    make(square).save(tmp_path / name)
    grey = read_image(tmp_path / name)
    centre, corner = float(grey[14, 14]), float(grey[0, 0])
    expected = {"16bit.png": (30_000 / 65_535, 0.0), "float.tiff": (0.5, 0.0), "alpha.png": (0.0, 1.0)}[name]
    assert (centre, corner) == pytest.approx(expected, abs=0.01)


def test_unreadable_files_are_skipped_and_named_in_the_notice(tmp_path):
    write_class_folders(tmp_path, per_class=25)
    (tmp_path / "cat" / "notes.txt").write_text("not a picture")
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\0\0")  # hidden: ignored, not reported
    data = load_image_folder(tmp_path)
    assert len(data.train_x) + len(data.val_x) == 50
    assert data.notice.startswith("skipped 2 files")
    assert "cat/notes.txt" in data.notice and "dog/broken.png" in data.notice and ".DS_Store" not in data.notice


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "image folder not found"),
    (lambda root: root.mkdir(), "the folder is empty"),
    (lambda root: (root.mkdir(), (root / "a.png").write_bytes(b"x")), "no class sub-folders"),
    (lambda root: [(root / str(c)).mkdir(parents=True) for c in range(11)], "11 class sub-folders"),
    (lambda root: [(root / c).mkdir(parents=True) for c in "ab"], "hold no files"),
])
def test_unusable_folders_are_refused_in_one_line(tmp_path, make, message):
    root = tmp_path / "images"
    make(root)
    with pytest.raises(DataError, match=message) as caught:
        load_image_folder(root)
    assert "\n" not in str(caught.value)


def test_too_few_images_for_the_previews_are_refused(tmp_path):
    write_class_folders(tmp_path, per_class=24)  # 4 validation images per class
    with pytest.raises(DataError, match="gives 8"):
        load_image_folder(tmp_path)


def test_a_class_with_no_readable_image_is_named(tmp_path):
    write_class_folders(tmp_path, per_class=5)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.png").write_text("text")
    with pytest.raises(DataError, match="'empty'"):
        load_image_folder(tmp_path)


def test_the_path_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(dataset="folder:images").validate()
    assert config.dataset == f"folder:{tmp_path / 'images'}"
    with pytest.raises(ConfigError, match="folder:DIR"):
        TrainConfig(dataset="folder:").validate()


def test_cli_refuses_a_missing_folder_before_writing(tmp_path):
    out = tmp_path / "runs"
    status, stdout, stderr = run_main(["train", "--dataset", f"folder:{tmp_path / 'nothing'}", "--out", out])
    assert_bad_input(status, stdout, stderr, "image folder not found", "nothing")
    assert_no_run_folder(out)


def test_a_folder_without_classes_is_refused_before_tensorflow_loads(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "one.png").write_bytes(b"x")
    code = ("import sys, main\n"
            "status = main.main(sys.argv[1:])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code, "train", "--dataset", f"folder:{tmp_path / 'images'}",
                             "--out", str(tmp_path / "runs")], cwd=Path(__file__).parents[3],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"main.py train: error: folder:{tmp_path / 'images'}: no class sub-folders; put the images of each class in "
        f"a sub-folder of its own (for example {tmp_path / 'images' / '0'}, {tmp_path / 'images' / '1'} …)"]
    assert not (tmp_path / "runs").exists()


def test_a_tiny_training_on_a_folder_set(tmp_path):
    write_class_folders(tmp_path / "images", classes=tuple("01234"), per_class=10)
    out = tmp_path / "runs"
    status, stdout, stderr = run_main(["train", "--dataset", f"folder:{tmp_path / 'images'}", "-e", "1", "-bs", "16",
                                       "--latent-dim", "2", "--precision", "float32", "--out", out])
    assert status == 0, stderr
    (run_dir,) = out.iterdir()
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["dataset"] == f"folder:{tmp_path / 'images'}"
    assert saved["data"]["train"] == 40 and saved["data"]["validation"] == 10
    assert (run_dir / "model.keras").exists()
    assert not (run_dir / "tensorboard").exists()  # only with --tensorboard
