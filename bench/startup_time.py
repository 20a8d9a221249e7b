"""Time from `python main.py` to a visible window (median of several starts).

Runs the real entry point with VAE_STUDIO_STARTUP_PROBE=1, which makes the
window print once it is shown and quit. Uses the offscreen platform unless a
display is available.

    python bench/startup_time.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_start() -> float:
    env = dict(os.environ, VAE_STUDIO_STARTUP_PROBE="1")
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("window shown"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise SystemExit("the window never reported that it was shown")
    process.wait(timeout=60)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_start()  # warm the file cache, as any second start would be
    times = [one_start() for _ in range(args.runs)]
    platform = "X11" if os.environ.get("DISPLAY") else "offscreen"
    print(f"python main.py to a visible window ({platform}): median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s over {args.runs} starts")


if __name__ == "__main__":
    main()
