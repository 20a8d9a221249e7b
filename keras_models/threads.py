"""How TensorFlow's threads are shared out on this machine, decided before TensorFlow starts.

Training and the IWAE bound cut their work into independent slices, one per core
TensorFlow may run operations on at once (``slice_count``); its inter-op threads
run the slices side by side. Each operation then gets the cores left per slice as
its intra-op threads: one each on a 2-core machine. With TensorFlow's default,
every core for every operation, the slices' products fought over the same
threads: on an AVX2 CPU with 2 cores, training ran about a tenth slower at
batch 128 and 7% at batch 1000, and the IWAE bound about 5%.

No TensorFlow here: the environment has to be set before TensorFlow starts.
"""
from __future__ import annotations

import os

MAX_BATCH_SLICES = 4


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def thread_count_from_environment(name: str) -> int:
    """A thread count set in the environment (TF_NUM_INTEROP_THREADS, say); 0 when unset or not
    a positive whole number, which is what TensorFlow then does too: its default."""
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else 0


def slice_count(cores: int, inter_op_threads: int = 0) -> int:
    """Slices for ``cores`` cores and TensorFlow's inter-op threads (0: its default, one per core)."""
    return max(1, min(MAX_BATCH_SLICES, cores, inter_op_threads or cores))


def intra_op_threads(cores: int, inter_op_threads: int = 0) -> int:
    """Threads for each operation: the cores shared out among the slices that run at once."""
    return max(1, cores // slice_count(cores, inter_op_threads))


def share_cores_between_slices() -> None:
    """Give TensorFlow ``intra_op_threads`` through its environment variable, which it reads
    when it starts (and which processes started from this one inherit). A thread count
    already in the environment, as Ray's workers get, is left as it is."""
    if thread_count_from_environment("TF_NUM_INTRAOP_THREADS"):
        return
    inter_op = thread_count_from_environment("TF_NUM_INTEROP_THREADS")
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(intra_op_threads(usable_cores(), inter_op))
