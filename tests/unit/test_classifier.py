"""The study's digit classifier: it learns, caches per data set and reloads without retraining."""
import json

import numpy as np
import pytest

from keras_models import classifier
from keras_models.classifier import (
    TrainedClassifier, build_classifier, default_cache_dir, default_epochs, features, file_safe,
    load_or_train_classifier, predict,
)
from keras_models.events import Stopped
from keras_models.data import DataSplit
from tests.helpers import StopAfter, make_digits


@pytest.fixture
def split():
    train_x, train_y = make_digits(600, seed=1)
    val_x, val_y = make_digits(200, seed=2)
    return DataSplit("tiny:set/1", train_x, train_y, val_x, val_y)


def refuse_training(*args, **kwargs):
    raise AssertionError("the cached classifier should have been used")


def quick_training(calls):
    """A stand-in for train_classifier that records its calls and skips the training."""
    def train(data, epochs=None, seed=0, state=None):
        calls.append(data.name)
        return TrainedClassifier(build_classifier(data.image_shape, seed), data.name, test_accuracy=0.25)
    return train


def test_classifier_learns_caches_and_reloads(split, tmp_path, monkeypatch):
    trained = load_or_train_classifier(split, cache_dir=tmp_path, epochs=4)
    assert trained.test_accuracy > 0.6  # chance is 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_set_1.json", "tiny_set_1.keras"]
    info = json.loads((tmp_path / "tiny_set_1.json").read_text())
    assert info["dataset"] == "tiny:set/1" and info["test_accuracy"] == trained.test_accuracy

    monkeypatch.setattr(classifier, "train_classifier", refuse_training)
    loaded = load_or_train_classifier(split, cache_dir=tmp_path)
    assert loaded.test_accuracy == trained.test_accuracy
    np.testing.assert_array_equal(predict(loaded, split.val_x), predict(trained, split.val_x))
    np.testing.assert_allclose(features(loaded, split.val_x[:20]), features(trained, split.val_x[:20]),
                               rtol=1e-5, atol=1e-6)


def test_features_and_predictions_shapes(split):
    untrained = TrainedClassifier(build_classifier(seed=0), split.name, test_accuracy=0.0)
    assert features(untrained, split.val_x[:7]).shape == (7, 128)
    labels = predict(untrained, split.val_x[:7])
    assert labels.shape == (7,) and labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() <= 9


def test_changed_data_is_retrained(split, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(classifier, "train_classifier", quick_training(calls))
    load_or_train_classifier(split, cache_dir=tmp_path)
    load_or_train_classifier(split, cache_dir=tmp_path)
    assert len(calls) == 1
    split.val_y = (split.val_y + 1) % 10  # same name, different data
    load_or_train_classifier(split, cache_dir=tmp_path)
    assert len(calls) == 2


def test_unreadable_cache_is_replaced(split, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(classifier, "train_classifier", quick_training(calls))
    load_or_train_classifier(split, cache_dir=tmp_path)
    (tmp_path / "tiny_set_1.keras").write_bytes(b"not a zip file")
    assert load_or_train_classifier(split, cache_dir=tmp_path).test_accuracy == 0.25
    assert len(calls) == 2
    (tmp_path / "tiny_set_1.json").write_text("{broken")
    load_or_train_classifier(split, cache_dir=tmp_path)
    assert len(calls) == 3
    # The rebuilt entry is whole again.
    load_or_train_classifier(split, cache_dir=tmp_path)
    assert len(calls) == 3


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "vae-studio" / "classifiers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "vae-studio" / "classifiers"
    assert file_safe("idx:/data/my set") == "idx__data_my_set"
    assert file_safe("mnist-5k") == "mnist-5k"


def test_small_training_sets_get_more_epochs():
    assert default_epochs(60_000) == 2
    assert default_epochs(4_500) == 9


def test_stop_ends_classifier_training_within_a_batch_and_caches_nothing(split, tmp_path):
    stop = StopAfter(5)
    with pytest.raises(Stopped):
        load_or_train_classifier(split, cache_dir=tmp_path / "cache", epochs=4, state=stop)
    assert stop.looks == 5  # 4 epochs of 5 batches would have looked 20 times
    assert not (tmp_path / "cache").exists()
