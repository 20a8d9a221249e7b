"""How γ of the capacity loss (rec + γ·|KL − C|) trades holding the KL at C against reconstruction:
the figures behind the default γ (README, "KL schedules").

Trains one β-VAE per γ with C rising from 0 to C_max over half the epochs, and prints each
epoch's C and train KL, then the last epoch's reconstruction and validation NELBO.

    python bench/capacity_gamma.py [--dataset mnist-5k] [--gammas 1000 100 10 1] [--capacity 25]
                                   [--epochs 10] [--batch-size 100]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

from keras_models.config import TrainConfig  # noqa: E402
from keras_models.data import load_dataset  # noqa: E402
from keras_models.training import TrainingSession  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist-5k", help="mnist-5k (default) or idx:FOLDER (full MNIST)")
    parser.add_argument("--gammas", type=float, nargs="+", default=[1000.0, 100.0, 10.0, 1.0])
    parser.add_argument("--capacity", type=float, default=25.0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    data = load_dataset(args.dataset)
    print(f"{data.describe()}; C to {args.capacity:g} nats over {args.epochs // 2} of {args.epochs} epochs, "
          f"batch {args.batch_size}")
    with tempfile.TemporaryDirectory(prefix="capacity-gamma-") as out:
        for gamma in args.gammas:
            config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, dataset=args.dataset, out=out,
                                 capacity=args.capacity, gamma=gamma).validate()
            history = TrainingSession.new(config, data=data).run().history
            pairs = ", ".join(f"{r['capacity']:g}:{r['kl']:.1f}" for r in history)
            last = history[-1]
            print(f"gamma {gamma:g}: C:KL per epoch {pairs}; rec {last['rec']:.1f}, "
                  f"val NELBO {last['val_nelbo']:.1f}", flush=True)


if __name__ == "__main__":
    main()
