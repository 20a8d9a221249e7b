"""IDX files: reading one by hand-parsed header, and loading a folder of four."""
import gzip

import numpy as np
import pytest

from keras_models.data import idx
from keras_models.data.base import DataError
from tests.helpers import idx_bytes, write_digits_idx, write_idx


# ----- reading IDX files -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trip_uint8(tmp_path, name):
    array = np.arange(3 * 4 * 5, dtype="uint8").reshape(3, 4, 5)
    path = write_idx(tmp_path / name, array)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really compressed
    got = idx.read_idx(path)
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)


def test_read_idx_header_is_parsed_by_hand(tmp_path):
    raw = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])  # three unsigned bytes: 7, 8, 9
    (tmp_path / "labels").write_bytes(raw)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "labels"), [7, 8, 9])


@pytest.mark.parametrize("dtype", ["int8", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_other_element_types(tmp_path, dtype):
    array = (np.arange(6).reshape(2, 3) - 2).astype(dtype)
    got = idx.read_idx(write_idx(tmp_path / "x", array))
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got, array)


def test_missing_idx_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="missing IDX file: .*nothing-here"):
        idx.read_idx(tmp_path / "nothing-here")


def test_truncated_idx_file_is_a_data_error(tmp_path):
    raw = idx_bytes(np.zeros((4, 5, 5), dtype="uint8"))
    (tmp_path / "cut-idx3-ubyte").write_bytes(raw[:-7])
    with pytest.raises(DataError, match=r"cut-idx3-ubyte.*expected 100 bytes .* found 93"):
        idx.read_idx(tmp_path / "cut-idx3-ubyte")


def test_idx_file_with_trailing_bytes_is_a_data_error(tmp_path):
    raw = idx_bytes(np.zeros((2, 3), dtype="uint8"))
    (tmp_path / "long").write_bytes(raw + b"\x00\x01")
    with pytest.raises(DataError, match=r"long: expected 6 bytes of data for shape \(2, 3\), found 8"):
        idx.read_idx(tmp_path / "long")


def test_header_cut_short_is_a_data_error(tmp_path):
    (tmp_path / "short").write_bytes(bytes([0, 0, 0x08, 3, 0, 0, 0, 4]))
    with pytest.raises(DataError, match="short: header cut short"):
        idx.read_idx(tmp_path / "short")


@pytest.mark.parametrize("head", [b"\x12\x34\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00"])
def test_wrong_magic_number_is_a_data_error(tmp_path, head):
    (tmp_path / "odd-idx1-ubyte").write_bytes(head + bytes(8))
    with pytest.raises(DataError, match="corrupt IDX file .*odd-idx1-ubyte: not an IDX header"):
        idx.read_idx(tmp_path / "odd-idx1-ubyte")


def test_bad_gzip_is_a_data_error(tmp_path):
    (tmp_path / "labels.gz").write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match="unreadable IDX file .*labels.gz"):
        idx.read_idx(tmp_path / "labels.gz")


def test_truncated_gzip_is_a_data_error(tmp_path):
    whole = gzip.compress(idx_bytes(np.arange(200, dtype="uint8")))
    (tmp_path / "labels.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="labels.gz"):
        idx.read_idx(tmp_path / "labels.gz")


# ----- IDX folders -------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_folder(tmp_path, gz):
    arrays = write_digits_idx(tmp_path, n_train=30, n_val=12, gz=gz)
    split = idx.load_idx_folder(tmp_path)
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
    assert len(idx.load_idx_folder(tmp_path).val_y) == 5


def test_load_idx_folder_errors(tmp_path):
    with pytest.raises(DataError, match="IDX folder not found"):
        idx.load_idx_folder(tmp_path / "absent")
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match=r"missing IDX file: .*t10k-images-idx3-ubyte\[\.gz\]"):
        idx.load_idx_folder(tmp_path)


def test_load_idx_folder_refuses_mismatched_counts(tmp_path):
    write_digits_idx(tmp_path, n_train=10, n_val=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(9, dtype="uint8"))
    with pytest.raises(DataError, match=r"training images and labels do not match: images \(10, 28, 28, 1\), "
                                        r"labels \(9,\)"):
        idx.load_idx_folder(tmp_path)
