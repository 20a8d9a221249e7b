"""Where the time of a β study goes: runs ``main.py study`` in this process, with its
arguments, and prints the wall time and the share spent in each kind of work.

    python bench/study_cost.py [STUDY ARGUMENTS ...]
    python bench/study_cost.py --dataset idx:../shared/data/mnist   # the default study on all of MNIST

Each kind is timed exclusively (a checkpoint written during training counts as writing,
not training):

- training: the models' epochs, validation included;
- measuring: the test NELBO, IWAE bound, Fréchet distance, active units, class accuracy
  and, on shapes and dSprites, the disentanglement metrics;
- evaluation classifier: training it, or loading it from the cache;
- writing: checkpoints, each model's grids, trial records and the report with its figures;
- the rest: starting up (TensorFlow, the data, the estimate's probe) and the engine's
  own book-keeping.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import keras_models.startup  # noqa: E402,F401  (TensorFlow's threads and log level, as main.py sets them)

import main as vae_studio  # noqa: E402
from keras_models import classifier, training  # noqa: E402
from keras_models.study import report, trial  # noqa: E402

exclusive_s: dict[str, float] = defaultdict(float)
_running: list[list] = []  # [kind, start, seconds spent in nested timed calls]


def time_as(owner, name: str, kind: str) -> None:
    """Replace ``owner.name`` by a wrapper that books its time, less nested timed calls, to ``kind``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        entry = [kind, time.perf_counter(), 0.0]
        _running.append(entry)
        try:
            return original(*args, **kwargs)
        finally:
            _running.pop()
            spent = time.perf_counter() - entry[1]
            exclusive_s[kind] += spent - entry[2]
            if _running:
                _running[-1][2] += spent

    setattr(owner, name, timed)


def main() -> None:
    time_as(training.TrainingSession, "run", "training")
    time_as(training.TrainingSession, "checkpoint", "writing")
    time_as(training.TrainingSession, "write_grids", "writing")
    time_as(trial.evaluation, "evaluate", "measuring")
    time_as(trial, "disentanglement_numbers", "measuring")
    time_as(classifier, "load_or_train_classifier", "evaluation classifier")
    time_as(trial, "write_trial", "writing")
    time_as(report, "write_report", "writing")
    start = time.perf_counter()
    status = vae_studio.main(["study", *sys.argv[1:]])
    wall = time.perf_counter() - start
    print(f"\nstudy exit status {status}; {wall:.0f} s ({wall / 60:.1f} min) of wall time, {os.cpu_count()} CPU cores")
    kinds = ["training", "measuring", "evaluation classifier", "writing"]
    rest = wall - sum(exclusive_s[k] for k in kinds)
    for kind, seconds in [*((k, exclusive_s[k]) for k in kinds), ("the rest", rest)]:
        print(f"{kind:>22}: {seconds:7.1f} s  {seconds / wall:6.1%}")


if __name__ == "__main__":
    main()
