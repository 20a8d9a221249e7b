"""Training settings: one validated object shared by the CLI and the window.

This module must not import TensorFlow, so the window can build and check a
configuration before the heavy libraries have loaded.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
from typing import Any

from keras_models.schedules import DEFAULT_GAMMA, MAX_CAPACITY, MAX_GAMMA

# The package name under which the models and optimizer are registered for saving: model
# files name it, so it never changes.
REGISTERED_PACKAGE = "vae_studio"
MODELS = ("vae", "bvae", "cvae")
MODEL_TITLES = {"vae": "VAE", "bvae": "β-VAE", "cvae": "CVAE"}
ARCHITECTURES = ("mlp", "conv")
PRECISIONS = ("auto", "float32", "bfloat16")
NAMED_DATASETS = ("mnist", "fashion_mnist", "mnist-5k", "shapes", "dsprites")
# Data sets named by a path: IDX files, or a folder of images with one sub-folder per class.
FOLDER_PREFIXES = ("idx:", "folder:")
MAX_BETA = 1000.0
DISENTANGLEMENT_KEYS = ("mig", "dci_disentanglement", "dci_completeness", "factor_vae")
# Class labels are digits: the CVAE and the evaluation classifier one-hot encode them into this many.
NUM_CLASSES = 10

# Upper bounds on sizes, shared by the command line, the window and model files. Past them a
# value is a typo, not an experiment: --latent-dim 100000 trained for minutes, wrote a 1 GB
# model and then asked for 410 GiB to draw one grid; a seed past 2**31 - 1 cannot be shown
# in the window's box (NumPy itself stops at 2**32 - 1). Sides of 256 already give the
# reference MLP 20 million weights in its first layer alone (256 × 256 × 300).
MAX_LATENT_DIM = 512
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 60_000
MAX_SEED = 2**31 - 1
MAX_IMAGE_SIDE = 256
MAX_HIDDEN_UNITS = 4096
MAX_HIDDEN_LAYERS = 8


TRAVERSAL_RANGE = 3.0
TRAVERSAL_STEPS = 11
INTERPOLATION_STEPS = 10
# The CVAE classes drawn when the user names none, and the latent dimension a single
# traversal sweeps: dimension 6, or the last one of a smaller code.
DEFAULT_CLASSES = (1, 4, 9)
DEFAULT_TRAVERSE_DIM = 6
# A latent dimension is active when the variance over images of its posterior mean
# E_q[z|x] exceeds this (Burda et al. 2016): an inactive one says the same whatever the image.
ACTIVE_UNIT_THRESHOLD = 0.01


def default_traverse_dim(latent_dim: int) -> int:
    return min(DEFAULT_TRAVERSE_DIM, latent_dim - 1)


class ConfigError(ValueError):
    """A setting has a value the tool cannot use; the message names it."""


def check_whole_number(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in [``minimum``, ``maximum``]; else ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


def check_image_shape(shape: Any, arch: str = "mlp") -> tuple[int, int, int]:
    """``shape`` as (height, width, 1) when it is a grey image size the networks can be built
    for; else ConfigError naming it. Shared by the models and the data checks, so data that
    no model could take is refused before TensorFlow loads."""
    sides = tuple(shape) if isinstance(shape, (list, tuple)) else ()
    if (len(sides) != 3 or sides[2] != 1
            or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or not 1 <= s <= MAX_IMAGE_SIDE
                   for s in sides)):
        raise ConfigError(f"image shape must be (height, width, 1) with sides from 1 to {MAX_IMAGE_SIDE}, "
                          f"got {shape!r}")
    sides = tuple(int(s) for s in sides)  # NumPy integers from array shapes become plain ints
    if arch == "conv" and (sides[0] % 4 or sides[1] % 4):
        raise ConfigError(f"the conv architecture needs image sides divisible by 4, got {sides}")
    return sides


def check_network(latent_dim: Any, hidden_units: Any, image_shape: Any,
                  arch: str = "mlp") -> tuple[int, tuple[int, ...], tuple[int, int, int]]:
    """(latent_dim, hidden_units, image_shape) normalised, or ConfigError naming the first bad one.

    Model files run this too (through the model's constructor), so one whose configuration
    asks for absurd sizes is refused before any weight is allocated.
    """
    check_whole_number("latent dim", latent_dim, maximum=MAX_LATENT_DIM)
    if not isinstance(hidden_units, (list, tuple)) or len(hidden_units) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"hidden units must be a list of at most {MAX_HIDDEN_LAYERS} layer sizes, "
                          f"got {hidden_units!r}")
    units = tuple(check_whole_number("hidden units", u, maximum=MAX_HIDDEN_UNITS) for u in hidden_units)
    return latent_dim, units, check_image_shape(image_shape, arch)


# Importance samples per image for the IWAE bound, and the fewest test images a measurement accepts.
DEFAULT_K = 1000
MIN_TEST_IMAGES = 10


def check_test_images(count: int | None) -> int | None:
    """``count`` when it is None (all) or a whole number >= MIN_TEST_IMAGES; else ConfigError."""
    return None if count is None else check_whole_number("test images", count, MIN_TEST_IMAGES)


def check_dataset_name(name: str) -> str:
    if name in NAMED_DATASETS:
        return name
    if any(name.startswith(prefix) and len(name) > len(prefix) for prefix in FOLDER_PREFIXES):
        return name
    raise ConfigError(
        f"unknown dataset {name!r}: choose one of {', '.join(NAMED_DATASETS)}, idx:FOLDER or folder:DIR"
    )


def parse_beta(text: str | float) -> float:
    """β from user text, refusing anything but a finite number in [0, MAX_BETA]."""
    try:
        beta = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"beta must be a number >= 0, got {text!r}") from None
    if not math.isfinite(beta) or beta < 0 or beta > MAX_BETA:
        raise ConfigError(f"beta must be a number between 0 and {MAX_BETA:g}, got {text!r}")
    return beta


def _positive_number(name: str, value: Any, maximum: float) -> float:
    """``value`` as a float when it is a finite number in (0, ``maximum``]; else ConfigError naming ``name``."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not 0 < number <= maximum:
        raise ConfigError(f"{name} must be a number above 0 and at most {maximum:g}, got {value!r}")
    return number


# Settings that may be None, "auto": sized to the training set once it is loaded (keras_models.sizing).
AUTO_SIZED = ("epochs", "batch_size")


@dataclasses.dataclass
class TrainConfig:
    model: str = "bvae"
    beta: float = 1.0
    epochs: int = 10
    batch_size: int = 1000
    latent_dim: int = 10
    learning_rate: float = 1e-3
    dataset: str = "mnist"
    data_dir: str | None = None
    seed: int = 0
    arch: str = "mlp"
    ckpt_every: int = 1
    precision: str = "auto"
    out: str = "runs"
    # Also write TensorBoard logs (scalars and preview grids per epoch) into RUN_DIR/tensorboard.
    tensorboard: bool = False
    # KL schedules (keras_models.schedules); the defaults mean none, so older config.json files load
    # unchanged. kl_cycles_over is the training's epochs when the cycles began: a resumed run keeps
    # their period. capacity_epochs and gamma get their defaults from validate() when capacity is set.
    kl_warmup: int = 0
    kl_cycles: int = 0
    kl_cycles_over: int | None = None
    capacity: float | None = None
    capacity_epochs: int | None = None
    gamma: float | None = None

    def validate(self) -> "TrainConfig":
        """Raise ConfigError naming the first bad value; return self when all are good."""
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}: choose one of {', '.join(MODELS)}")
        self.beta = parse_beta(self.beta)
        if self.model == "vae" and self.beta != 1.0:
            raise ConfigError(
                f"the vanilla VAE has beta = 1, got beta = {self.beta:g}: use -m bvae for other values"
            )
        limits = {"epochs": MAX_EPOCHS, "batch_size": MAX_BATCH_SIZE, "latent_dim": MAX_LATENT_DIM,
                  "ckpt_every": None}
        for name, maximum in limits.items():
            if name in AUTO_SIZED and getattr(self, name) is None:
                continue
            check_whole_number(name.replace("_", " "), getattr(self, name), maximum=maximum)
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and 0 < self.learning_rate < 10):
            raise ConfigError(f"learning rate must be a number in (0, 10), got {self.learning_rate!r}")
        if self.arch not in ARCHITECTURES:
            raise ConfigError(
                f"unknown architecture {self.arch!r}: choose one of {', '.join(ARCHITECTURES)}"
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        check_dataset_name(self.dataset)
        # Folders are kept absolute: a run resumed or evaluated from another working
        # folder must find the same files.
        for prefix in FOLDER_PREFIXES:
            if self.dataset.startswith(prefix):
                self.dataset = prefix + os.path.abspath(os.path.expanduser(self.dataset[len(prefix):]))
        if isinstance(self.data_dir, str) and self.data_dir:
            self.data_dir = os.path.abspath(os.path.expanduser(self.data_dir))
        check_whole_number("seed", self.seed, minimum=0, maximum=MAX_SEED)
        if not isinstance(self.tensorboard, bool):
            raise ConfigError(f"tensorboard must be true or false, got {self.tensorboard!r}")
        self._validate_schedule()
        return self

    def _validate_schedule(self) -> None:
        check_whole_number("KL warm-up epochs", self.kl_warmup, minimum=0, maximum=self.epochs)
        check_whole_number("KL cycles", self.kl_cycles, minimum=0, maximum=MAX_EPOCHS)
        chosen = [text for text, on in ((f"KL warm-up {self.kl_warmup}", self.kl_warmup),
                                        (f"KL cycles {self.kl_cycles}", self.kl_cycles),
                                        (f"capacity {self.capacity}", self.capacity is not None)) if on]
        if len(chosen) > 1:
            raise ConfigError(f"choose one KL schedule, got {' and '.join(chosen)}")
        if chosen and self.capacity is None and self.beta == 0:
            raise ConfigError(f"{chosen[0]} with beta = 0 has no KL term to schedule: give beta > 0")
        # With epochs on auto (None) what depends on them is settled when the size is chosen
        # (keras_models.sizing.apply_training_size validates again).
        if self.kl_cycles:
            if self.kl_cycles_over is None:
                self.kl_cycles_over = self.epochs
            if self.kl_cycles_over is None:
                return
            check_whole_number("epochs the KL cycles span", self.kl_cycles_over, maximum=MAX_EPOCHS)
            if 2 * self.kl_cycles > self.kl_cycles_over:
                raise ConfigError(f"{self.kl_cycles} KL cycles need at least {2 * self.kl_cycles} epochs "
                                  f"(2 a cycle: one to rise, one at beta), got {self.kl_cycles_over}")
        elif self.kl_cycles_over is not None:
            raise ConfigError(f"kl_cycles_over {self.kl_cycles_over!r} is set without KL cycles")
        if self.capacity is None:
            for name in ("capacity_epochs", "gamma"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name.replace('_', ' ')} {getattr(self, name)!r} needs a capacity "
                                      "(C_max, in nats)")
            return
        if self.model == "vae":
            raise ConfigError(f"capacity {self.capacity!r} replaces the KL term, but the vanilla VAE minimises "
                              "rec + KL: use -m bvae or -m cvae")
        if self.beta != 1.0:
            raise ConfigError(f"capacity control weighs |KL - C| by gamma, not beta: leave beta at 1, "
                              f"got beta = {self.beta:g}")
        self.capacity = _positive_number("capacity (C_max, nats)", self.capacity, MAX_CAPACITY)
        if self.capacity_epochs is None and self.epochs is not None:
            self.capacity_epochs = max(1, self.epochs // 2)  # C_max for the second half: the model settles there
        if self.capacity_epochs is not None:
            check_whole_number("capacity epochs", self.capacity_epochs, maximum=self.epochs)
        self.gamma = _positive_number("gamma", DEFAULT_GAMMA if self.gamma is None else self.gamma, MAX_GAMMA)

    @property
    def conditional(self) -> bool:
        return self.model == "cvae"

    def run_name(self) -> str:
        """Short folder-friendly label such as ``bvae_b2``, ``cvae_b0.5`` or ``bvae_b4_warmup10``."""
        if self.capacity is not None:
            return f"{self.model}_capacity{self.capacity:g}"
        schedule = (f"_warmup{self.kl_warmup}" if self.kl_warmup else
                    f"_cycles{self.kl_cycles}" if self.kl_cycles else "")
        return f"{self.model}_b{self.beta:g}{schedule}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclasses.dataclass(frozen=True)
class ViewRequest:
    """Explorer settings for the traversal, class, latent map and interpolation panels. ``dim``
    None means every dimension, one row each; ``base`` is "prior" (random draws) or "image"
    (one validation image's code)."""

    dim: int | None = 0
    span: float = TRAVERSAL_RANGE
    steps: int = TRAVERSAL_STEPS
    base: str = "prior"
    image_index: int = 0
    rows: int = 6
    seed: int = 0
    classes: tuple[int, ...] = DEFAULT_CLASSES
    per_class: int = 10
    style_images: int = 6
    sort_by_kl: bool = False
    map_point: tuple[float, float] | None = None  # where the latent map was clicked, in map coordinates
    projection: str = "pca"  # how the latent map puts codes on a plane: "pca" or "umap" (optional)
    interpolate_from: int = 0  # validation image indices
    interpolate_to: int = 1
    interpolate_random: bool = False  # two prior draws instead of two images' codes
    interpolation_seed: int = 0
    interpolation_steps: int = INTERPOLATION_STEPS
    spherical: bool = False
