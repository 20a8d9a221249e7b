"""Time to build the shapes set and to score codes with the disentanglement metrics.

Renders all 737,280 images into a temporary cache (so it really renders: targets
60 s at 28 × 28 on 2 cores), loads that cache again, then times MIG (target 5 s),
DCI and the FactorVAE score on 10,000 codes (8,000 to fit DCI, 2,000 to test it).
The codes are a copy of the five factors plus five unused dimensions, which is
as costly to score as a trained encoder's. The load average is printed first
because other jobs on the machine skew every figure.

    python bench/shapes_and_mig.py [--sizes 28 64]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from keras_models import disentanglement  # noqa: E402
from keras_models.data import shapes  # noqa: E402


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    print(f"{label:<48} {time.perf_counter() - start:7.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64], choices=shapes.SIZES)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="shapes-bench-") as cache_dir:
            timed(f"render all {shapes.NUM_IMAGES:,} images at {size}x{size}",
                  lambda: shapes.build_shapes(size, cache_dir))
            megabytes = shapes.cache_path(size, cache_dir).stat().st_size / 1e6
            images, _ = timed(f"  load the cache ({megabytes:,.0f} MB)", lambda: shapes.build_shapes(size, cache_dir))
            timed("  read every image from the cache", lambda: int(images.sum(dtype="uint64")))
            del images

    rng = np.random.default_rng(0)
    factors = shapes.sample_factors(10_000, rng)
    codes = np.concatenate([factors + rng.normal(0, 0.05, factors.shape), rng.normal(size=factors.shape)], axis=1)
    train, test = slice(0, 8000), slice(8000, None)
    result = timed("MIG, 10,000 codes of 10 dimensions", lambda: disentanglement.mig(codes, factors))
    print(f"  score {result['score']:.3f}")
    for model in ("gbt", "lasso"):
        result = timed(f"DCI ({model}), 8,000 + 2,000 codes",
                       lambda: disentanglement.dci(codes[train], factors[train], codes[test], factors[test], model))
        print(f"  disentanglement {result['disentanglement']:.3f}, completeness {result['completeness']:.3f}")
    result = timed("FactorVAE score from 10,000 codes",
                   lambda: disentanglement.factor_vae_score_from_codes(codes, factors))
    print(f"  score {result['score']:.3f}")


if __name__ == "__main__":
    main()
