"""What the window shows of a model, computed without any widget.

``epoch_images`` and ``render_views`` turn a model into plain numpy arrays
that any front end can draw.
"""
from __future__ import annotations

import numpy as np

from keras_models import grids
from keras_models.config import ViewRequest
from keras_models.evaluation import active_units
from keras_models.events import EpochPictures
from keras_models.images import label_rows, save_gif
from keras_models.latent_views import latent_map, latent_views
from keras_models.models import VAE

PREVIEW_IMAGES = 20
PREVIEW_SAMPLES = 50
KL_IMAGES = 500


def _image_labels(model: VAE, labels: np.ndarray | None) -> np.ndarray | None:
    return labels if model.conditional else None


def preview_grids(model: VAE, images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructions of the first ``PREVIEW_IMAGES`` images, samples of fixed prior codes):
    the two grids shown every epoch, in the window and in TensorBoard."""
    preview_x, preview_y = images[:PREVIEW_IMAGES], labels[:PREVIEW_IMAGES]
    return (grids.reconstruction_grid(model, preview_x, _image_labels(model, preview_y)),
            grids.samples_grid(model, grids.prior_codes(PREVIEW_SAMPLES, model.latent_dim, seed)))


def epoch_pictures(model: VAE, images: np.ndarray, labels: np.ndarray, seed: int,
                   projection: str = "pca") -> EpochPictures:
    """The per-epoch pictures: reconstructions of a fixed batch, samples of fixed prior codes,
    the mean KL of each latent dimension and the number of active units, on the first
    ``KL_IMAGES`` validation images, and the latent map of a fixed subsample, projected by
    ``projection`` ("pca" or "umap")."""
    reconstructions, samples = preview_grids(model, images, labels, seed)
    kl_labels = _image_labels(model, labels[:KL_IMAGES])
    return EpochPictures(
        reconstructions=reconstructions, samples=samples,
        kl_per_dim=model.kl_per_dimension(images[:KL_IMAGES], kl_labels),
        active_units=active_units(model, images[:KL_IMAGES], kl_labels)[0],
        latent_map=latent_map(model, images, labels, projection, seed),
    )


def _base_codes(model: VAE, request: ViewRequest, images: np.ndarray, labels: np.ndarray):
    """Codes the traversal starts from, and the labels that go with them (CVAE)."""
    if request.base == "image":
        index = int(np.clip(request.image_index, 0, len(images) - 1))
        label = labels[index:index + 1]
        z_mean, _ = model.encode(images[index:index + 1], _image_labels(model, label))
        return z_mean, (int(label[0]) if model.conditional else None)
    codes = grids.prior_codes(request.rows, model.latent_dim, request.seed)
    return codes, (int(labels[0]) if model.conditional else None)


def render_views(model: VAE, request: ViewRequest, images: np.ndarray, labels: np.ndarray,
                 latent=None) -> dict[str, np.ndarray]:
    """The traversal grid, the interpolation, the decoded map point (with ``latent``, the map shown)
    and, for a CVAE, the class and class x style grids."""
    values = grids.traversal_values(request.span, request.steps)
    codes, label = _base_codes(model, request, images, labels)
    index = int(np.clip(request.image_index, 0, len(images) - 1))
    start = f"the code of validation image {index}" if request.base == "image" else "a prior draw"
    if request.dim is None:
        kl = model.kl_per_dimension(images[:KL_IMAGES], _image_labels(model, labels[:KL_IMAGES]))
        dims = list(np.argsort(-kl)) if request.sort_by_kl else list(range(model.latent_dim))
        traversal = label_rows(grids.all_dims_traversal(model, codes[0], values, dims=dims, label=label),
                                     [f"z{d} {kl[d]:.2f}" for d in dims])
        order = "sorted by KL (nats, left)" if request.sort_by_kl else "KL in nats on the left"
        caption = f"one row per dimension, {order}; each from {-request.span:g} to {request.span:g}, from {start}"
    else:
        dim = min(request.dim, model.latent_dim - 1)
        traversal = grids.traversal_grid(model, codes, dim, values, label)
        caption = f"columns: z{dim} from {-request.span:g} to {request.span:g}; rows: " + (
            start if request.base == "image" else f"{len(codes)} prior draws")
    if label is not None:
        caption += f"; label {label}"
    views = {"traversal": traversal, "traversal_caption": caption,
             **latent_views(model, request, images, labels, latent)}
    if model.conditional:
        if request.classes:
            views["classes"] = grids.class_grid(model, request.classes, request.per_class, request.seed)
        n = request.style_images
        views["class_style"] = grids.class_style_grid(model, images[:n], labels[:n])
    return views



def export_traversal_gif(model: VAE, request: ViewRequest, images: np.ndarray, labels: np.ndarray, path) -> None:
    """The explorer's base code, every dimension at once, one GIF frame per traversal step."""
    codes, label = _base_codes(model, request, images, labels)
    dims = None
    if request.sort_by_kl:
        kl = model.kl_per_dimension(images[:KL_IMAGES], _image_labels(model, labels[:KL_IMAGES]))
        dims = list(np.argsort(-kl))
    frames = grids.traversal_frames(model, codes[0], grids.traversal_values(request.span, request.steps),
                                    dims=dims, label=label)
    save_gif(frames, path)
