"""GUI-thread time of one Latent map update: what the window does with an epoch's map.

The codes and their projection are computed on the worker thread; the GUI
thread only moves 2,000 points and blits them (and, for a 2-D latent space,
shows the manifold grid). This times ``LatentMapTab.show_event`` for a
sequence of epochs whose maps drift as a training's do, in an offscreen
window of the size the tab has in the main window. Target: at most 30 ms.

    python bench/latent_map_update.py [--updates 40]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

from gui.latent_map_tab import LatentMapTab  # noqa: E402
from keras_models.events import EpochDone, EpochPictures  # noqa: E402
from keras_models.latent_space import MAP_IMAGES, LatentMap, fit_projection  # noqa: E402


def epoch_maps(latent_dim: int, updates: int) -> list[LatentMap]:
    """Ten class clusters that tighten and move a little every epoch, projected as the worker would."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, MAP_IMAGES)
    centres = rng.standard_normal((10, latent_dim)) * 2
    noise = rng.standard_normal((MAP_IMAGES, latent_dim))
    manifold = rng.uniform(0, 1, (15 * 30 + 2, 15 * 30 + 2)).astype("float32") if latent_dim == 2 else None
    maps = []
    for epoch in range(updates):
        codes = (centres[labels] * (1 + 0.01 * epoch) + noise * (1.0 - 0.01 * epoch)).astype("float32")
        projection = fit_projection(codes)
        maps.append(LatentMap(projection.transform(codes), labels, codes, projection, manifold))
    return maps


def time_updates(app: QApplication, maps: list[LatentMap]) -> dict[str, np.ndarray]:
    """Milliseconds of GUI-thread time per update, wall clock and CPU: the update itself, and the
    events it posted (run as the window would between epochs)."""
    tab = LatentMapTab(lambda message: None)
    tab.resize(1000, 760)
    tab.show()
    app.processEvents()
    times = {key: [] for key in ("update", "update_cpu", "after", "after_cpu")}
    for epoch, latent in enumerate(maps, start=1):
        pictures = EpochPictures(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros(2), 2, latent)
        wall, cpu = time.perf_counter(), time.thread_time()
        tab.show_event(EpochDone({"epoch": float(epoch)}, pictures))
        times["update"].append(time.perf_counter() - wall)
        times["update_cpu"].append(time.thread_time() - cpu)
        # Let the events the update posted run (the manifold grid, a new backdrop when the limits
        # moved): GUI-thread time too, so timed.
        after, after_cpu = 0.0, 0.0
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            wall, cpu = time.perf_counter(), time.thread_time()
            app.processEvents()
            after += time.perf_counter() - wall
            after_cpu += time.thread_time() - cpu
            time.sleep(0.01)
        times["after"].append(after)
        times["after_cpu"].append(after_cpu)
    tab.close()
    # The first update includes the first full draw of an empty window.
    return {key: np.array(values[1:]) * 1000 for key, values in times.items()}


def summary(values: np.ndarray) -> str:
    return f"median {np.median(values):.1f}, 90th percentile {np.percentile(values, 90):.1f}, max {values.max():.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=40)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    for latent_dim in (10, 2):
        times = time_updates(app, epoch_maps(latent_dim, args.updates))
        extra = " and the manifold grid" if latent_dim == 2 else ""
        print(f"latent size {latent_dim}, {MAP_IMAGES:,} points{extra}, {len(times['update'])} updates:")
        print(f"  the update, wall {summary(times['update'])}; CPU {summary(times['update_cpu'])}")
        print(f"  the events it posted, wall {summary(times['after'])}; CPU {summary(times['after_cpu'])}")

if __name__ == "__main__":
    main()
