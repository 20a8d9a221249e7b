"""KL schedules against posterior collapse: the weight of the KL term, or the capacity C the KL
is pulled towards, epoch by epoch. Pure arithmetic, without TensorFlow: the window draws a
run's whole schedule from it before anything has trained, and the model reads it each epoch.

Epochs are counted from 1, as in metrics.csv. A value holds for a whole epoch: the training
session sets it before the epoch's first batch.

- ``warmup`` (Bowman et al. 2016): the weight rises linearly from 0 to β over the first N
  epochs, 0 in epoch 1, β from epoch N + 1 on.
- ``cycles`` (Fu et al. 2019): the epochs the schedule spans are cut into M equal cycles; in
  each, the weight rises linearly from 0 to β over the first half (R = 0.5) and stays at β
  for the rest. A run continued past them keeps cycling with the same period.
- ``capacity`` (Burgess et al. 2018): the loss is rec + γ·|KL − C|, C rising linearly from 0
  in epoch 1 to C_max in epoch N + 1, then staying there.
"""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

WARMUP, CYCLES, CAPACITY = "warmup", "cycles", "capacity"
KINDS = (WARMUP, CYCLES, CAPACITY)
# Fu et al.'s R: the share of each cycle spent rising; they found 0.5 worked across their tasks.
CYCLE_RISE = Fraction(1, 2)
# The metrics.csv column of each kind: the weight multiplies the KL term, C is in nats.
COLUMNS = {WARMUP: "kl_weight", CYCLES: "kl_weight", CAPACITY: "capacity"}
SCHEDULE_COLUMNS = ("kl_weight", "capacity")

# γ of the capacity loss. Burgess et al. used γ = 1000 on dSprites, over hundreds of thousands
# of steps. A run here is a few hundred steps, and on mnist-5k (10 epochs, C to 25 nats over 5)
# γ = 1000 and 100 held the KL at C no better than γ = 10 (all within a nat once C > 0) while the
# |KL − C| term so outweighed the reconstruction in the gradients that they ended 35 and 21 nats
# worse in reconstruction. γ = 1 was too weak: while C was below what the model would use on its
# own, its KL ran up to 13 nats above C. So 10: the smallest tried that holds the KL at C.
DEFAULT_GAMMA = 10.0
MAX_GAMMA = 10_000.0
# C in nats: a 28 × 28 binary image holds at most 784·ln 2 ≈ 543 nats, so past this the
# target is more information than any image in the tool's sizes could usefully carry.
MAX_CAPACITY = 10_000.0


@dataclasses.dataclass(frozen=True)
class KLSchedule:
    """One schedule. ``epochs``: the warm-up's length, the epochs the cycles span, or the
    epochs over which C rises; ``cycles`` only for ``cycles``; ``capacity`` (C_max) and
    ``gamma`` only for ``capacity``."""

    kind: str
    beta: float = 1.0
    epochs: int = 1
    cycles: int = 1
    capacity: float = 0.0
    gamma: float = DEFAULT_GAMMA

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown KL schedule {self.kind!r}: choose one of {', '.join(KINDS)}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"a KL schedule spans a whole number of epochs >= 1, got {self.epochs!r}")
        if self.kind == CYCLES and (isinstance(self.cycles, bool) or not isinstance(self.cycles, int)
                                    or not 1 <= self.cycles <= self.epochs):
            raise ValueError(f"KL cycles must be a whole number from 1 to {self.epochs}, got {self.cycles!r}")
        for name in ("beta", "capacity", "gamma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"KL schedule {name} must be a finite number >= 0, got {value!r}")

    @property
    def column(self) -> str:
        """The metrics.csv column holding this schedule's value each epoch."""
        return COLUMNS[self.kind]

    def value(self, epoch: int) -> float:
        """The KL weight (warm-up, cycles) or C in nats (capacity) during ``epoch`` (1, 2, …)."""
        done = max(int(epoch), 1) - 1  # epochs finished before this one
        if self.kind == CYCLES:
            # Exact fractions: with float periods (10 epochs / 3 cycles) the start of a cycle
            # could land a rounding error short of it and get the full weight instead of 0.
            phase = Fraction(done * self.cycles % self.epochs, self.epochs)
            return self.beta * float(min(Fraction(1), phase / CYCLE_RISE))
        ramp = min(1.0, done / self.epochs)
        return self.capacity * ramp if self.kind == CAPACITY else self.beta * ramp

    def values(self, epochs: int) -> list[float]:
        """The value of every epoch from 1 to ``epochs``."""
        return [self.value(e) for e in range(1, epochs + 1)]

    def describe(self) -> str:
        """The schedule in words, for titles and tooltips."""
        span = epochs_text(self.epochs)
        if self.kind == WARMUP:
            return f"KL warm-up to β = {self.beta:g} over {span}"
        if self.kind == CYCLES:
            return f"{self.cycles} KL cycles to β = {self.beta:g} over {span}"
        return f"capacity C to {self.capacity:g} nats over {span}, γ = {self.gamma:g}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "KLSchedule":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def epochs_text(count: int) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


def schedule_of(config: Any) -> KLSchedule | None:
    """The schedule a validated TrainConfig asks for (duck-typed: a dict of its fields works
    too), or None when it trains with a fixed β."""
    get = config.get if isinstance(config, dict) else lambda name, default=None: getattr(config, name, default)
    beta = float(get("beta", 1.0))
    if get("kl_warmup"):
        return KLSchedule(WARMUP, beta=beta, epochs=int(get("kl_warmup")))
    if get("kl_cycles"):
        return KLSchedule(CYCLES, beta=beta, epochs=int(get("kl_cycles_over")), cycles=int(get("kl_cycles")))
    if get("capacity") is not None:
        return KLSchedule(CAPACITY, beta=beta, epochs=int(get("capacity_epochs")), capacity=float(get("capacity")),
                          gamma=float(get("gamma")))
    return None
