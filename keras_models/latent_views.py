"""What the latent map and interpolation tabs show of a model, as numpy arrays and files.

Every picture is one batched decode. The geometry (projections, paths,
blended labels) lives in ``keras_models.latent_space``, free of TensorFlow.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_models.config import NUM_CLASSES, ViewRequest
from keras_models.images import label_rows, save_figure, save_png, tile
from keras_models.latent_space import (INTERPOLATION_STEPS, MANIFOLD_SPAN, MANIFOLD_STEPS, LatentMap,
                                       fit_projection, interpolate_codes, label_blend, latent_map_figure,
                                       manifold_codes, map_indices)
from keras_models.models import VAE, sigmoid

LATENT_MAP_FILE, INTERPOLATION_FILE = "latent_map.png", "interpolation.png"


def latent_map(model: VAE, images: np.ndarray, labels: np.ndarray, method: str = "pca",
               seed: int = 0) -> LatentMap | None:
    """Posterior means of a fixed subsample of ``images`` on a plane (None for a 1-D latent space),
    with the decoded manifold grid when the latent space is 2-D."""
    if model.latent_dim < 2:
        return None
    index = map_indices(len(images))
    x, y = images[index], np.asarray(labels)[index]
    codes, _ = model.encode(x, y if model.conditional else None)
    projection = fit_projection(codes, method, seed)
    points = projection.points if projection.points is not None else projection.transform(codes)
    if model.latent_dim == 2:
        label = int(y[0]) if model.conditional else None
        manifold = manifold_grid(model, label)
        # The label first: a narrow panel cuts the caption's end, and for a CVAE it is what matters most.
        note = ("" if label is None else f"label {label}; ") + (
            f"z0 from {-MANIFOLD_SPAN:g} (left) to {MANIFOLD_SPAN:g}, z1 from {MANIFOLD_SPAN:g} (top) "
            f"to {-MANIFOLD_SPAN:g}")
        return LatentMap(points, y, codes, projection, manifold, note, label)
    return LatentMap(points, y, codes, projection)


def manifold_grid(model: VAE, label: int | None = None) -> np.ndarray:
    """A 2-D latent space decoded over a regular grid, one decode for all of it."""
    codes = manifold_codes()
    labels = None if label is None else np.full(len(codes), label)
    return tile(sigmoid(model.decode(codes, labels)), MANIFOLD_STEPS, MANIFOLD_STEPS)


def decode_point(model: VAE, latent: LatentMap, point: tuple[float, float]) -> tuple[np.ndarray, str]:
    """The image a point of the map decodes to, and a caption saying how."""
    code = latent.code_at(point)
    label = latent.nearest_label(point) if model.conditional else None
    image = sigmoid(model.decode(code[None, :], None if label is None else [label]))[0, ..., 0]
    caption = latent.projection.inverse_note[0].upper() + latent.projection.inverse_note[1:]
    if label is not None:
        caption += f"; decoded with label {label}, that of the nearest mapped image"
    return image, caption


def interpolation_grid(model: VAE, start: np.ndarray, end: np.ndarray, steps: int = INTERPOLATION_STEPS,
                       spherical: bool = False, labels: tuple[int, int] | None = None) -> np.ndarray:
    """Decoded codes along the path from ``start`` to ``end``. For the CVAE (``labels`` the two
    images' classes) a first row where code and label both move, and a second that keeps the
    first code and blends the label from one one-hot to the other."""
    path = interpolate_codes(start, end, steps, spherical)
    if labels is None:
        return tile(sigmoid(model.decode(path)), 1, steps)
    weights = label_blend(labels[0], labels[1], steps)
    codes = np.concatenate([path, np.repeat(path[:1], steps, axis=0)])
    images = sigmoid(model.decode_label_weights(codes, np.concatenate([weights, weights])))
    return label_rows(tile(images, 2, steps), ["both", "label"], width=40)


def _interpolation_ends(model: VAE, request: ViewRequest, images: np.ndarray, labels: np.ndarray):
    """The two codes (and, for the CVAE, classes) an interpolation joins, and words for them."""
    if request.interpolate_random:
        rng = np.random.default_rng(request.interpolation_seed)
        codes = rng.standard_normal((2, model.latent_dim)).astype("float32")
        classes = tuple(int(c) for c in rng.integers(0, NUM_CLASSES, 2))
        ends = ("a prior draw", "another")
    else:
        index = [int(np.clip(i, 0, len(images) - 1)) for i in (request.interpolate_from, request.interpolate_to)]
        classes = tuple(int(labels[i]) for i in index)
        codes, _ = model.encode(images[index], np.asarray(classes) if model.conditional else None)
        ends = tuple(f"validation image {i}" for i in index)
    return codes, (classes if model.conditional else None), ends


def interpolation_caption(ends: tuple[str, str], spherical: bool, classes: tuple[int, int] | None) -> str:
    kind = "spherical (slerp)" if spherical else "linear"
    caption = f"{kind}, from the code of {ends[0]} to {ends[1]}"
    if classes is not None:
        caption += (f"; 'both': code and label move together; 'label': the first code kept, the label's "
                    f"one-hot blended from {classes[0]} to {classes[1]} (soft labels in between)")
    return caption


def latent_views(model: VAE, request: ViewRequest, images: np.ndarray, labels: np.ndarray,
                 latent: LatentMap | None) -> dict[str, object]:
    """The interpolation, and the image of the map point the user clicked (when there is a map)."""
    codes, classes, ends = _interpolation_ends(model, request, images, labels)
    views: dict[str, object] = {
        "interpolation": interpolation_grid(model, codes[0], codes[1], request.interpolation_steps,
                                            request.spherical, classes),
        "interpolation_caption": interpolation_caption(ends, request.spherical, classes),
    }
    if request.map_point is not None and latent is not None and latent.codes.shape[1] == model.latent_dim:
        views["map_point"], views["map_point_caption"] = decode_point(model, latent, request.map_point)
    return views


def write_latent_pictures(model: VAE, images: np.ndarray, labels: np.ndarray, out_dir: Path,
                          seed: int = 0) -> list[Path]:
    """latent_map.png (with the manifold grid for a 2-D latent space) and interpolation.png: linear,
    from validation image 0 to the first image of another class."""
    written = []
    latent = latent_map(model, images, labels, seed=seed)
    if latent is not None:
        written.append(save_figure(latent_map_figure(latent), out_dir / LATENT_MAP_FILE))
    if len(images) >= 2:
        other = np.flatnonzero(np.asarray(labels) != labels[0])
        end = int(other[0]) if other.size else 1
        codes, classes, _ = _interpolation_ends(model, ViewRequest(interpolate_from=0, interpolate_to=end),
                                                images, labels)
        written.append(save_png(interpolation_grid(model, codes[0], codes[1], labels=classes),
                                out_dir / INTERPOLATION_FILE))
    return written
