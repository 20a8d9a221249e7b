"""IDX files whose header promises more (or less) data than the file holds: refused from the
header, or while streaming, without ever holding what the header claimed."""
import gzip
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from keras_models.data import idx
from keras_models.data.base import DataError
from tests.helpers import idx_bytes, idx_header

MB = 1 << 20


def measured(read, path):
    """(the DataError ``read(path)`` raised, seconds taken, peak bytes traced while reading)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataError) as caught:
            read(path)
        return caught.value, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape, claimed", [
    ((10**9, 28, 28), "784,000,000,000"),
    # Sizes near 2**32 each: a product in fixed-width integers would wrap round to a small number.
    ((2**32 - 1, 2**32 - 1, 2**32 - 1), f"{(2**32 - 1) ** 3:,}"),
])
def test_a_header_claiming_more_than_the_limit_is_refused_before_any_data_is_read(tmp_path, shape, claimed):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    # 1.5 MB of real pixels behind the lie, as in the file that once took 3 GB to refuse.
    path.write_bytes(gzip.compress(idx_header(shape) + bytes(1_500_000)))
    error, seconds, peak = measured(idx.read_idx, path)
    message = str(error)
    assert str(path) in message and "too large" in message
    assert claimed in message and str(shape) in message and f"{idx.MAX_IDX_BYTES:,}" in message
    assert seconds < 2.0 and peak < 4 * MB, (seconds, peak)


def test_a_compressed_file_shorter_than_its_header_holds_only_what_is_there(tmp_path):
    # The claim (784 MB) is under the limit, so the data is streamed; memory follows the data.
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header((1_000_000, 28, 28)) + bytes(100 * 784)))
    error, seconds, peak = measured(idx.read_idx, path)
    assert str(path) in str(error)
    assert "expected 784,000,000 bytes of data for shape (1000000, 28, 28), found 78,400" in str(error)
    assert peak < 8 * MB, peak


def test_a_compressed_file_longer_than_its_header_stops_one_byte_past_the_claim(tmp_path):
    # 200 MB of zeros squeezed into 200 kB behind a header claiming ten images.
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    with open(path, "wb") as f:
        f.write(compressor.compress(idx_header((10, 28, 28))))
        zeros = bytes(MB)
        for _ in range(200):
            f.write(compressor.compress(zeros))
        f.write(compressor.flush())
    assert path.stat().st_size < MB
    error, seconds, peak = measured(idx.read_idx, path)
    assert f"{path}: expected 7,840 bytes of data for shape (10, 28, 28), found more" in str(error)
    assert seconds < 2.0 and peak < 4 * MB, (seconds, peak)


def test_an_uncompressed_file_is_measured_against_its_header_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_header((1_000_000, 28, 28)) + bytes(784))
    reads = []
    monkeypatch.setattr(idx, "_read_at_most", lambda stream, limit: reads.append(limit) or stream.read(limit))
    with pytest.raises(DataError, match=r"expected 784,000,000 bytes of data for shape \(1000000, 28, 28\), "
                                        r"found 784$"):
        idx.read_idx(path)
    assert reads == [4, 12]  # the header only


def test_a_file_within_its_claim_still_reads_whole(tmp_path):
    array = np.arange(3 * 5 * 7, dtype=">i2").reshape(3, 5, 7)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a.gz"), array)


def test_a_corrupt_compressed_stream_is_a_data_error(tmp_path):
    whole = bytearray(gzip.compress(idx_bytes(np.arange(5000, dtype="uint8") % 7)))
    whole[len(whole) // 2] ^= 0xFF
    (tmp_path / "labels.gz").write_bytes(bytes(whole))
    with pytest.raises(DataError, match="labels.gz"):
        idx.read_idx(tmp_path / "labels.gz")
