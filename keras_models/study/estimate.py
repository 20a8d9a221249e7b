"""How long a study will take, from throughput measured on this machine. No TensorFlow here:
the window's study tab shows the estimate before anything loads.

The figures come from ``keras_models.study.probe`` (a few seconds of timed steps, cached per
machine under the cache folder). ``estimate_study`` is plain arithmetic on them, stage by stage.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

from keras_models.files import cache_home, write_text_atomic

# A validation pass runs the model forward only: about this many times faster than training.
VALIDATION_SPEEDUP = 3.0
# Per epoch of a trial: the checkpoint, metrics.csv and what the session draws (measured ~0.3 s here).
EPOCH_OVERHEAD_S = 0.3
# Per trial: grids and the model's start-up; per study: figures and the report.
TRIAL_OVERHEAD_S = 3.0
REPORT_S = 15.0
# Studies the nominal figures put under this are estimated from them, without the probe.
PROBE_ABOVE_S = 60.0
# MIG, DCI with boosted trees and the FactorVAE score on 10,000 codes (bench/shapes_and_mig.py: ~4 s).
DISENTANGLEMENT_S = 5.0


@dataclasses.dataclass(frozen=True)
class Throughput:
    """What this machine does per second: training images (at one batch size), IWAE
    image-sample pairs through the decoder, and evaluation classifier training images."""

    train_images_per_s: float
    iwae_pairs_per_s: float
    classifier_images_per_s: float
    measured: bool = True  # False: nominal figures, nothing measured here yet


# The figures of a 2-core AMD EPYC (README, Measured figures) for when nothing is cached yet.
NOMINAL = Throughput(train_images_per_s=20_000.0, iwae_pairs_per_s=300_000.0, classifier_images_per_s=2_000.0,
                     measured=False)


@dataclasses.dataclass(frozen=True)
class StudyWork:
    """The sizes a study's time depends on."""

    trials: int
    epochs: int
    train_images: int
    validation_images: int
    test_images: int
    k: int
    classifier_images: int  # images the evaluation classifier trains on in all; 0 when it is cached
    factors: bool = False  # MIG, DCI and FactorVAE are measured (shapes, dsprites)


def estimate_study(work: StudyWork, speed: Throughput) -> list[tuple[str, float]]:
    """(stage, seconds) for each stage of the study, in the order they run."""
    stages = []
    if work.classifier_images:
        stages.append(("evaluation classifier", work.classifier_images / speed.classifier_images_per_s))
    per_epoch = ((work.train_images + work.validation_images / VALIDATION_SPEEDUP) / speed.train_images_per_s
                 + EPOCH_OVERHEAD_S)
    models = f"{work.trials} model{'' if work.trials == 1 else 's'}"  # a one-β study without a CVAE is common
    stages.append((f"training {models}", work.trials * (work.epochs * per_epoch + TRIAL_OVERHEAD_S)))
    stages.append((f"IWAE bound (k = {work.k:,}, {work.test_images:,} images) × {work.trials}",
                   work.trials * work.test_images * work.k / speed.iwae_pairs_per_s))
    # Sampling and two feature passes, about the cost of a classifier pass over three sets of test images.
    stages.append((f"Fréchet distance × {work.trials}",
                   work.trials * 3 * work.test_images / (VALIDATION_SPEEDUP * speed.classifier_images_per_s)))
    if work.factors:
        stages.append((f"MIG, DCI and FactorVAE × {work.trials}", work.trials * DISENTANGLEMENT_S))
    stages.append(("figures and report", REPORT_S))
    return stages


def estimate_text(stages: list[tuple[str, float]], speed: Throughput) -> str:
    """"estimated time about 4 min 10 s (…): evaluation classifier: 30 s; training 4 models: 2 min …"."""
    total = sum(seconds for _, seconds in stages)
    basis = "measured on this machine" if speed.measured else "nominal figures, not yet measured here"
    parts = "; ".join(f"{name}: {duration_text(seconds)}" for name, seconds in stages)
    return f"estimated time about {duration_text(total)} ({basis}): {parts}"


def duration_text(seconds: float) -> str:
    seconds = max(0, int(math.ceil(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# ----- the per-machine cache ------------------------------------------------------------------------
def machine_key() -> str:
    return f"{platform.node() or 'machine'}-{platform.machine()}-{os.cpu_count()}cpu"


# Figures of another version of the probe measure something else: they are not reused.
PROBE_VERSION = 4


def throughput_path() -> Path:
    return cache_home("throughput") / f"{machine_key()}-probe{PROBE_VERSION}.json"


def probe_key(batch_size: int, arch: str, latent_dim: int, image_shape: tuple[int, ...], precision: str) -> str:
    return f"{arch}-bs{batch_size}-z{latent_dim}-{'x'.join(map(str, image_shape))}-{precision}"


def cached_throughput(key: str, path: Path | None = None) -> Throughput | None:
    """The figures measured here before for ``key``, or None."""
    try:
        saved: dict[str, Any] = json.loads((path or throughput_path()).read_text(encoding="utf-8"))
        return Throughput(**saved[key])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_throughput(key: str, speed: Throughput, path: Path | None = None) -> None:
    path = path or throughput_path()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    saved[key] = dataclasses.asdict(speed)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(saved, indent=2) + "\n")
