"""The settings of a β study. No TensorFlow here: the window builds and checks a study
before the heavy libraries have loaded.

A study is a list of trials (``entries()``): one per model kind/β and seed. A trial's
``key`` names its run folder (``runs/<key>``) and is unique in the study; its ``group``
is the same for every seed of one model kind/β, the unit of the report's table.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from keras_models.config import (DEFAULT_CLASSES, DEFAULT_K, ConfigError, TrainConfig, check_test_images,
                                 check_whole_number, default_traverse_dim, parse_beta)
from keras_models.schedules import epochs_text

REFERENCE_BETAS = (0.1, 1.0, 10.0)
# Test images a study measures unless told: all of them, except on the sets with known factors,
# whose 73,728 test images took over 14 minutes of IWAE per model here; 10,000 take ~35 s.
FACTOR_SETS_TEST_IMAGES = 10_000
FACTOR_SETS = ("shapes", "dsprites")


def default_test_images(dataset: str) -> int | None:
    """The test images a study of ``dataset`` measures by default (None: all)."""
    return FACTOR_SETS_TEST_IMAGES if dataset in FACTOR_SETS else None
# A Ray cluster to join: "auto" (the one this machine belongs to), ray://HOST:PORT (Ray Client) or HOST:PORT.
RAY_ADDRESS = re.compile(r"^(auto|ray://[^\s:/]+:\d+|[^\s:/]+:\d+)$")


@dataclasses.dataclass
class StudyConfig:
    """A study: the β values, what to measure, and ``training``, the settings every model
    shares (its model and β are set per model)."""

    training: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    betas: tuple[float, ...] = REFERENCE_BETAS
    include_cvae: bool = True
    k: int = DEFAULT_K
    traverse_dim: int | None = None  # None: the default of keras_models.config.default_traverse_dim
    classes: tuple[int, ...] = DEFAULT_CLASSES
    # Measure on the first N test images; None or "all": all of them; "auto": default_test_images.
    test_images: int | str | None = "auto"
    out: str = "reports"
    seeds: tuple[int, ...] | None = None  # None: the one seed of ``training``
    test_idx: str | None = None  # a folder of t10k IDX files measured instead of the data set's test split
    # KL schedules: each one set adds a group beside the β family (see scheduled_groups).
    kl_warmup: int = 0
    kl_cycles: int = 0
    capacity: float | None = None
    capacity_epochs: int | None = None
    gamma: float | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "StudyConfig":
        values = dict(values)
        values["training"] = TrainConfig.from_dict(values.get("training", {}))
        for key in ("betas", "classes", "seeds"):  # JSON gives lists
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def validate(self) -> "StudyConfig":
        """Raise ConfigError naming the first bad value; return self when all are good."""
        if not self.betas:
            raise ConfigError("give at least one beta")
        self.betas = tuple(sorted({parse_beta(b) for b in self.betas}))
        check_whole_number("k (importance samples)", self.k)
        seeds = (self.training.seed,) if self.seeds is None else tuple(self.seeds)
        if not seeds:
            raise ConfigError("give at least one seed")
        for seed in seeds:
            check_whole_number("seed", seed, minimum=0)
        self.seeds = tuple(sorted(set(seeds)))
        latent_dim = self.training.latent_dim
        if self.traverse_dim is None:
            self.traverse_dim = default_traverse_dim(latent_dim)
        if isinstance(self.traverse_dim, bool) or not isinstance(self.traverse_dim, int) \
                or not 0 <= self.traverse_dim < latent_dim:
            raise ConfigError(f"traverse dimension {self.traverse_dim} does not exist with latent size {latent_dim}")
        if self.test_images == "auto":
            self.test_images = default_test_images(self.training.dataset)
        elif self.test_images == "all":
            self.test_images = None
        check_test_images(self.test_images)
        if not self.classes or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 9
                                   for c in self.classes):
            raise ConfigError(f"classes must be digits 0-9, got {list(self.classes)}")
        if self.capacity is None:
            for name in ("capacity_epochs", "gamma"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name.replace('_', ' ')} {getattr(self, name)!r} needs a capacity "
                                      "(C_max, in nats)")
        for entry in self.entries():
            self.train_config(entry).validate()
        return self

    def groups(self) -> list[dict[str, Any]]:
        """The model kinds of the study, one per β in order, then the CVAE."""
        groups = [{"group": "vae" if beta == 1.0 else f"bvae_b{beta:g}", "model": "vae" if beta == 1.0 else "bvae",
                   "beta": beta, "title": "VAE (β = 1)" if beta == 1.0 else f"β-VAE (β = {beta:g})"}
                  for beta in self.betas]
        if self.include_cvae:
            groups.append({"group": "cvae", "model": "cvae", "beta": 1.0, "title": "CVAE (β = 1)"})
        return groups + self.scheduled_groups()

    def scheduled_groups(self) -> list[dict[str, Any]]:
        """A group per KL schedule asked for. Warm-up and cycles anneal to the study's largest β,
        where a fixed weight loses the most active units, so they sit beside that β's group;
        capacity control has no β (it weighs |KL − C| by γ)."""
        beta = max(self.betas)
        model, name = ("vae", "VAE") if beta == 1.0 else ("bvae", "β-VAE")
        groups = []
        if self.kl_warmup:
            groups.append({"group": f"warmup{self.kl_warmup}_b{beta:g}", "model": model, "beta": beta,
                           "schedule": "warmup",
                           "title": f"{name} with KL warm-up over {epochs_text(self.kl_warmup)} (β = {beta:g})"})
        if self.kl_cycles:
            groups.append({"group": f"cycles{self.kl_cycles}_b{beta:g}", "model": model, "beta": beta,
                           "schedule": "cycles", "title": f"{name} with {self.kl_cycles} KL cycles (β = {beta:g})"})
        if self.capacity is not None:
            groups.append({"group": f"capacity{self.capacity:g}", "model": "bvae", "beta": 1.0,
                           "schedule": "capacity", "title": f"capacity-controlled β-VAE (C_max {self.capacity:g})"})
        return groups

    def entries(self) -> list[dict[str, Any]]:
        """The trials of the study: every model kind once per seed, seed by seed, so the first
        trials to finish already cover every β."""
        seeds = (self.training.seed,) if self.seeds is None else self.seeds
        return [{"key": f"{group['group']}_s{seed}", **group, "seed": seed}
                for seed in seeds for group in self.groups()]

    def train_config(self, entry: dict[str, Any], out: str | None = None) -> TrainConfig:
        """The training settings of one trial of the study, writing its run folder under ``out``."""
        schedule = entry.get("schedule")
        return dataclasses.replace(
            self.training, model=entry["model"], beta=entry["beta"], seed=entry.get("seed", self.training.seed),
            out=out or self.out, kl_warmup=self.kl_warmup if schedule == "warmup" else 0,
            kl_cycles=self.kl_cycles if schedule == "cycles" else 0, kl_cycles_over=None,
            **({"capacity": self.capacity, "capacity_epochs": self.capacity_epochs, "gamma": self.gamma}
               if schedule == "capacity" else {"capacity": None, "capacity_epochs": None, "gamma": None}))
