"""Sets downloaded through tensorflow-datasets: the network probe, and failing fast offline."""
import socket
import threading
import time

import pytest

from keras_models.data import load_dataset, tfds_sets
from keras_models.data.base import DataError, DatasetUnavailable


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_reachable_is_false_quickly_for_a_refused_port():
    start = time.perf_counter()
    assert tfds_sets.network_reachable("127.0.0.1", unused_port(), timeout=3.0) is False
    assert time.perf_counter() - start < 1.0


def test_network_reachable_is_true_for_a_listening_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert tfds_sets.network_reachable("127.0.0.1", server.getsockname()[1], timeout=3.0) is True


def test_network_reachable_gives_up_after_its_timeout(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):  # a name lookup that never answers
        release.wait(10)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    try:
        assert tfds_sets.network_reachable("example.invalid", 443, timeout=0.3) is False
        assert time.perf_counter() - start < 2.0
    finally:
        release.set()


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_no_fallback_raises_dataset_unavailable(tmp_path, no_network, name):
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable, match=f"cannot download {name}: .* is unreachable"):
        load_dataset(name, data_dir=str(tmp_path), fallback=False)
    assert time.perf_counter() - start < 10.0


def test_fallback_checks_the_host_of_the_requested_set(tmp_path, monkeypatch):
    probed = []

    def unreachable(host, port, timeout):
        probed.append((host, port, timeout))
        return False

    monkeypatch.setattr(tfds_sets, "network_reachable", unreachable)
    split = load_dataset("fashion_mnist", data_dir=str(tmp_path), network_timeout=1.5)
    assert probed == [(*tfds_sets.TFDS_HOSTS["fashion_mnist"], 1.5)]
    assert split.name == "mnist-5k" and "fashion_mnist" in split.notice


def test_dsprites_offline_fails_fast_without_fallback(tmp_path, no_network):
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable, match="cannot download dsprites: github.com is unreachable"):
        load_dataset("dsprites", data_dir=str(tmp_path), fallback=False)
    assert time.perf_counter() - start < 10.0
    assert no_network == [("github.com", 443)]


def test_a_downloaded_set_without_training_images_is_refused(monkeypatch):
    import tensorflow as tf

    class EmptyTrainingSplit:  # what a damaged download could hand back
        def as_dataset(self, split, batch_size, as_supervised):
            return [(tf.zeros((0, 28, 28, 1), tf.uint8), tf.zeros((0,), tf.int64)),
                    (tf.zeros((3, 28, 28, 1), tf.uint8), tf.zeros((3,), tf.int64))]

    monkeypatch.setattr(tfds_sets, "_prepared_builder", lambda name, data_dir, timeout: EmptyTrainingSplit())
    with pytest.raises(DataError, match="^mnist: the training split has no images$"):
        load_dataset("mnist", fallback=False)
