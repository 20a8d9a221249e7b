"""load_dataset: choosing a source by name, and the offline fallbacks."""
import time

import pytest

from keras_models.config import ConfigError, check_dataset_name
from keras_models.data import load_dataset, shapes
from tests.helpers import write_digits_idx


def test_load_dataset_dispatches_by_name(tmp_path):
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    assert len(load_dataset(f"idx:{tmp_path}").train_x) == 10
    with pytest.raises(ConfigError, match="unknown dataset 'emnist'"):
        load_dataset("emnist")


def test_load_dataset_shapes_and_dsprites_are_known_names(monkeypatch):
    assert check_dataset_name("shapes") == "shapes" and check_dataset_name("dsprites") == "dsprites"
    calls = []
    monkeypatch.setattr(shapes, "load_shapes_split", lambda state=None: calls.append("shapes") or "the shapes split")
    assert load_dataset("shapes") == "the shapes split" and calls == ["shapes"]


def test_offline_fallback_to_mnist_5k(tmp_path, no_network):
    notices = []
    start = time.perf_counter()
    split = load_dataset("mnist", data_dir=str(tmp_path), notify=notices.append)
    assert time.perf_counter() - start < 10.0
    assert no_network == [("storage.googleapis.com", 443)]
    assert split.name == "mnist-5k"
    assert len(split.train_x) == 4500 and len(split.val_x) == 500
    assert "storage.googleapis.com is unreachable" in split.notice
    assert "using the offline mnist-5k set instead" in split.notice
    assert notices == [split.notice]


def test_dsprites_offline_falls_back_to_shapes(tmp_path, no_network, monkeypatch, tiny_split):
    monkeypatch.setattr(shapes, "load_shapes_split", lambda state=None: tiny_split)
    notices = []
    split = load_dataset("dsprites", data_dir=str(tmp_path), notify=notices.append)
    assert split is tiny_split
    assert "github.com is unreachable" in split.notice and "using the offline shapes set instead" in split.notice
    assert notices == [split.notice]
