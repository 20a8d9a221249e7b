"""Quality at the reference project's own budget: the reference MLP, all 5,000 real MNIST
digits of the offline set, batch 100, 10 epochs (500 optimizer steps), Adam 1e-3, measured on
the real MNIST test set. Prints the test NELBO (one z per image, the fixed binarisation the
tool uses for validation) of each seed, and their mean, for each way of starting the network:
the tool's (PyTorch's initialisation and decoder output biases at the data's mean) and the
two it replaced.

    python bench/equal_budget.py [--test-idx ../shared/data/mnist-t10k] [--seeds 0 1 2]

The reference project (PyTorch) scores 130.1 (129.1-130.8) over 3 seeds on this protocol.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_models import networks  # noqa: E402
from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import load_idx_test_set, load_mnist_5k, make_pipeline  # noqa: E402
from keras_models.models import build_model  # noqa: E402

REFERENCE = "130.1 (129.1-130.8)"


def test_nelbo(seed: int, images: np.ndarray, labels: np.ndarray, test: tuple[np.ndarray, np.ndarray],
               precision: str, data_mean_start: bool) -> float:
    keras.utils.set_random_seed(seed)
    config = TrainConfig(batch_size=100, epochs=10, seed=seed, precision=precision).validate()
    model = build_model(config)
    if data_mean_start:
        model.start_from_data_mean(images)
    model.fit(make_pipeline(images, labels, 100, shuffle=True, seed=seed), epochs=10, verbose=0, shuffle=False)
    return model.evaluate(make_pipeline(*test, 1000, shuffle=False), verbose=0, return_dict=True)["nelbo"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-idx", type=Path, default=ROOT.parent / "shared" / "data" / "mnist-t10k")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precision", default="auto", help="auto (default), float32 or bfloat16")
    args = parser.parse_args()
    offline = load_mnist_5k()
    images = np.concatenate([offline.train_x, offline.val_x])
    labels = np.concatenate([offline.train_y, offline.val_y])
    test = load_idx_test_set(args.test_idx)
    print(f"{len(images):,} training digits, {len(test[0]):,} test digits, {args.precision} precision; "
          f"reference project: {REFERENCE}")
    starts = {"the tool's: PyTorch's, data-mean output": ("pytorch", True),
              "PyTorch's initialisation alone": ("pytorch", False),
              "Keras's Glorot, zero biases": ("glorot", False)}
    for label, (initialisation, data_mean_start) in starts.items():
        networks.MLP_INITIALISATION = initialisation
        start = time.perf_counter()
        scores = [test_nelbo(seed, images, labels, test, args.precision, data_mean_start) for seed in args.seeds]
        print(f"{label:>40}: test NELBO {statistics.mean(scores):.2f} ({min(scores):.2f}-{max(scores):.2f})"
              f"  seeds {' '.join(f'{s:.2f}' for s in scores)}  [{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
