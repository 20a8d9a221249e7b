"""Training inside the window: throughput against headless, and GUI-thread stalls.

Trains the same settings twice, headless and through the window (offscreen),
and prints the ratio of their training throughputs. While the window trains,
a 10 ms QTimer records the gaps between its ticks: any gap far above 10 ms is
time the GUI thread could not respond. Prints the maximum and 99th percentile.

    python bench/window_responsiveness.py [--data FOLDER] [--epochs 4]

The data: 60,000 real 28x28 images in IDX format, by default all of MNIST in
../shared/data/mnist, else Debian's dataset-fashion-mnist package.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

from data_folders import DEFAULT_DATA  # noqa: E402  (bench/ is the script's own folder)

import numpy as np  # noqa: E402
from PyQt6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import load_idx_folder  # noqa: E402

PROBE_MS = 10


def headless_seconds(config: TrainConfig, data) -> float:
    from keras_models.events import JobState, RunStarted
    from keras_models.training import TrainingSession

    started = []
    state = JobState(on_event=lambda event: started.append(time.perf_counter()) if isinstance(event, RunStarted) else None)
    TrainingSession.new(config, data=data, state=state).run()
    return time.perf_counter() - started[0]


def window_seconds(app: QApplication, config: TrainConfig, data) -> tuple[float, np.ndarray]:
    from gui.window import MainWindow
    from keras_models.events import RunStarted

    # The window's defaults, not the settings it remembered from the user's last session.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      tempfile.mkdtemp(prefix="vae-studio-bench-"))
    window = MainWindow(load_data=lambda c: data)
    window.runs_folder = Path(config.out)
    window.resize(1360, 860)
    window.show()
    loop = QEventLoop()
    window.worker.signals.ready.connect(loop.quit)
    window.start_worker()
    loop.exec()
    c = window.controls
    c.model.setCurrentIndex(c.model.findData(config.model))
    c.epochs.setValue(config.epochs)
    c.batch_size.setValue(config.batch_size)
    c.precision.setCurrentText(config.precision)

    times: dict[str, float] = {}
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(PROBE_MS)
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    def on_event(event) -> None:
        if isinstance(event, RunStarted):
            times["start"] = time.perf_counter()
            clock.start()
            last[0] = 0
            probe.start()

    def on_finished(_job, _result) -> None:
        times["end"] = time.perf_counter()
        probe.stop()
        loop.quit()

    probe.timeout.connect(tick)
    window.worker.signals.event.connect(on_event)
    window.worker.signals.job_done.connect(on_finished)
    window.worker.signals.job_failed.connect(lambda _job, message: (print("failed:", message), loop.quit()))
    window.tabs.setCurrentIndex(0)
    c.train_button.click()
    loop.exec()
    window.close()
    return times["end"] - times["start"], np.asarray(gaps[1:], dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternate headless and window runs this many times; medians are reported")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    data = load_idx_folder(args.data)
    window_times, headless_times, all_gaps = [], [], []
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(model="bvae", epochs=args.epochs, batch_size=args.batch_size, out=out,
                             precision="auto").validate()
        for _ in range(args.repeats):
            window_s, gaps = window_seconds(app, config, data)
            window_times.append(window_s)
            all_gaps.append(gaps)
            headless_times.append(headless_seconds(config, data))
    samples = len(data.train_x) * args.epochs
    headless_s, window_s = float(np.median(headless_times)), float(np.median(window_times))
    ratios = [h / w for h, w in zip(headless_times, window_times)]
    gaps = np.concatenate(all_gaps)
    print(f"{data.describe()}; {args.epochs} epochs at batch {args.batch_size}, precision auto, "
          f"{args.repeats} alternating repeats")
    print(f"headless: median {headless_s:.2f} s ({samples / headless_s:,.0f} training samples/s incl. validation)")
    print(f"window:   median {window_s:.2f} s ({samples / window_s:,.0f} training samples/s incl. validation)")
    print(f"window throughput = {100 * float(np.median(ratios)):.1f}% of headless (median; each repeat: "
          + ", ".join(f"{100 * r:.0f}%" for r in ratios) + ")")
    print(f"GUI thread during training: {len(gaps)} ticks of a {PROBE_MS} ms timer; "
          f"longest gap {gaps.max():.0f} ms, 99th percentile {np.percentile(gaps, 99):.0f} ms, "
          f"median {np.median(gaps):.0f} ms (longest in each repeat: "
          + ", ".join(f"{g.max():.0f}" for g in all_gaps) + " ms)")


if __name__ == "__main__":
    main()
