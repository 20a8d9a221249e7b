"""The bottom layer: pixel conversions, the fixed binarisation and the split's optional factors."""
import numpy as np
import pytest

from keras_models.data import base


def test_to_images_scales_grey_levels():
    got = base.to_images(np.array([[[0, 51], [255, 102]]], dtype="uint8"))
    assert got.shape == (1, 2, 2, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[0, :, :, 0], [[0.0, 0.2], [1.0, 0.4]], rtol=1e-6)


def test_binarize_fixed_is_seeded():
    images = np.full((50, 28, 28, 1), 0.3, dtype="float32")
    a, b = base.binarize_fixed(images, 1), base.binarize_fixed(images, 1)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a).tolist()) == {0.0, 1.0}
    assert a.mean() == pytest.approx(0.3, abs=0.01)
    assert not np.array_equal(a, base.binarize_fixed(images, 2))


def test_other_splits_have_no_factors(tiny_split):
    assert tiny_split.train_factors is None and tiny_split.val_factors is None and tiny_split.factor_names == ()
