"""A training, study or measurement refuses data it cannot use before it writes anything."""
import numpy as np
import pytest

from keras_models.config import ConfigError
from keras_models.data import DataError, DataSplit
from keras_models.run_evaluation import measurement_split
from keras_models.study import StudyConfig
from keras_models.study.runner import run_study
from keras_models.training import TrainingSession
from tests.helpers import make_digits, small_config


def digits(n_train=60, n_val=20, bad_labels=()):
    train_x, train_y = make_digits(n_train, seed=1)
    val_x, val_y = make_digits(n_val, seed=2)
    train_y[:len(bad_labels)] = bad_labels
    return DataSplit("digits", train_x, train_y, val_x, val_y)


@pytest.mark.parametrize("model, batch_size, bad_labels, error, message", [
    ("cvae", 20, (10, 11, 10), DataError, "3 of 60 training labels are outside the classes 0-9 that the "
                                          "conditional VAE one-hot encodes: 10, 11"),
    ("bvae", 61, (), ConfigError, "batch size 61 is larger than the 60 training images of digits"),
])
def test_a_session_refuses_before_the_run_folder_is_made(tmp_path, model, batch_size, bad_labels, error, message):
    out = tmp_path / "runs"
    config = small_config(out, model=model, batch_size=batch_size)
    with pytest.raises(error, match=message):
        TrainingSession.new(config, data=digits(bad_labels=bad_labels))
    assert not out.exists()


def test_a_study_refuses_labels_its_classifier_cannot_learn_before_the_report_folder(tmp_path):
    out = tmp_path / "reports"
    config = StudyConfig(training=small_config(out, batch_size=20), betas=(1.0,), include_cvae=False, k=2,
                         out=str(out))
    with pytest.raises(DataError, match="1 of 60 training labels are outside the classes 0-9 that the "
                                        "evaluation classifier learns: 12$"):
        run_study(config, data=digits(bad_labels=(12,)))
    assert not out.exists()


def test_a_test_set_with_labels_that_are_not_digits_cannot_be_measured_on():
    images, labels = make_digits(15, seed=5)
    labels[3] = -2
    with pytest.raises(DataError, match="1 of 15 validation labels are outside the classes 0-9 .*: -2$"):
        measurement_split(digits(), (images, labels))
    with pytest.raises(DataError, match="the validation split has no images"):
        measurement_split(digits(), (images[:0], labels[:0]))
    np.testing.assert_array_equal(measurement_split(digits(), (images, labels % 10)).val_y, labels % 10)
