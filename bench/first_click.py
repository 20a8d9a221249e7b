"""The first click: the window's defaults, one click on Train, without network.

Starts the window offscreen (clock started before PyQt and TensorFlow import), sets β
with its preset button, clicks Train and waits for the run to end: the default data set
(MNIST) cannot download, falls back to the offline 4,500-image set, and the batch size and
epochs are sized to it. Prints the wall time from start-up to the end of training and the
test NELBO of the saved model on real MNIST test images (k = 1, the fixed binarisation
``python main.py evaluate RUN_DIR -k 1 --test-idx FOLDER`` uses), and where its grids are.

    python bench/first_click.py [--beta 1] [--test-idx /work/shared/data/mnist-t10k]
"""
from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

from PyQt6.QtCore import QEventLoop, QSettings  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beta", type=float, default=1.0, help="a preset of the β row (default 1)")
    parser.add_argument("--test-idx", default="/work/shared/data/mnist-t10k",
                        help="folder with the t10k IDX files to measure the test NELBO on")
    parser.add_argument("--out", help="runs folder (default: a temporary one)")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    from gui.window import MainWindow

    # The window's defaults, not the settings it remembered from the user's last session.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="first-click-"))
    window = MainWindow()
    window.runs_folder = Path(args.out or tempfile.mkdtemp(prefix="first-click-"))
    window.show()
    loop = QEventLoop()
    window.worker.signals.ready.connect(loop.quit)
    window.start_worker()
    loop.exec()
    ready = time.perf_counter() - START
    preset = next(b for b in window.controls.presets if float(b.text()) == args.beta)
    preset.click()
    results: list = []
    window.worker.signals.job_done.connect(lambda job, result: (results.append(result), loop.quit()))
    window.worker.signals.job_failed.connect(lambda job, message: (results.append(message), loop.quit()))
    window.controls.train_button.click()
    loop.exec()
    wall = time.perf_counter() - START
    result = results[0]
    if isinstance(result, str):
        raise SystemExit(f"training failed: {result}")
    sized = window.controls.auto_size.text()
    window.shutdown()

    from keras_models.data import binarize_fixed, load_idx_test_set
    from keras_models.evaluation import likelihood_bounds
    from keras_models.models import EVAL_SEED

    test_x, _ = load_idx_test_set(args.test_idx)
    bounds = likelihood_bounds(result.model, binarize_fixed(test_x, EVAL_SEED), k=1, seed=EVAL_SEED + 1)
    nelbo = float(bounds["rec"].mean() + bounds["kl"].mean())
    print(f"β = {args.beta:g}, {result.data.describe()}; {sized}")
    print(f"window ready (TensorFlow loaded) after {ready:.1f} s")
    print(f"first click: {wall:.1f} s from start-up to the end of training")
    print(f"test NELBO on {len(test_x):,} real MNIST test images (k = 1): {nelbo:.2f} nats")
    print(f"grids: {result.run_dir / 'grids'}")


if __name__ == "__main__":
    main()
