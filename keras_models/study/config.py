"""The settings of a β study. No TensorFlow here: the window builds and checks a study
before the heavy libraries have loaded."""
from __future__ import annotations

import dataclasses
from typing import Any

from keras_models.config import (DEFAULT_CLASSES, DEFAULT_K, ConfigError, TrainConfig, check_test_images,
                                 check_whole_number, default_traverse_dim, parse_beta)

REFERENCE_BETAS = (0.1, 1.0, 10.0)


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
    test_images: int | None = None  # measure on the first N test images (None: all of them)
    out: str = "reports"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "StudyConfig":
        values = dict(values)
        values["training"] = TrainConfig.from_dict(values.get("training", {}))
        return cls(**values)

    def validate(self) -> "StudyConfig":
        """Raise ConfigError naming the first bad value; return self when all are good."""
        if not self.betas:
            raise ConfigError("give at least one beta")
        self.betas = tuple(sorted({parse_beta(b) for b in self.betas}))
        check_whole_number("k (importance samples)", self.k)
        latent_dim = self.training.latent_dim
        if self.traverse_dim is None:
            self.traverse_dim = default_traverse_dim(latent_dim)
        if isinstance(self.traverse_dim, bool) or not isinstance(self.traverse_dim, int) \
                or not 0 <= self.traverse_dim < latent_dim:
            raise ConfigError(f"traverse dimension {self.traverse_dim} does not exist with latent size {latent_dim}")
        check_test_images(self.test_images)
        if not self.classes or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 9
                                   for c in self.classes):
            raise ConfigError(f"classes must be digits 0-9, got {list(self.classes)}")
        for entry in self.entries():
            self.train_config(entry).validate()
        return self

    def entries(self) -> list[dict[str, Any]]:
        """The models of the study, in order of β, then the CVAE."""
        entries = [{"key": "vae" if beta == 1.0 else f"bvae_b{beta:g}", "model": "vae" if beta == 1.0 else "bvae",
                    "beta": beta, "title": "VAE (β = 1)" if beta == 1.0 else f"β-VAE (β = {beta:g})"}
                   for beta in self.betas]
        if self.include_cvae:
            entries.append({"key": "cvae", "model": "cvae", "beta": 1.0, "title": "CVAE (β = 1)"})
        return entries

    def train_config(self, entry: dict[str, Any], out: str | None = None) -> TrainConfig:
        """The training settings of one model of the study, writing its run folder under ``out``."""
        return dataclasses.replace(self.training, model=entry["model"], beta=entry["beta"], out=out or self.out)
