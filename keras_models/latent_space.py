"""The geometry of the latent space, without a model: 2-D projections of codes and back,
interpolation paths, the manifold grid of a 2-D code, and blended labels.

No TensorFlow here: the window draws and saves latent maps from these objects
on its own thread. scikit-learn (PCA) and umap-learn (optional) load only when
a projection is fitted.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import warnings
from typing import Any

import numpy as np

from keras_models.config import INTERPOLATION_STEPS, NUM_CLASSES

MAP_IMAGES = 2000  # validation images on a latent map: enough for the shape, cheap to encode every epoch
MANIFOLD_SPAN = 3.0  # the manifold grid covers z in [-3, 3]^2, as the keras-io VAE example does
MANIFOLD_STEPS = 15
PROJECTIONS = ("pca", "umap")


def umap_installed() -> bool:
    """Whether umap-learn can be imported, without importing it: the window asks at start, and
    importing umap (numba, pynndescent) there would cost seconds."""
    try:
        return importlib.util.find_spec("umap") is not None
    except ValueError:  # already imported, by a module without a spec: it is there
        return True


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Projection:
    """Codes (n, d) to map points (n, 2) and back.

    ``method`` is "identity" (a 2-D code is its own map), "pca" or "umap".
    ``inverse_note`` says, for captions, what a point on the map decodes as.
    """

    method: str
    axis_labels: tuple[str, str]
    inverse_note: str
    mean: np.ndarray | None = None  # PCA: the mean code
    components: np.ndarray | None = None  # PCA: (2, d), orthonormal rows
    reducer: Any = None  # UMAP
    codes: np.ndarray | None = None  # UMAP: the fitted codes, for nearest-neighbour inverses
    points: np.ndarray | None = None  # UMAP: where they landed

    def transform(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype="float32")
        if self.method == "identity":
            return codes[:, :2].copy()
        if self.method == "pca":
            return ((codes - self.mean) @ self.components.T).astype("float32")
        return np.asarray(self.reducer.transform(codes), dtype="float32")

    def inverse(self, points: np.ndarray) -> np.ndarray:
        """Full codes for map points (n, 2)."""
        points = np.atleast_2d(np.asarray(points, dtype="float32"))
        if self.method == "identity":
            return points.copy()
        if self.method == "pca":
            return (self.mean + points @ self.components).astype("float32")
        if hasattr(self.reducer, "inverse_transform"):
            return np.asarray(self.reducer.inverse_transform(points), dtype="float32")
        return self.codes[nearest(self.points, points)]


def nearest(points: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``points`` (n, 2) to each query (m, 2)."""
    queries = np.atleast_2d(queries)
    distances = ((points[None, :, :] - queries[:, None, :]) ** 2).sum(axis=-1)
    return distances.argmin(axis=1)


def fit_projection(codes: np.ndarray, method: str = "pca", seed: int = 0) -> Projection:
    """A 2-D projection of ``codes`` (n, d): the code itself when d = 2, else PCA or UMAP."""
    codes = np.asarray(codes, dtype="float32")
    if codes.ndim != 2 or len(codes) < 3:
        raise ValueError(f"a latent map needs at least 3 codes, got an array shaped {codes.shape}")
    if codes.shape[1] == 2:
        return Projection("identity", ("z0", "z1"), "a point is the code itself")
    if codes.shape[1] < 2:
        raise ValueError(f"a latent map needs at least 2 latent dimensions, the model has {codes.shape[1]}")
    if method == "pca":
        from sklearn.decomposition import PCA

        with warnings.catch_warnings():
            # Codes that do not vary at all (a posterior collapsed in every dimension) have no share
            # of variance to divide by: the axes say so below rather than "nan%".
            warnings.simplefilter("ignore", RuntimeWarning)
            pca = PCA(n_components=2, random_state=seed).fit(codes)
        share = pca.explained_variance_ratio_
        if np.all(np.isfinite(share)):
            labels = (f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%} of variance)")
        else:
            labels = ("PC1 (the codes do not vary)", "PC2 (the codes do not vary)")
        return Projection("pca", labels,
                          "a point decodes as the mean code plus that point along PC1 and PC2 "
                          "(the other directions at their mean)",
                          mean=pca.mean_.astype("float32"), components=pca.components_.astype("float32"))
    if method == "umap":
        if not umap_available():
            raise ValueError("projection 'umap' needs umap-learn: pip install umap-learn")
        import umap

        reducer = umap.UMAP(n_components=2, random_state=seed)
        points = np.asarray(reducer.fit_transform(codes), dtype="float32")
        note = ("a point decodes through UMAP's inverse transform" if hasattr(reducer, "inverse_transform")
                else "a point decodes as the code of the nearest mapped image")
        return Projection("umap", ("UMAP 1", "UMAP 2"), note, reducer=reducer, codes=codes, points=points)
    raise ValueError(f"unknown projection {method!r}: choose one of {', '.join(PROJECTIONS)}")


@dataclasses.dataclass(frozen=True)
class LatentMap:
    """Posterior means of a fixed set of validation images on a plane, with their labels.

    ``manifold`` is the decoded grid of a 2-D latent space (None otherwise), ``manifold_note``
    what it shows, ``manifold_label`` the class a CVAE's grid is decoded under.
    """

    points: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,)
    codes: np.ndarray  # (n, d)
    projection: Projection
    manifold: np.ndarray | None = None
    manifold_note: str = ""
    manifold_label: int | None = None  # a CVAE's grid is decoded under one class: this one

    def code_at(self, point: tuple[float, float]) -> np.ndarray:
        """The full code (d,) a point of the map decodes from."""
        return self.projection.inverse(np.asarray(point, dtype="float32")[None, :])[0]

    def nearest_label(self, point: tuple[float, float]) -> int:
        return int(self.labels[nearest(self.points, np.asarray(point, dtype="float32"))[0]])


def map_indices(count: int, limit: int = MAP_IMAGES, seed: int = 0) -> np.ndarray:
    """A fixed, sorted subsample of ``limit`` of ``count`` images (all of them when fewer)."""
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def manifold_codes(span: float = MANIFOLD_SPAN, steps: int = MANIFOLD_STEPS) -> np.ndarray:
    """A regular grid of 2-D codes, row by row: z1 falls from +span (top row) to -span,
    z0 rises from -span to +span left to right, so the grid reads like the map."""
    values = np.linspace(-span, span, steps, dtype="float32")
    z1, z0 = np.meshgrid(values[::-1], values, indexing="ij")
    return np.stack([z0.ravel(), z1.ravel()], axis=1)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation from ``a`` (t = 0) to ``b`` (t = 1), one row per t.

    Follows the great circle between the two directions while the norm moves
    linearly, so the path stays where a Gaussian prior puts its mass instead
    of cutting through the low-norm middle; parallel or opposite codes fall back to linear.
    """
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    t = np.asarray(t, dtype="float64")[:, None]
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return ((1 - t) * a + t * b).astype("float32")
    cos = np.clip(a @ b / (norm_a * norm_b), -1.0, 1.0)
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:
        return ((1 - t) * a + t * b).astype("float32")
    unit_a, unit_b = a / norm_a, b / norm_b
    direction = (np.sin((1 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    path = direction * ((1 - t) * norm_a + t * norm_b)
    path[t[:, 0] == 0], path[t[:, 0] == 1] = a, b  # exactly the two codes, whatever the rounding
    return path.astype("float32")


def interpolate_codes(a: np.ndarray, b: np.ndarray, steps: int = INTERPOLATION_STEPS,
                      spherical: bool = False) -> np.ndarray:
    """``steps`` codes from ``a`` to ``b``, both included: linear, or spherical (slerp)."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    a, b = np.asarray(a, dtype="float32").reshape(-1), np.asarray(b, dtype="float32").reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"cannot interpolate between codes of sizes {a.size} and {b.size}")
    t = np.linspace(0.0, 1.0, steps)
    if spherical:
        return slerp(a, b, t)
    path = (1 - t[:, None]) * a + t[:, None] * b
    path[0], path[-1] = a, b
    return path.astype("float32")


def label_blend(first: int, second: int, steps: int = INTERPOLATION_STEPS) -> np.ndarray:
    """Label weights (steps, 10) moving linearly from the one-hot of ``first`` to that of ``second``."""
    for label in (first, second):
        if not 0 <= label < NUM_CLASSES:
            raise ValueError(f"class labels must be in 0..{NUM_CLASSES - 1}, got {label}")
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    eye = np.eye(NUM_CLASSES, dtype="float32")
    return (1 - t) * eye[first] + t * eye[second]


# One colour per class (matplotlib's tab10), shared by the live map and its saved figure.
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def latent_map_figure(latent: LatentMap, marker: tuple[float, float] | None = None):
    """The map as a matplotlib Figure (no pyplot): the points coloured by class with a legend,
    named axes, and beside it the manifold grid when the latent space is 2-D."""
    from matplotlib.figure import Figure

    panels = 2 if latent.manifold is not None else 1
    figure = Figure(figsize=(5.2 * panels, 4.6), layout="constrained")
    ax = figure.add_subplot(1, panels, 1)
    colours = np.asarray(CLASS_COLOURS)[np.asarray(latent.labels) % len(CLASS_COLOURS)]
    ax.scatter(latent.points[:, 0], latent.points[:, 1], s=5, c=colours, alpha=0.7, linewidths=0)
    for label in np.unique(latent.labels):
        ax.scatter([], [], s=20, c=CLASS_COLOURS[int(label) % len(CLASS_COLOURS)], label=str(int(label)))
    ax.legend(title="label", fontsize=7, title_fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5),
              frameon=False, markerscale=1.2)
    if marker is not None:
        ax.plot(*marker, marker="x", color="black", ms=10, mew=2)
    ax.set_xlabel(latent.projection.axis_labels[0], fontsize=8)
    ax.set_ylabel(latent.projection.axis_labels[1], fontsize=8)
    ax.set_title(f"posterior means of {len(latent.points)} validation images", fontsize=9)
    ax.tick_params(labelsize=7)
    if latent.manifold is not None:
        grid_ax = figure.add_subplot(1, panels, 2)
        grid_ax.imshow(latent.manifold, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        title = f"decoded over z in [{-MANIFOLD_SPAN:g}, {MANIFOLD_SPAN:g}]² (z1 up)"
        if latent.manifold_label is not None:  # else nothing on the saved file says which class it draws
            title += f", label {latent.manifold_label}"
        grid_ax.set_title(title, fontsize=9)
        grid_ax.set_axis_off()
    return figure
