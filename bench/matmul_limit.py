"""This machine's limit for float32 arithmetic, as the speed benches measure it."""
from __future__ import annotations

import time

import numpy as np


def matmul_limit_gflops() -> float:
    """The best float32 matrix-multiply rate numpy reaches here, in GFLOP/s."""
    best = 0.0
    for n in (1000, 2000, 3000, 4000):
        a, b = (np.random.default_rng(n).random((n, n), dtype="float32") for _ in range(2))
        a @ b  # warms up the BLAS threads
        for _ in range(3):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best
