"""Time of the importance-sampled likelihood bound (IWAE, k = 1000) on 10,000 test images.

Uses the default architecture (an untrained model from the default
``TrainConfig()``: the timing does not depend on the weights), once with float32
arithmetic and once with the default precision "auto", both with the same
weights so the two bounds can be compared. Prints the decoder's arithmetic
rate and its share of this machine's limit, numpy's float32 matrix multiply
measured in the same run (bench/matmul_limit.py). Real MNIST test images are read
from an IDX folder; without it, random binary images stand in.

    python bench/iwae_speed.py [--data ../shared/data/mnist-t10k] [--k 1000] [--images 10000]
                               [--batch-images 4 8 ...]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

from matmul_limit import matmul_limit_gflops  # noqa: E402  (bench/ is the script's own folder)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import binarize_fixed, read_idx, to_images  # noqa: E402
from keras_models.evaluation import DECODER_ROWS, iwae_nll  # noqa: E402
from keras_models.models import build_model, resolve_precision  # noqa: E402


def load_test_images(folder: Path, n: int) -> tuple[np.ndarray, str]:
    path = folder / "t10k-images-idx3-ubyte.gz"
    if path.exists():
        images = to_images(read_idx(path))[:n]
        return binarize_fixed(images, seed=0), f"{len(images):,} MNIST test images from {folder}"
    rng = np.random.default_rng(0)
    return (rng.random((n, 28, 28, 1)) < 0.13).astype("float32"), f"{n:,} random binary images"


def decoder_flops(model) -> int:
    """Multiply-adds ×2 of the decoder's dense layers for one code."""
    return sum(2 * math.prod(layer.kernel.shape) for layer in model.decoder.layers
               if hasattr(layer, "kernel"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist-t10k")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-images", type=int, nargs="*", default=[None],
                        help=f"images per decoder batch (default: {DECODER_ROWS:,} image-sample pairs a batch)")
    args = parser.parse_args()
    images, source = load_test_images(args.data, args.images)
    keras.utils.set_random_seed(0)  # the same untrained weights, so runs give the same NLL
    models = {"float32": build_model(TrainConfig(precision="float32").validate())}
    auto = resolve_precision("auto")
    models[f"auto ({auto})"] = build_model(TrainConfig().validate())
    models[f"auto ({auto})"].set_weights(models["float32"].get_weights())
    flops = decoder_flops(models["float32"]) * args.k * len(images)
    print(f"{source}; k = {args.k}; {os.cpu_count()} CPU cores; decoder work {flops / 1e12:.2f} TFLOP")
    limit = matmul_limit_gflops()
    print(f"numpy float32 matrix multiply: {limit:.0f} GFLOP/s", flush=True)
    # CPU seconds are shown beside wall seconds because other jobs on a shared machine
    # stretch the wall time; CPU seconds / cores estimates the time on an idle machine.
    print(f"{'precision':>18} {'images/batch':>12} {'wall s':>7} {'CPU s':>6} {'GFLOP/s':>8} {'of the limit':>12}"
          f" {'mean NLL':>9}")
    reference = None
    for batch_images in args.batch_images:
        for label, model in models.items():
            # Warms up the thread pools; the timed call still traces its own graph, as any call does.
            iwae_nll(model, images[:8], k=args.k, batch_images=batch_images)
            start, start_cpu = time.perf_counter(), time.process_time()
            nll = iwae_nll(model, images, k=args.k, batch_images=batch_images)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
            reference = nll if reference is None else reference
            shown = batch_images or max(1, DECODER_ROWS // args.k)
            rate = flops / seconds / 1e9
            print(f"{label:>18} {shown:>12} {seconds:>7.1f} {cpu_seconds:>6.1f} {rate:>8.0f} {rate / limit:>12.0%}"
                  f" {nll.mean():>9.3f}  (max |ΔNLL| vs first row {np.abs(nll - reference).max():.3f})",
                  flush=True)


if __name__ == "__main__":
    main()
