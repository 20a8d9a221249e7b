"""Image grids of a model's output: reconstructions, samples, traversals, classes.

Every grid is one batched decode, never one model call per image. Arrays are
float32 in [0, 1], shaped (height, width); ``keras_models.images`` lays them
out and writes them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from keras_models.config import DEFAULT_CLASSES, DEFAULT_TRAVERSE_DIM, TRAVERSAL_RANGE, TRAVERSAL_STEPS
from keras_models.images import label_rows, save_gif, save_png, tile
from keras_models.latent_views import write_latent_pictures
from keras_models.models import NUM_CLASSES, VAE, sigmoid

def traversal_values(span: float = TRAVERSAL_RANGE, steps: int = TRAVERSAL_STEPS) -> np.ndarray:
    return np.linspace(-span, span, steps, dtype="float32")


def prior_codes(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """Fixed draws from N(0, I): the same seed gives the same codes, epoch after epoch."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")


def _decode_probabilities(model: VAE, z: np.ndarray, labels=None) -> np.ndarray:
    return sigmoid(model.decode(z, labels))


def reconstruction_grid(model: VAE, images: np.ndarray, labels=None, per_row: int = 10) -> np.ndarray:
    """Rows of originals, each followed by the row of their reconstructions."""
    n = len(images) - len(images) % per_row
    if n == 0:
        raise ValueError(f"need at least {per_row} images for a reconstruction grid, got {len(images)}")
    images = images[:n]
    labels = None if labels is None else np.asarray(labels)[:n]
    recon = model.reconstruct(images, labels)
    rows = n // per_row
    pairs = np.stack([images.reshape(rows, per_row, *images.shape[1:]),
                      recon.reshape(rows, per_row, *images.shape[1:])], axis=1)
    return tile(pairs.reshape(-1, *images.shape[1:]), 2 * rows, per_row)


def samples_grid(model: VAE, codes: np.ndarray, cols: int = 10, labels=None) -> np.ndarray:
    """Decode fixed prior codes (and labels, for the CVAE) into a grid."""
    if model.conditional and labels is None:
        labels = np.arange(len(codes)) % NUM_CLASSES
    images = _decode_probabilities(model, codes, labels)
    return tile(images, len(codes) // cols, cols)


def traversal_grid(model: VAE, base_codes: np.ndarray, dim: int, values: np.ndarray, labels=None) -> np.ndarray:
    """Rows are base codes, columns sweep latent ``dim`` through ``values``."""
    base_codes = np.atleast_2d(base_codes).astype("float32")
    if not 0 <= dim < base_codes.shape[1]:
        raise ValueError(f"latent dimension {dim} does not exist: the model has {base_codes.shape[1]}")
    codes = np.repeat(base_codes, len(values), axis=0)
    codes[:, dim] = np.tile(values, len(base_codes))
    if labels is not None:
        labels = np.repeat(np.broadcast_to(labels, (len(base_codes),)), len(values))
    return tile(_decode_probabilities(model, codes, labels), len(base_codes), len(values))


def all_dims_traversal(model: VAE, base_code: np.ndarray, values: np.ndarray,
                       dims: Sequence[int] | None = None, label: int | None = None) -> np.ndarray:
    """One row per latent dimension, each sweeping that dimension from one base code."""
    base_code = np.asarray(base_code, dtype="float32").reshape(-1)
    dims = list(range(len(base_code))) if dims is None else list(dims)
    codes = np.repeat(base_code[None, :], len(dims) * len(values), axis=0)
    for row, dim in enumerate(dims):
        codes[row * len(values):(row + 1) * len(values), dim] = values
    labels = None if label is None else np.full(len(codes), label)
    return tile(_decode_probabilities(model, codes, labels), len(dims), len(values))


def traversal_frames(model: VAE, base_code: np.ndarray, values: np.ndarray, dims: Sequence[int] | None = None,
                     label: int | None = None) -> list[np.ndarray]:
    """One frame per step of ``values``: a column with one labelled row per dimension in
    ``dims``, each set to that step's value. All frames come from one decode."""
    base_code = np.asarray(base_code, dtype="float32").reshape(-1)
    dims = list(range(len(base_code))) if dims is None else list(dims)
    codes = np.repeat(base_code[None, :], len(values) * len(dims), axis=0)
    for step, value in enumerate(values):
        for j, dim in enumerate(dims):
            codes[step * len(dims) + j, dim] = value
    labels = None if label is None else np.full(len(codes), label)
    images = _decode_probabilities(model, codes, labels)
    names = [f"z{d}" for d in dims]
    return [label_rows(tile(images[s * len(dims):(s + 1) * len(dims)], len(dims), 1), names, width=30)
            for s in range(len(values))]


def class_grid(model: VAE, classes: Sequence[int], per_class: int = 10, seed: int = 0) -> np.ndarray:
    """CVAE samples, one row per requested class, the same prior codes in every row."""
    classes = [int(c) for c in classes]
    if not classes:
        raise ValueError("choose at least one class")
    codes = np.tile(prior_codes(per_class, model.latent_dim, seed), (len(classes), 1))
    labels = np.repeat(classes, per_class)
    return tile(_decode_probabilities(model, codes, labels), len(classes), per_class)


def class_style_grid(model: VAE, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row keeps the style (code) of one image and decodes it under every label 0-9."""
    z_mean, _ = model.encode(images, labels)
    codes = np.repeat(z_mean, NUM_CLASSES, axis=0)
    all_labels = np.tile(np.arange(NUM_CLASSES), len(images))
    return tile(_decode_probabilities(model, codes, all_labels), len(images), NUM_CLASSES)


def run_grids(model: VAE, images: np.ndarray, labels: np.ndarray, traverse_dim: int = DEFAULT_TRAVERSE_DIM,
              classes: Sequence[int] = DEFAULT_CLASSES, seed: int = 0) -> dict[str, np.ndarray]:
    """The standard set of grids for a trained model, keyed by file stem."""
    cond_labels = labels if model.conditional else None
    values = traversal_values()
    codes = prior_codes(8, model.latent_dim, seed)
    grids = {
        "reconstructions": reconstruction_grid(model, images[:20], None if cond_labels is None else cond_labels[:20]),
        "samples": samples_grid(model, prior_codes(100, model.latent_dim, seed)),
        f"traversal_dim{traverse_dim}": traversal_grid(
            model, codes, traverse_dim, values, None if cond_labels is None else cond_labels[:8]),
        "traversal_all_dims": all_dims_traversal(
            model, codes[0], values, label=None if cond_labels is None else int(cond_labels[0])),
    }
    if model.conditional:
        grids["classes_" + "".join(str(c) for c in classes)] = class_grid(model, classes, 10, seed)
        grids["class_style"] = class_style_grid(model, images[:8], labels[:8])
    return grids


def write_run_grids(model: VAE, images: np.ndarray, labels: np.ndarray, out_dir: str | Path,
                    traverse_dim: int = DEFAULT_TRAVERSE_DIM, classes: Sequence[int] = DEFAULT_CLASSES,
                    seed: int = 0) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [save_png(grid, out_dir / f"{name}.png")
               for name, grid in run_grids(model, images, labels, traverse_dim, classes, seed).items()]
    label = int(labels[0]) if model.conditional else None
    frames = traversal_frames(model, prior_codes(1, model.latent_dim, seed)[0], traversal_values(), label=label)
    written.append(save_gif(frames, out_dir / "traversal_all_dims.gif"))
    return written + write_latent_pictures(model, images, labels, out_dir, seed)
