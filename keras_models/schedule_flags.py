"""The KL schedule flags, shared by ``main.py train`` and ``main.py study`` (no TensorFlow here)."""
from __future__ import annotations

import argparse

from keras_models.schedules import DEFAULT_GAMMA

# The flags' names as argparse stores them, which are also the TrainConfig and StudyConfig fields.
SCHEDULE_FLAGS = ("kl_warmup", "kl_cycles", "capacity", "capacity_epochs", "gamma")


def add_schedule_flags(parser: argparse.ArgumentParser, study: bool = False) -> None:
    """Add --kl-warmup, --kl-cycles, --capacity, --capacity-epochs and --gamma; each defaults to None
    (no schedule), and TrainConfig.validate refuses values and combinations that make no sense.
    In a study each schedule adds one group of models beside the β family."""
    if study:
        title = "KL schedules: each adds a group of models (warm-up and cycles at the largest beta)"
    else:
        title = "KL schedules against posterior collapse (one at a time)"
    group = parser.add_argument_group(title)
    group.add_argument("--kl-warmup", type=int, metavar="N",
                       help="raise the KL weight linearly from 0 to beta over the first N epochs")
    group.add_argument("--kl-cycles", type=int, metavar="M",
                       help="cyclical annealing: M cycles over the training, each rising from 0 to beta over "
                            "its first half and staying at beta for the rest")
    group.add_argument("--capacity", type=float, metavar="C_MAX",
                       help="capacity control: loss = rec + gamma*|KL - C|, C rising from 0 to C_MAX nats"
                            + ("" if study else " (-m bvae or cvae, beta 1)"))
    group.add_argument("--capacity-epochs", type=int, metavar="N",
                       help="epochs over which C rises to C_MAX (default: half the epochs)")
    group.add_argument("--gamma", type=float, metavar="G",
                       help=f"weight of |KL - C| with --capacity (default {DEFAULT_GAMMA:g})")
