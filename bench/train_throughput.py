"""Training throughput of the default model, headless, against this machine's limit.

The limit is numpy's float32 matrix multiply, measured in the same run (the best
of square sizes 1,000 to 4,000, three repeats each), turned into images per
second with the arithmetic of one training step of the reference MLP: a forward
pass of 659,400 multiply-adds per image, and twice that backwards less the
gradient of the images themselves. Prints samples/s for the training pass, its
share of that limit, and the wall time of a whole epoch (training plus
validation) at batch 1000 and 128, for float32 and bfloat16 matrix products.
Needs 60,000 real 28x28 images in IDX format: by default all of MNIST in
../shared/data/mnist, else Debian's dataset-fashion-mnist package.

    python bench/train_throughput.py [--data FOLDER] [--epochs 4]

To see an AVX2-only CPU on a newer one, run it under ONEDNN_MAX_CPU_ISA=AVX2
OPENBLAS_CORETYPE=Haswell with --precisions float32: both libraries then use
256-bit instructions only (and oneDNN held there has no bfloat16 at all).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

from data_folders import DEFAULT_DATA  # noqa: E402  (bench/ is the script's own folder)
from matmul_limit import matmul_limit_gflops  # noqa: E402

import keras  # noqa: E402

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import load_idx_folder, make_pipeline  # noqa: E402
from keras_models.models import build_model, resolve_precision  # noqa: E402




def step_flops_per_image(model) -> int:
    """FLOPs of one training step per image: forward, the weights' gradients and the
    activations' gradients of every dense layer except the first (images need none)."""
    kernels = [layer.kernel.shape for network in (model.encoder, model.decoder)
               for layer in network.layers if hasattr(layer, "kernel")]
    multiply_adds = sum(a * b for a, b in kernels)
    first = kernels[0][0] * kernels[0][1]
    return 2 * (3 * multiply_adds - first)


def measure(data, batch_size: int, precision: str, epochs: int) -> dict[str, float]:
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(batch_size=batch_size, precision=precision).validate(), data.image_shape)
    train = make_pipeline(data.train_x, data.train_y, batch_size, shuffle=True)
    val = make_pipeline(data.val_x, data.val_y, batch_size, shuffle=False)
    model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False)  # traces the graphs
    train_rates, epoch_times = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(train, epochs=1, verbose=0, shuffle=False)
        trained = time.perf_counter()
        model.evaluate(val, verbose=0)
        done = time.perf_counter()
        train_rates.append(len(data.train_x) / (trained - start))
        epoch_times.append(done - start)
    return {"samples_per_s": statistics.median(train_rates), "epoch_s": statistics.median(epoch_times),
            "val_nelbo": model.evaluate(val, verbose=0, return_dict=True)["nelbo"],
            "flops_per_image": step_flops_per_image(model)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--epochs", type=int, default=4, help="timed epochs per setting (median reported)")
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"],
                        help="default: both (oneDNN held to AVX2 cannot run bfloat16: give float32 alone)")
    args = parser.parse_args()
    data = load_idx_folder(args.data)
    print(f"{data.describe()}; {os.cpu_count()} CPU cores; auto precision here = {resolve_precision('auto')}")
    limit = matmul_limit_gflops()
    print(f"numpy float32 matrix multiply: {limit:.0f} GFLOP/s", flush=True)
    print(f"{'batch':>6} {'precision':>9} {'train samples/s':>16} {'of the limit':>12} {'epoch s (train+val)':>20}"
          f" {'val NELBO':>10}")
    for batch_size in (1000, 128):
        for precision in args.precisions:
            r = measure(data, batch_size, precision, args.epochs)
            share = r["samples_per_s"] * r["flops_per_image"] / (limit * 1e9)
            print(f"{batch_size:>6} {precision:>9} {r['samples_per_s']:>16,.0f} {share:>12.0%} {r['epoch_s']:>20.2f}"
                  f" {r['val_nelbo']:>10.2f}", flush=True)
    print(f"limit: {limit * 1e9 / r['flops_per_image']:,.0f} images/s at {r['flops_per_image'] / 1e6:.2f} MFLOP an image")


if __name__ == "__main__":
    main()
