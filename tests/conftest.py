"""Shared test set-up: headless Qt and matplotlib, quiet TensorFlow, small data sets."""
import os
import socket

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from tests.helpers import pretrain_classifier, run_main, tiny_split_data, write_digits_idx


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
    return tiny_split_data()


@pytest.fixture(scope="session")
def quick_study_classifier():
    """The study's evaluation classifier for ``tiny_split``, trained briefly once per session and
    cached where studies look first, so study tests do not each train the full one."""
    pretrain_classifier(tiny_split_data())


@pytest.fixture(scope="session")
def digits_idx_dir(tmp_path_factory):
    """A read-only-by-convention IDX folder of synthetic digits (200 training, 60 validation)."""
    folder = tmp_path_factory.mktemp("digits_idx")
    write_digits_idx(folder)
    return folder


@pytest.fixture(scope="session")
def quick_idx_classifier(digits_idx_dir):
    """As ``quick_study_classifier``, for studies of ``idx:<digits_idx_dir>`` measured on all its test images."""
    from keras_models.data import load_dataset

    pretrain_classifier(load_dataset(f"idx:{digits_idx_dir}"))


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
