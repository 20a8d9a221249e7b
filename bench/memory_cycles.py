"""Memory per trained model: RSS after each of N short trainings in one process.

Trains N new models one after the other, each a 1-epoch TrainingSession on
the same in-memory data, and prints the resident set size (RSS) after each
one and the least-squares slope in MB per cycle over the cycles after the
warm-up (the first cycles load libraries and trace for the first time). A
process that keeps nothing of finished models stays near 0 MB per cycle.

Headless (default), the loop a β study runs. With ``--window`` the same
cycles go through the real window (offscreen): set the settings, click
Train, wait for ``job_done``. With ``--stop`` each training is stopped at its
first progress report (in the window by clicking Stop), as a user clicking
Train then Stop would.

    python bench/memory_cycles.py [--window] [--stop] [--cycles 20] [--data mnist-5k|synthetic|IDX_FOLDER]

Python's garbage collector runs before each reading, so the figures count
memory that is still referenced, not garbage waiting for a collection.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import DataSplit, load_dataset, load_idx_folder  # noqa: E402

MB = 1 << 20


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / MB


def cpu_kind() -> str:
    """The model name and the vector extensions that matter for training speed here."""
    name, flags = platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == platform.machine():
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(wanted) or 'no AVX2'}), {os.cpu_count()} cores"


def synthetic_split(n_train: int = 4500, n_val: int = 500) -> DataSplit:
    """Bars at a class-specific row plus noise: no files needed, learnable like digits."""
    def make(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 10, n).astype("int32")
        images = rng.uniform(0.0, 0.1, (n, 28, 28, 1)).astype("float32")
        for i, c in enumerate(labels):
            images[i, 3 + 2 * c:6 + 2 * c, 4:24, 0] = rng.uniform(0.8, 1.0)
        return images, labels

    return DataSplit("synthetic", *make(n_train, 1), *make(n_val, 2))


def load_data(name: str) -> DataSplit:
    if name == "synthetic":
        return synthetic_split()
    if Path(name).is_dir():
        return load_idx_folder(name)
    return load_dataset(name)


def slope(values: list[float], warmup: int) -> float:
    """Least-squares MB per cycle over the readings after the warm-up."""
    ys = np.asarray(values[warmup:], dtype="float64")
    if len(ys) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(ys)), ys, 1)[0])


def headless_cycles(config: TrainConfig, data: DataSplit, cycles: int, stop: bool,
                    report: Callable[[int, float, float], None]) -> None:
    from keras_models.events import BatchProgress, JobState
    from keras_models.training import TrainingSession

    for cycle in range(cycles):
        start = time.perf_counter()
        state = JobState()
        if stop:
            state = JobState(on_event=lambda event: state.request_stop() if isinstance(event, BatchProgress) else None)
        TrainingSession.new(config, data=data, state=state).run()
        report(cycle, time.perf_counter() - start, rss_mb())


def window_cycles(config: TrainConfig, data: DataSplit, cycles: int, stop: bool,
                  report: Callable[[int, float, float], None]) -> None:
    import tempfile

    from PyQt6.QtCore import QEventLoop, QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from gui.window import MainWindow
    from keras_models.events import BatchProgress

    app = QApplication.instance() or QApplication(sys.argv)
    # The window's defaults, not the settings it remembered from the user's last session.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      tempfile.mkdtemp(prefix="vae-studio-bench-"))
    window = MainWindow(load_data=lambda c: data)
    window.runs_folder = Path(config.out)
    window.show()

    def wait_for(signal, what: str, timeout_s: float = 300.0) -> None:
        loop, seen = QEventLoop(), []

        def arrived(*args) -> None:
            seen.append(args)
            loop.quit()

        signal.connect(arrived)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        signal.disconnect(arrived)
        if not seen:
            raise SystemExit(f"timed out waiting for {what}")

    window.worker.signals.job_failed.connect(lambda job, message: print(f"job failed: {message}", file=sys.stderr))
    window.start_worker()
    wait_for(window.worker.signals.ready, "TensorFlow to load")
    c = window.controls
    c.model.setCurrentIndex(c.model.findData(config.model))
    c.beta.setValue(config.beta)
    c.epochs.setValue(config.epochs)
    c.batch_size.setValue(config.batch_size)
    c.latent_dim.setValue(config.latent_dim)
    c.precision.setCurrentText(config.precision)
    try:
        for cycle in range(cycles):
            start = time.perf_counter()
            stopped: list[bool] = []

            def stop_at_first_progress(event) -> None:
                if stop and not stopped and isinstance(event, BatchProgress):
                    stopped.append(True)
                    QTimer.singleShot(0, c.stop_button.click)

            window.worker.signals.event.connect(stop_at_first_progress)
            QTimer.singleShot(0, c.train_button.click)
            wait_for(window.worker.signals.job_done, "the training to end")
            window.worker.signals.event.disconnect(stop_at_first_progress)
            app.processEvents()
            report(cycle, time.perf_counter() - start, rss_mb())
    finally:
        window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3, help="first cycles left out of the slope")
    parser.add_argument("--window", action="store_true", help="train through the window (offscreen)")
    parser.add_argument("--stop", action="store_true",
                        help="stop each training at its first progress report (with --window: click Stop)")
    parser.add_argument("--data", default="mnist-5k",
                        help="mnist-5k (offline, 4,500 + 500 images), synthetic, or an IDX folder")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16"))
    args = parser.parse_args()

    data = load_data(args.data)
    out = tempfile.mkdtemp(prefix="mem-bench-")
    config = TrainConfig(model="bvae", beta=2.0, epochs=1, batch_size=args.batch_size, dataset="mnist-5k",
                         precision=args.precision, out=out).validate()
    mode = ("window" if args.window else "headless") + (" (train, stop)" if args.stop else "")
    print(f"mode: {mode}; {data.describe()}; batch {args.batch_size}, 1 epoch, precision {args.precision}")
    print(f"CPU: {cpu_kind()}")
    import keras
    import tensorflow as tf
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}")
    print(f"RSS before the first cycle: {rss_mb():,.1f} MB")
    print(f"{'cycle':>5} {'seconds':>8} {'RSS MB':>9} {'change':>7}")
    readings: list[float] = []

    def report(cycle: int, seconds: float, rss: float) -> None:
        change = rss - readings[-1] if readings else float("nan")
        readings.append(rss)
        print(f"{cycle + 1:>5} {seconds:>8.2f} {rss:>9.1f} {change:>+7.1f}", flush=True)

    try:
        if args.window:
            window_cycles(config, data, args.cycles, args.stop, report)
        else:
            headless_cycles(config, data, args.cycles, args.stop, report)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"mode {mode}: {slope(readings, args.warmup):+.2f} MB per cycle (least squares over cycles "
          f"{args.warmup + 1}-{len(readings)}), {readings[-1] - readings[0]:+.1f} MB from cycle 1 to {len(readings)}")


if __name__ == "__main__":
    main()
