"""The same 8-trial β study (4 β values × 2 seeds, tiny budget) with ``--engine local`` and
``--engine ray`` on this machine: wall time, trials per hour, and the driver's memory (RSS
after each trial, and its slope per trial). Also Ray's own cost, measured without the
study: starting Ray, and Tune's per-trial overhead (8 trials that do nothing).

Each run is a fresh process (as a user's command is), the engines alternate, and the
medians are printed. Run from the project folder:

    python bench/study_engines.py                # 3 repeats of each engine
    python bench/study_engines.py --repeats 1 --epochs 2
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BETAS, SEEDS = (0.1, 1.0, 4.0, 10.0), (0, 1)
REPORTS = 20  # per no-op trial, each with an 8 MB checkpoint, to time the driver's and storage's share


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def slope(values: list[float]) -> float:
    """Least-squares slope of ``values`` against their index (MB per trial)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    return sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values)) / sum((i - mean_x) ** 2 for i in range(n))


def config(args: argparse.Namespace, out: str):
    from keras_models.config import TrainConfig
    from keras_models.study import StudyConfig

    training = TrainConfig(epochs=args.epochs, batch_size=100, dataset="mnist-5k")
    return StudyConfig(training=training, betas=BETAS, seeds=SEEDS, include_cvae=False, k=args.k,
                       test_images=args.test_images, out=out).validate()


def one_study(args: argparse.Namespace) -> dict:
    """In a fresh process: run the study on ``args.one``'s engine; what it cost."""
    started = time.perf_counter()
    from keras_models.events import JobState, StudyRow, TrialFailed
    from keras_models.study.engines import make_engine
    from keras_models.study.runner import run_study

    rss, ended = [], []

    def on_event(event: object) -> None:
        if isinstance(event, (StudyRow, TrialFailed)):
            rss.append(rss_mb())
            ended.append(time.perf_counter() - started)

    options = {"cpus_per_trial": 1} if args.one == "ray" else {}
    result = run_study(config(args, args.out), state=JobState(on_event=on_event),
                       engine=make_engine(args.one, **options))
    wall = time.perf_counter() - started
    return {"engine": args.one, "wall_s": wall, "trials": len(result.rows), "rss_mb": rss,
            "ended_s": ended, "rss_end_mb": rss_mb()}


def ray_overhead(args: argparse.Namespace) -> dict:
    """Ray's own cost on this machine: ``ray.init`` as the study starts it, and 8 Tune trials of
    one CPU that only report once (the per-trial cost of scheduling, actors and results)."""
    import logging

    started = time.perf_counter()
    import ray
    from ray import tune

    from keras_models.threads import usable_cores

    ray.init(num_cpus=usable_cores(), object_store_memory=256 * 1024 ** 2, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING)
    init_s = time.perf_counter() - started
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"

    def nothing(config: dict) -> None:
        tune.report({"done": 1})

    def fit(trainable, **run) -> float:
        t = time.perf_counter()
        tune.Tuner(tune.with_resources(trainable, {"cpu": 1}), param_space={"i": tune.grid_search(list(range(8)))},
                   tune_config=tune.TuneConfig(reuse_actors=True),
                   run_config=tune.RunConfig(storage_path=args.out, verbose=0, **run)).fit()
        return time.perf_counter() - t

    # What a trial reports: a result per epoch with its run folder (an 8 MB model) as the checkpoint.
    folder = Path(args.out) / "fake-run"
    folder.mkdir(exist_ok=True)
    (folder / "model.keras").write_bytes(os.urandom(8 * 1024 ** 2))

    def epochs(config: dict) -> None:
        for epoch in range(REPORTS):
            tune.report({"epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(str(folder)))

    noop_s = fit(nothing)
    reports_s = fit(epochs, checkpoint_config=tune.CheckpointConfig(num_to_keep=1))
    ray.shutdown()
    return {"init_s": init_s, "noop_fit_s": noop_s, "reports_fit_s": reports_s}


def child(mode: str, args: argparse.Namespace, out: str) -> dict:
    command = [sys.executable, __file__, "--one", mode, "--out", out, "--epochs", str(args.epochs), "--k",
               str(args.k), "--test-images", str(args.test_images)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--one", choices=("local", "ray", "overhead", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one == "warm":  # the evaluation classifier, trained once and cached before any timing
            from keras_models import classifier
            from keras_models.study.trial import trial_data

            classifier.load_or_train_classifier(trial_data(config(args, args.out)))
            result = {}
        else:
            result = ray_overhead(args) if args.one == "overhead" else one_study(args)
        print(json.dumps(result))
        return

    os.environ.setdefault("VAE_STUDIO_CACHE", "/tmp/ray-bench-cache")
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as out:
        child("warm", args, out)
        runs: dict[str, list[dict]] = {"local": [], "ray": []}
        for repeat in range(args.repeats):
            for mode in (("local", "ray") if repeat % 2 == 0 else ("ray", "local")):
                runs[mode].append(child(mode, args, out))
                run = runs[mode][-1]
                print(f"  {mode:5s} repeat {repeat + 1}: {run['wall_s']:.1f} s, driver RSS "
                      f"{' '.join(f'{v:.0f}' for v in run['rss_mb'])} MB", flush=True)
        overhead = child("overhead", args, out)

    print(f"\n8 trials (β {' '.join(f'{b:g}' for b in BETAS)} × seeds {' '.join(map(str, SEEDS))}), mnist-5k, "
          f"{args.epochs} epochs at batch 100, k = {args.k}, {args.test_images} test images; "
          f"{os.cpu_count()} CPUs; medians of {args.repeats}")
    print("| engine | wall | trials/hour | driver RSS after trial 1 → 8 | RSS slope per trial |")
    print("|---|---|---|---|---|")
    for mode, rows in runs.items():
        wall = statistics.median(r["wall_s"] for r in rows)
        first = statistics.median(r["rss_mb"][0] for r in rows)
        last = statistics.median(r["rss_mb"][-1] for r in rows)
        per_trial = statistics.median(slope(r["rss_mb"]) for r in rows)
        print(f"| {mode} | {wall:.1f} s | {3600 * 8 / wall:.0f} | {first:.0f} → {last:.0f} MB | "
              f"{per_trial:+.1f} MB |")
    ratio = statistics.median(r["wall_s"] for r in runs["ray"]) / statistics.median(r["wall_s"] for r in runs["local"])
    gaps = [b - a for r in runs["ray"] for a, b in zip(r["ended_s"], r["ended_s"][2:])]
    local_gaps = [b - a for r in runs["local"] for a, b in zip(r["ended_s"], r["ended_s"][1:])]
    print(f"\nray / local wall time: {ratio:.2f}")
    print(f"steady state: local {statistics.median(local_gaps):.2f} s per trial (2 threads); ray "
          f"{statistics.median(gaps) / 2:.2f} s per trial (2 single-thread trials side by side)")
    print(f"Ray's own cost: ray.init {overhead['init_s']:.1f} s; Tune, 8 trials doing nothing: "
          f"{overhead['noop_fit_s']:.1f} s ({overhead['noop_fit_s'] / 8:.2f} s per trial, 2 at a time); "
          f"8 trials reporting {REPORTS} results with an 8 MB checkpoint each: {overhead['reports_fit_s']:.1f} s "
          f"({8 * REPORTS / overhead['reports_fit_s']:.0f} checkpointed results per second)")


if __name__ == "__main__":
    main()
