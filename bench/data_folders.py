"""Where the benchmarks find 60,000 real 28×28 training images in IDX format: all of MNIST
in ../shared/data/mnist when it is there, else Debian's dataset-fashion-mnist package."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = (ROOT.parent / "shared" / "data" / "mnist", Path("/usr/share/datasets/fashion-mnist"))
DEFAULT_DATA = next((path for path in _CANDIDATES if path.exists()), _CANDIDATES[0])
