"""Helpers shared by the test suites: synthetic data, IDX files, quick settings, CLI and window drivers.

Fixtures live in the conftest files; everything a test imports lives here.
"""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from keras_models.events import JobState
from keras_models.images import PAD_VALUE


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


class StopAfter(JobState):
    """A job state whose stop flag reads as set from its ``checks``-th look on, and counts the looks."""

    def __init__(self, checks: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.checks, self.looks = checks, 0

    @property
    def stop_requested(self) -> bool:
        self.looks += 1
        return self.looks >= self.checks


def full_disk(monkeypatch, name_start: str, after: int = 0) -> list:
    """From now on, the write of a file whose name starts with ``name_start`` (an atomic_path
    temporary such as ".model-") fails as on a full disk, once ``after`` such writes have
    succeeded: a few bytes land, then OSError(ENOSPC). Covers model saves, Path.write_text
    (metrics.csv, checkpoint.json) and PIL (the grids). Returns the paths refused."""
    import errno
    import os
    from pathlib import Path

    import keras
    from PIL import Image

    refused, passed = [], []

    def refuse(path) -> None:
        if not isinstance(path, (str, os.PathLike)) or not Path(path).name.startswith(name_start):
            return
        if len(passed) < after:
            passed.append(path)
            return
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a file")
        refused.append(Path(path))
        raise OSError(errno.ENOSPC, "No space left on device")

    model_save, write_text, image_save = keras.Model.save, Path.write_text, Image.Image.save
    monkeypatch.setattr(keras.Model, "save", lambda self, path, *a, **k: refuse(path) or model_save(self, path, *a, **k))
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: refuse(self) or write_text(self, *a, **k))
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: refuse(fp) or image_save(self, fp, *a, **k))
    return refused


IDX_TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype(">i2"): 0x0B,
                  np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_header(shape: tuple[int, ...], dtype="uint8") -> bytes:
    """An IDX header: zero, zero, type code, rank, big-endian sizes. Any sizes, so a test
    can write a header that promises more (or less) data than follows it."""
    dtype = np.dtype(dtype)
    dtype = dtype.newbyteorder(">") if dtype.itemsize > 1 else dtype
    return bytes([0, 0, IDX_TYPE_CODES[dtype], len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: its header, then its data big-endian."""
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    return idx_header(array.shape, array.dtype) + array.astype(dtype).tobytes()


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


def session_poisoned_at_start(config, data):
    """A new TrainingSession whose encoder output biases become infinite as its run starts,
    so its loss is NaN from the first batch on."""
    from keras_models.events import RunStarted
    from keras_models.training import TrainingSession

    def poison_at_start(event):
        if isinstance(event, RunStarted):
            bias = session.model.encoder.layers[-1].bias
            bias.assign(np.full(bias.shape, np.inf, dtype="float32"))

    session = TrainingSession.new(config, data=data, state=JobState(on_event=poison_at_start))
    return session


def snapshot(folder):
    """Every file under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def assert_bad_input(status, stdout, stderr, *names):
    """What bad input on the command line gives: exit status 2 and one line on stderr naming ``names``."""
    assert status == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("main.py") and "error: " in lines[0], lines[0]
    for name in names:
        assert name in lines[0], lines[0]
    assert "Traceback" not in stdout + stderr


def assert_no_run_folder(out):
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


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


def set_quick_settings(win, model="bvae", epochs=1, batch_size=50, beta=1.0):
    controls = win.controls
    controls.model.setCurrentIndex(controls.model.findData(model))
    if model != "vae":
        controls.beta.setValue(beta)
    controls.epochs.setValue(epochs)
    controls.batch_size.setValue(batch_size)
    controls.latent_dim.setValue(4)
    controls.precision.setCurrentText("float32")


def is_event(kind):
    """A ``check_params_cb`` for ``qtbot.waitSignal(worker.signals.event, …)``: waits for one kind of event."""
    return lambda event: isinstance(event, kind)


def collect_events(win, kind) -> list:
    """Every event of ``kind`` the window's worker reports from now on, in a list that fills as they come."""
    found = []
    win.worker.signals.event.connect(lambda event: found.append(event) if isinstance(event, kind) else None)
    return found


def wait_for_job(qtbot, win, start, timeout=120_000):
    """Call ``start`` (which submits one job) and wait until that job ends; return ``(job, result)``,
    or ``(job, message)`` when it failed."""
    ended = []
    win.worker.signals.job_done.connect(lambda job, result: ended.append((job, result)))
    win.worker.signals.job_failed.connect(lambda job, message: ended.append((job, message)))
    start()
    qtbot.waitUntil(lambda: bool(ended), timeout=timeout)
    return ended[0]


def train_and_wait(qtbot, win, timeout=120_000):
    """Click Train and wait for the training to end; return its TrainingResult."""
    _, result = wait_for_job(qtbot, win, win.controls.train_button.click, timeout)
    assert not isinstance(result, str), result
    return result


# ----- fake run folders, for the compare views -----------------------------------------------
METRIC_COLUMNS = ["epoch", "loss", "rec", "kl", "nelbo", "val_loss", "val_rec", "val_kl", "val_nelbo", "time_s"]
EVALUATION = {"nelbo": 101.5, "rec": 90.0, "kl": 11.5, "iwae_nll": 97.25, "elbo_gap": 4.25, "active_units": 3,
              "latent_dim": 4, "frechet_distance": 12.3, "class_accuracy": None,
              "protocol": {"k": 1000, "binarisation": "fixed, seed 0", "images": 500}}


def traversal_png(path, rows: int, cols: int, value: float, image_size: int = 6) -> np.ndarray:
    """Write a grid of ``rows`` x ``cols`` flat images the way the trainer does (2x enlarged); return the grid."""
    grid = np.full((rows * (image_size + 2) + 2, cols * (image_size + 2) + 2), PAD_VALUE, dtype="float32")
    for r in range(rows):
        for c in range(cols):
            top, left = 2 + r * (image_size + 2), 2 + c * (image_size + 2)
            grid[top:top + image_size, left:left + image_size] = value
    pixels = (grid * 255 + 0.5).astype("uint8").repeat(2, axis=0).repeat(2, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode="L").save(path)
    return grid


def write_fake_run(folder, model="bvae", beta=4.0, latent_dim=4, epochs=3, evaluation=None,
                   traversals=(("traversal_dim3", 2, 11), ("traversal_all_dims", 4, 11)), shade=0.5,
                   saved_epoch=None):
    """A run folder as TrainingSession writes it, without training: losses fall with the epoch."""
    folder.mkdir(parents=True)
    config = {"model": model, "beta": beta, "epochs": epochs, "batch_size": 100, "latent_dim": latent_dim,
              "learning_rate": 0.001, "dataset": "mnist-5k", "data_dir": None, "seed": 0, "arch": "mlp",
              "ckpt_every": 1, "precision": "auto", "out": str(folder.parent)}
    (folder / "config.json").write_text(json.dumps({
        "config": config, "data": {"name": "mnist-5k", "train": 4500, "validation": 500, "notice": None},
        "versions": {"python": "3.11"}, "created": "2026-11-24T15:30:00"}))
    lines = [",".join(METRIC_COLUMNS)]
    for epoch in range(1, epochs + 1):
        rec, kl = 200.0 - 10 * epoch, 5.0 + epoch / beta
        lines.append(",".join(str(v) for v in (epoch, rec + beta * kl, rec, kl, rec + kl,
                                               rec + 2 + beta * kl, rec + 2, kl, rec + 2 + kl, 0.5)))
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    if epochs:
        (folder / "checkpoint.json").write_text(json.dumps({"epoch": epochs if saved_epoch is None else saved_epoch}))
    if evaluation is not None:
        (folder / "evaluation.json").write_text(json.dumps(evaluation))
    for stem, rows, cols in traversals:
        traversal_png(folder / "grids" / f"{stem}.png", rows, cols, shade)
    return folder


def step_graphs() -> list:
    """The live graphs of train and test steps (one set per model trained): the model's own
    multi-batch loop (keras_models.execution) and Keras's single steps. A finished model must
    take them with it (keras_models.memory)."""
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    names = ("batches_on_iterator", "one_step_on_data")
    return [g for g in gc.get_objects() if isinstance(g, FuncGraph) and g.name.startswith(names)]


# ----- β study rows, without training ----------------------------------------------------------
def study_row(model: str, beta: float, seed: int = 0, rec: float = 100.0, kl: float = 20.0, nll: float = 115.0,
              units: int = 10, fd: float | None = 15.0, class_accuracy: float | None = None, **more) -> dict:
    """A finished trial's row as run_trial returns it, with the numbers given."""
    group = "vae" if model == "vae" else "cvae" if model == "cvae" else f"bvae_b{beta:g}"
    title = {"vae": "VAE (β = 1)", "cvae": "CVAE (β = 1)"}.get(model, f"β-VAE (β = {beta:g})")
    return {"key": f"{group}_s{seed}", "group": group, "model": model, "beta": beta, "seed": seed, "title": title,
            "rec": rec, "kl": kl, "nelbo": rec + kl, "iwae_nll": nll, "elbo_gap": rec + kl - nll,
            "active_units": units, "latent_dim": 10, "frechet_distance": fd, "class_accuracy": class_accuracy,
            "classifier_accuracy": 0.99, "run_dir": f"runs/{group}_s{seed}", **more}


def seeded_rows(model: str, beta: float, offsets=(0.0, 1.0, 2.0), **numbers) -> list[dict]:
    """One row per seed: each number of ``numbers`` plus that seed's offset (spread 1 for the default)."""
    return [study_row(model, beta, seed, **{k: (v + d if isinstance(v, float) else v) for k, v in numbers.items()})
            for seed, d in enumerate(offsets)]


def tiny_split_data():
    """A DataSplit of 400 training and 100 validation synthetic images (the ``tiny_split`` fixture)."""
    from keras_models.data import DataSplit

    train_x, train_y = make_digits(400, seed=1)
    val_x, val_y = make_digits(100, seed=2)
    return DataSplit("tiny", train_x, train_y, val_x, val_y)


def fake_umap(monkeypatch) -> None:
    """A stand-in umap-learn in ``sys.modules``: a fixed linear map to 2-D and its pseudo-inverse,
    so a UMAP map can be checked without the package (it is optional)."""
    import sys
    import types

    class UMAP:
        def __init__(self, n_components=2, random_state=None):
            self.weights = None

        def fit_transform(self, codes):
            codes = np.asarray(codes, dtype="float32")
            self.weights = np.random.default_rng(0).standard_normal((codes.shape[1], 2)).astype("float32")
            return self.transform(codes)

        def transform(self, codes):
            return np.asarray(codes, dtype="float32") @ self.weights

        def inverse_transform(self, points):
            return np.asarray(points, dtype="float32") @ np.linalg.pinv(self.weights)

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=UMAP, __spec__=None))


def pretrain_classifier(data, epochs: int = 3) -> None:
    """Put a quickly trained evaluation classifier for ``data`` in the cache a study looks in first,
    so study tests do not each train the full one (it is cached by the data's fingerprint)."""
    from keras_models import classifier

    classifier.load_or_train_classifier(data, epochs=epochs)


# A stand-in for `main.py study --resume DIR`: it logs events as the runner does, then ends ("run"),
# waits for SIGINT first ("wait"), or dies without finishing ("die").
FAKE_DRIVER = r"""
import json, signal, sys, time
folder, wait = sys.argv[1], sys.argv[2] == "wait"
stopped = []
signal.signal(signal.SIGINT, lambda *a: stopped.append(True))
def log(**event):
    with open(folder + "/progress.jsonl", "a") as f:
        f.write(json.dumps({"time": time.time(), **event}) + "\n")
log(event="StageStarted", text="training", fraction=0.1)
log(event="StudyRow", row=json.loads(sys.argv[3]))
log(event="TrialFailed", key="bvae_b4_s0", group="bvae_b4", beta=4.0, title="β-VAE (β = 4)", seed=0,
    status="failed", reason="loss became NaN at epoch 1, batch 2")
print("a line for driver.log", flush=True)
while wait and not stopped:
    time.sleep(0.05)
if sys.argv[2] != "die":
    log(event="StudyDone", report_dir=folder, stopped=bool(stopped), conclusions=["one line"])
"""


def fake_driver_command(folder, mode: str = "run") -> list[str]:
    """The command line of ``FAKE_DRIVER`` for the planned study in ``folder``."""
    import sys

    return [sys.executable, "-c", FAKE_DRIVER, str(folder), mode, json.dumps(study_row("vae", 1.0))]
