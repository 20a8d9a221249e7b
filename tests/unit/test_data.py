"""Data sources: IDX files, the offline mnist-5k set, the offline fallback and tf.data pipelines."""
import gzip
import socket
import threading
import time

import numpy as np
import pytest

from keras_models import data
from keras_models.config import ConfigError
from keras_models.data import DataError, DatasetUnavailable
from tests.helpers import idx_bytes, write_digits_idx, write_idx


# ----- reading IDX files -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trip_uint8(tmp_path, name):
    array = np.arange(3 * 4 * 5, dtype="uint8").reshape(3, 4, 5)
    path = write_idx(tmp_path / name, array)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really compressed
    got = data.read_idx(path)
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)


def test_read_idx_header_is_parsed_by_hand(tmp_path):
    raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])  # three unsigned bytes: 7, 8, 9
    (tmp_path / "labels").write_bytes(raw)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "labels"), [7, 8, 9])


@pytest.mark.parametrize("dtype", ["int8", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_other_element_types(tmp_path, dtype):
    array = (np.arange(6).reshape(2, 3) - 2).astype(dtype)
    got = data.read_idx(write_idx(tmp_path / "x", array))
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got, array)


def test_missing_idx_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="missing IDX file: .*nothing-here"):
        data.read_idx(tmp_path / "nothing-here")


def test_truncated_idx_file_is_a_data_error(tmp_path):
    raw = idx_bytes(np.zeros((4, 5, 5), dtype="uint8"))
    (tmp_path / "cut-idx3-ubyte").write_bytes(raw[:-7])
    with pytest.raises(DataError, match=r"cut-idx3-ubyte.*expected 100 bytes .* found 93"):
        data.read_idx(tmp_path / "cut-idx3-ubyte")


def test_idx_file_with_trailing_bytes_is_a_data_error(tmp_path):
    raw = idx_bytes(np.zeros((2, 3), dtype="uint8"))
    (tmp_path / "long").write_bytes(raw + b"\x00\x01")
    with pytest.raises(DataError, match=r"long: expected 6 bytes of data for shape \(2, 3\), found 8"):
        data.read_idx(tmp_path / "long")


def test_header_cut_short_is_a_data_error(tmp_path):
    (tmp_path / "short").write_bytes(bytes([0, 0, 0x08, 3, 0, 0, 0, 4]))
    with pytest.raises(DataError, match="short: header cut short"):
        data.read_idx(tmp_path / "short")


@pytest.mark.parametrize("head", [b"\x12\x34\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00"])
def test_wrong_magic_number_is_a_data_error(tmp_path, head):
    (tmp_path / "odd-idx1-ubyte").write_bytes(head + bytes(8))
    with pytest.raises(DataError, match="corrupt IDX file .*odd-idx1-ubyte: not an IDX header"):
        data.read_idx(tmp_path / "odd-idx1-ubyte")


def test_bad_gzip_is_a_data_error(tmp_path):
    (tmp_path / "labels.gz").write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match="unreadable IDX file .*labels.gz"):
        data.read_idx(tmp_path / "labels.gz")


def test_truncated_gzip_is_a_data_error(tmp_path):
    whole = gzip.compress(idx_bytes(np.arange(200, dtype="uint8")))
    (tmp_path / "labels.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="labels.gz"):
        data.read_idx(tmp_path / "labels.gz")


# ----- IDX folders -------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_folder(tmp_path, gz):
    arrays = write_digits_idx(tmp_path, n_train=30, n_val=12, gz=gz)
    split = data.load_idx_folder(tmp_path)
    assert split.name == f"idx:{tmp_path}"
    assert split.train_x.shape == (30, 28, 28, 1) and split.val_x.shape == (12, 28, 28, 1)
    assert split.train_x.dtype == np.float32 and split.train_y.dtype == np.int32
    np.testing.assert_allclose(split.train_x[..., 0], arrays["train-images-idx3-ubyte"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(split.val_y, arrays["t10k-labels-idx1-ubyte"])
    assert split.image_shape == (28, 28, 1)
    assert split.describe().endswith("30 training and 12 validation images")


def test_load_idx_folder_mixes_plain_and_gz_files(tmp_path):
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    assert len(data.load_idx_folder(tmp_path).val_y) == 5


def test_load_idx_folder_errors(tmp_path):
    with pytest.raises(DataError, match="IDX folder not found"):
        data.load_idx_folder(tmp_path / "absent")
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match=r"missing IDX file: .*t10k-images-idx3-ubyte\[\.gz\]"):
        data.load_idx_folder(tmp_path)


def test_load_idx_folder_refuses_mismatched_counts(tmp_path):
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(9, dtype="uint8"))
    with pytest.raises(DataError, match=r"do not match: train images \(10, 28, 28\), labels \(9,\)"):
        data.load_idx_folder(tmp_path)


def test_load_dataset_dispatches_by_name(tmp_path):
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    assert len(data.load_dataset(f"idx:{tmp_path}").train_x) == 10
    with pytest.raises(ConfigError, match="unknown dataset 'emnist'"):
        data.load_dataset("emnist")


# ----- small helpers ------------------------------------------------------------------------------
def test_to_images_scales_grey_levels():
    got = data.to_images(np.array([[[0, 51], [255, 102]]], dtype="uint8"))
    assert got.shape == (1, 2, 2, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[0, :, :, 0], [[0.0, 0.2], [1.0, 0.4]], rtol=1e-6)


def test_binarize_fixed_is_seeded():
    images = np.full((50, 28, 28, 1), 0.3, dtype="float32")
    a, b = data.binarize_fixed(images, 1), data.binarize_fixed(images, 1)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a).tolist()) == {0.0, 1.0}
    assert a.mean() == pytest.approx(0.3, abs=0.01)
    assert not np.array_equal(a, data.binarize_fixed(images, 2))


# ----- the offline set ---------------------------------------------------------------------------
def test_mnist_5k_split():
    split = data.load_mnist_5k()
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

    again = data.load_mnist_5k()
    np.testing.assert_array_equal(again.train_x, split.train_x)
    np.testing.assert_array_equal(again.val_y, split.val_y)
    np.testing.assert_array_equal(data.load_dataset("mnist-5k").val_x, split.val_x)


# ----- the network probe and the offline fallback -------------------------------------------------
def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_reachable_is_false_quickly_for_a_refused_port():
    start = time.perf_counter()
    assert data.network_reachable("127.0.0.1", unused_port(), timeout=3.0) is False
    assert time.perf_counter() - start < 1.0


def test_network_reachable_is_true_for_a_listening_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert data.network_reachable("127.0.0.1", server.getsockname()[1], timeout=3.0) is True


def test_network_reachable_gives_up_after_its_timeout(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):  # a name lookup that never answers
        release.wait(10)
        raise OSError("gave up")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    try:
        assert data.network_reachable("example.invalid", 443, timeout=0.3) is False
        assert time.perf_counter() - start < 2.0
    finally:
        release.set()


def test_offline_fallback_to_mnist_5k(tmp_path, no_network):
    notices = []
    start = time.perf_counter()
    split = data.load_dataset("mnist", data_dir=str(tmp_path), notify=notices.append)
    assert time.perf_counter() - start < 10.0
    assert no_network == [("storage.googleapis.com", 443)]
    assert split.name == "mnist-5k"
    assert len(split.train_x) == 4500 and len(split.val_x) == 500
    assert "storage.googleapis.com is unreachable" in split.notice
    assert "using the offline mnist-5k set instead" in split.notice
    assert notices == [split.notice]


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_no_fallback_raises_dataset_unavailable(tmp_path, no_network, name):
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable, match=f"cannot download {name}: .* is unreachable"):
        data.load_dataset(name, data_dir=str(tmp_path), fallback=False)
    assert time.perf_counter() - start < 10.0


def test_fallback_checks_the_host_of_the_requested_set(tmp_path, monkeypatch):
    probed = []

    def unreachable(host, port, timeout):
        probed.append((host, port, timeout))
        return False

    monkeypatch.setattr(data, "network_reachable", unreachable)
    split = data.load_dataset("fashion_mnist", data_dir=str(tmp_path), network_timeout=1.5)
    assert probed == [(*data.TFDS_HOSTS["fashion_mnist"], 1.5)]
    assert split.name == "mnist-5k" and "fashion_mnist" in split.notice


# ----- tf.data pipelines ----------------------------------------------------------------------------
def test_pipeline_batches_keep_images_with_their_labels():
    n = 23
    images = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    labels = np.arange(n, dtype="int32")
    epochs = []
    ds = data.make_pipeline(images, labels, batch_size=5, shuffle=True, seed=3)
    for _ in range(2):
        seen = []
        sizes = []
        for x, y in ds:
            x, y = x.numpy(), y.numpy()
            sizes.append(len(y))
            np.testing.assert_array_equal(x[:, 0, 0, 0], y.astype("float32"))
            seen.extend(y.tolist())
        assert sizes == [5, 5, 5, 5, 3]
        assert sorted(seen) == list(range(n))
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    assert epochs[0] != list(range(n))

    in_order = [y for _, ys in data.make_pipeline(images, labels, 10, shuffle=False) for y in ys.numpy()]
    assert in_order == list(range(n))
