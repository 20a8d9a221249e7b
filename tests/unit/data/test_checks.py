"""Data that cannot train is refused where a split is made, with a message naming the bad value."""
import dataclasses

import numpy as np
import pytest

from keras_models.config import ConfigError
from keras_models.data import DataError, DataSplit, base, check_training_data, load_idx_folder, load_idx_test_set
from tests.helpers import make_digits, small_config, write_digits_idx, write_idx


def arrays(n_train=40, n_val=20, size=28):
    train_x, train_y = make_digits(n_train, seed=1, size=size)
    val_x, val_y = make_digits(n_val, seed=2, size=size)
    return {"train_x": train_x, "train_y": train_y, "val_x": val_x, "val_y": val_y}


def with_pixel(images, value, count=1):
    images = images.copy()
    images.reshape(-1)[:count] = value
    return images


BAD_SPLITS = {
    "empty training split": (lambda a: {**a, "train_x": a["train_x"][:0], "train_y": a["train_y"][:0]},
                             "the training split has no images"),
    "empty validation split": (lambda a: {**a, "val_x": a["val_x"][:0], "val_y": a["val_y"][:0]},
                               "the validation split has no images"),
    "sizes differ": (lambda a: {**a, "val_x": arrays(size=32)["val_x"]},
                     "the training images are 28×28 but the validation images are 32×32"),
    "counts differ": (lambda a: {**a, "train_y": a["train_y"][:-3]},
                      r"the training images and labels do not match: images \(40, 28, 28, 1\), labels \(37,\)"),
    "NaN pixels": (lambda a: {**a, "train_x": with_pixel(a["train_x"], np.nan, 3)},
                   "3 training pixels are not finite numbers"),
    "infinite pixels": (lambda a: {**a, "val_x": with_pixel(a["val_x"], np.inf)},
                        "1 validation pixels are not finite numbers"),
    "grey levels 0-255": (lambda a: {**a, "train_x": a["train_x"] * 255},
                          r"the training pixels must be grey levels in \[0, 1\], found values from 0\.0\d+ to 25\d\."),
    "colour images": (lambda a: {**a, "train_x": np.repeat(a["train_x"], 3, axis=-1)},
                      r"the training images must be grey 2-D images .* got shape \(40, 28, 28, 3\)"),
    "flat images": (lambda a: {**a, "val_x": a["val_x"].reshape(20, -1)},
                    r"the validation images must be grey 2-D images .* got shape \(20, 784\)"),
    "fractional labels": (lambda a: {**a, "train_y": a["train_y"] + 0.5},
                          "the training labels must be whole numbers, got float64 values"),
}


@pytest.mark.parametrize("case", BAD_SPLITS)
def test_a_split_that_cannot_train_is_refused_when_made(case):
    change, message = BAD_SPLITS[case]
    with pytest.raises(DataError, match=f"^my set: {message}"):
        DataSplit("my set", **change(arrays()))


def test_factors_must_have_a_row_per_image():
    a = arrays()
    with pytest.raises(DataError, match=r"training factors have shape \(39, 2\), expected \(40, 2\)"):
        DataSplit("f", **a, train_factors=np.zeros((39, 2), "int32"), val_factors=np.zeros((20, 2), "int32"),
                  factor_names=("shape", "scale"))


def test_a_split_cut_or_replaced_later_is_checked_again():
    split = DataSplit("s", **arrays())
    with pytest.raises(DataError, match="validation split has no images"):
        dataclasses.replace(split, val_x=split.val_x[:0], val_y=split.val_y[:0])


def test_to_images_keeps_infinity_for_the_check_to_count():
    pixels = np.array([[[np.inf, 510.0], [-np.inf, 51.0]]], dtype=">f4")
    images = base.to_images(pixels)
    assert np.isinf(images[0, 0, 0, 0]) and np.isinf(images[0, 1, 0, 0])
    np.testing.assert_allclose(images[0, :, 1, 0], [1.0, 0.2], rtol=1e-6)


# ----- idx: sources ------------------------------------------------------------------------------
@pytest.mark.parametrize("stem, array, message", [
    ("train-images-idx3-ubyte", np.zeros((0, 28, 28), "uint8"), "the training split has no images"),
    ("t10k-images-idx3-ubyte", np.zeros((60, 32, 32), "uint8"),
     "the training images are 28×28 but the validation images are 32×32"),
    ("train-images-idx3-ubyte", np.zeros((200, 28, 28, 3), "uint8"),
     r"the training images must be grey 2-D images .* got shape \(200, 28, 28, 3\)"),
    ("train-labels-idx1-ubyte", np.full(200, 2.5, ">f4"), "the training labels must be whole numbers, got >f4"),
])
def test_an_idx_folder_that_cannot_train_is_refused(tmp_path, stem, array, message):
    write_digits_idx(tmp_path, n_train=200, n_val=60)
    if stem.startswith("train-images") and len(array) == 0:
        write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(0, "uint8"))
    write_idx(tmp_path / stem, array)
    with pytest.raises(DataError, match=f"^idx:{tmp_path}: {message}"):
        load_idx_folder(tmp_path)


def test_idx_images_with_infinite_grey_levels_are_counted(tmp_path):
    arrays_ = write_digits_idx(tmp_path, n_train=30, n_val=10)
    pixels = arrays_["train-images-idx3-ubyte"].astype(">f4")
    pixels[0, 0, :2] = [np.inf, np.nan]
    write_idx(tmp_path / "train-images-idx3-ubyte", pixels)
    with pytest.raises(DataError, match="2 training pixels are not finite numbers"):
        load_idx_folder(tmp_path)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((0, 28, 28), "uint8"), np.zeros(0, "uint8"), "the test split has no images"),
    (np.zeros((5, 28, 28), "uint8"), np.zeros(4, "uint8"), r"the test images and labels do not match"),
    (np.zeros((5, 784), "uint8"), np.zeros(5, "uint8"), r"the test images must be grey 2-D images .* \(5, 784\)"),
])
def test_an_idx_test_set_that_cannot_be_measured_on_is_refused(tmp_path, images, labels, message):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match=f"^idx:{tmp_path}: {message}"):
        load_idx_test_set(tmp_path)


# ----- labels as classes, and what a training needs of its data ----------------------------------
def test_class_labels_name_the_bad_values_and_their_count():
    a = arrays()
    a["train_y"][:7] = [10, 12, 10, -1, 99, 300, 1000]
    split = DataSplit("digits", **a)
    with pytest.raises(DataError, match="^digits: 7 of 40 training labels are outside the classes 0-9 that "
                                        "the thing one-hot encodes: -1, 10, 12, 99, 300 and 1 other values$"):
        split.check_classes(10, "the thing one-hot encodes")


def test_a_cvae_refuses_labels_that_are_not_digits_where_a_vae_trains(tmp_path):
    a = arrays()
    a["val_y"][:2] = 10
    split = DataSplit("digits", **a)
    with pytest.raises(DataError, match="2 of 20 validation labels are outside the classes 0-9 that the "
                                        "conditional VAE one-hot encodes: 10$"):
        check_training_data(small_config(tmp_path, model="cvae", batch_size=10), split)
    assert check_training_data(small_config(tmp_path, batch_size=10), split) is split


def test_a_batch_larger_than_the_training_set_is_refused(tmp_path):
    split = DataSplit("tiny", **arrays(n_train=40))
    with pytest.raises(ConfigError, match="^batch size 41 is larger than the 40 training images of tiny: "
                                          "choose at most 40$"):
        check_training_data(small_config(tmp_path, batch_size=41), split)
    assert check_training_data(small_config(tmp_path, batch_size=40), split) is split


@pytest.mark.parametrize("size, arch, message", [
    (300, "mlp", r"image shape must be \(height, width, 1\) with sides from 1 to 256, got \(300, 300, 1\)"),
    (30, "conv", r"the conv architecture needs image sides divisible by 4, got \(30, 30, 1\)"),
])
def test_images_no_network_can_take_are_refused_before_tensorflow(tmp_path, size, arch, message):
    split = DataSplit("big", **arrays(n_train=4, n_val=2, size=size))
    with pytest.raises(DataError, match=f"^big: {message}"):
        check_training_data(small_config(tmp_path, batch_size=2, arch=arch), split)
