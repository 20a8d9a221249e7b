"""Shared test set-up: headless Qt and matplotlib, quiet TensorFlow, small data sets."""
import os
import socket

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


def make_digits(n: int, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic 'digits': class c is a bright bar at a class-specific row, plus noise.

    Learnable in a few hundred steps, so tests can check that a model learns.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype("int32")
    images = rng.uniform(0.0, 0.1, (n, size, size, 1)).astype("float32")
    for i, c in enumerate(labels):
        row = 3 + 2 * int(c)
        images[i, row:row + 3, 4:24, 0] = rng.uniform(0.8, 1.0)
    return images, labels


class StopAfter:
    """A stand-in stop event that reads as set from its ``checks``-th look on, and counts the looks."""

    def __init__(self, checks: int) -> None:
        self.checks, self.looks = checks, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.checks


@pytest.fixture(autouse=True, scope="session")
def private_cache_folder(tmp_path_factory):
    """Caches (evaluation classifier, shapes renders) go to a temporary folder, never the user's."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture
def no_network(monkeypatch):
    """Every TCP connection attempt fails at once, as on a machine without a network."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise ConnectionRefusedError(f"network blocked in tests: {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture
def tiny_split():
    """A DataSplit of 400 training and 100 validation synthetic images."""
    from keras_models.data import DataSplit

    train_x, train_y = make_digits(400, seed=1)
    val_x, val_y = make_digits(100, seed=2)
    return DataSplit("tiny", train_x, train_y, val_x, val_y)


# ----- helpers for the core and CLI suites ----------------------------------------------------
IDX_TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype(">i2"): 0x0B,
                  np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: zero, zero, type code, rank, big-endian sizes, data."""
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, IDX_TYPE_CODES[dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(dtype).tobytes()


def write_idx(path, array: np.ndarray):
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in .gz."""
    import gzip
    from pathlib import Path

    path = Path(path)
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def write_digits_idx(folder, n_train: int = 200, n_val: int = 60, gz: bool = False):
    """A folder holding the four MNIST-layout IDX files of synthetic digits; returns the arrays."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    train_x, train_y = make_digits(n_train, seed=3)
    val_x, val_y = make_digits(n_val, seed=4)
    arrays = {
        "train-images-idx3-ubyte": (train_x[..., 0] * 255).round().astype("uint8"),
        "train-labels-idx1-ubyte": train_y.astype("uint8"),
        "t10k-images-idx3-ubyte": (val_x[..., 0] * 255).round().astype("uint8"),
        "t10k-labels-idx1-ubyte": val_y.astype("uint8"),
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + suffix), array)
    return arrays


def small_config(out, **overrides):
    """A quick, validated TrainConfig: small latent space, small batches, float32 arithmetic."""
    from keras_models.config import TrainConfig

    values = dict(model="bvae", beta=1.0, epochs=1, batch_size=50, latent_dim=4,
                  precision="float32", dataset="mnist-5k", out=str(out))
    values.update(overrides)
    return TrainConfig(**values).validate()


@pytest.fixture(scope="session")
def digits_idx_dir(tmp_path_factory):
    """A read-only-by-convention IDX folder of synthetic digits (200 training, 60 validation)."""
    folder = tmp_path_factory.mktemp("digits_idx")
    write_digits_idx(folder)
    return folder


def run_main(argv):
    """Run ``main.main(argv)`` in-process; return (exit status, stdout, stderr)."""
    import contextlib
    import io

    import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors
            status = exc.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory, digits_idx_dir):
    """One run trained through ``main.py train`` on the synthetic IDX digits: (run_dir, stdout, stderr).

    Tests that change the run must copy it first.
    """
    out = tmp_path_factory.mktemp("cli_runs")
    status, stdout, stderr = run_main([
        "train", "-m", "bvae", "-b", "1.5", "-e", "1", "-bs", "50", "--latent-dim", "4",
        "--precision", "float32", "--dataset", f"idx:{digits_idx_dir}", "--out", out,
    ])
    assert status == 0, stderr
    (run_dir,) = out.iterdir()
    return run_dir, stdout, stderr
