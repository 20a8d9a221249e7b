"""Training throughput of the default model, headless.

Prints samples/s for the training pass and the wall time of a whole epoch
(training plus validation) at batch 1000 and 128, for float32 and bfloat16
matrix products. Needs 60,000 real 28x28 images in IDX format; by default
Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist).

    python bench/train_throughput.py [--data /usr/share/datasets/fashion-mnist] [--epochs 4]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import load_idx_folder, make_pipeline  # noqa: E402
from keras_models.models import build_model, resolve_precision  # noqa: E402


def measure(data, batch_size: int, precision: str, epochs: int) -> dict[str, float]:
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(batch_size=batch_size, precision=precision).validate(), data.image_shape)
    train = make_pipeline(data.train_x, data.train_y, batch_size, shuffle=True)
    val = make_pipeline(data.val_x, data.val_y, batch_size, shuffle=False)
    model.fit(train, validation_data=val, epochs=1, verbose=0)  # traces the graphs
    train_rates, epoch_times = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(train, epochs=1, verbose=0)
        trained = time.perf_counter()
        model.evaluate(val, verbose=0)
        done = time.perf_counter()
        train_rates.append(len(data.train_x) / (trained - start))
        epoch_times.append(done - start)
    return {"samples_per_s": statistics.median(train_rates), "epoch_s": statistics.median(epoch_times),
            "val_nelbo": model.evaluate(val, verbose=0, return_dict=True)["nelbo"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=4, help="timed epochs per setting (median reported)")
    args = parser.parse_args()
    data = load_idx_folder(args.data)
    print(f"{data.describe()}; {os.cpu_count()} CPU cores; auto precision here = {resolve_precision('auto')}")
    print(f"{'batch':>6} {'precision':>9} {'train samples/s':>16} {'epoch s (train+val)':>20} {'val NELBO':>10}")
    for batch_size in (1000, 128):
        for precision in ("float32", "bfloat16"):
            r = measure(data, batch_size, precision, args.epochs)
            print(f"{batch_size:>6} {precision:>9} {r['samples_per_s']:>16,.0f} {r['epoch_s']:>20.2f}"
                  f" {r['val_nelbo']:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
