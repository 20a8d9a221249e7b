"""``shapes``: a procedurally rendered look-alike of dSprites whose generating factors are known.

Every image shows one white sprite on black. Five factors, each a small grid of
values, generate it; all 3 × 6 × 40 × 32 × 32 = 737,280 combinations are
rendered once, in the same order as dSprites (shape slowest, y position fastest):

* shape: square, ellipse, heart;
* scale: 6 sizes from 0.6 of full size to full size, linearly;
* orientation: 40 steps over one period of the shape's rotational symmetry
  (a quarter turn for the square, half a turn for the ellipse, a full turn for
  the heart). dSprites spans a full turn for every shape, so its squares repeat
  four times and its ellipses twice; here every orientation value draws a
  different picture, so a perfect encoder can in principle recover it;
* x position (left to right) and y position (top to bottom): 32 steps of one
  pixel at 64 × 64, keeping the whole sprite inside the image at every
  orientation.

Images come at 64 × 64 (binary, like dSprites) or at 28 × 28 for the MNIST
architectures. The 28 × 28 images are the 64 × 64 ones area-averaged, so a grey
level is the fraction of the pixel the shape covers. Both are cached on disk as
uint8 ``.npy`` files (0 or 255 at 64 × 64), which ``numpy.load`` can memory-map.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from keras_models.data.base import DataSplit, to_images
from keras_models.events import JobState, ProgressMeter
from keras_models.files import atomic_path, cache_home

factor_names = ("shape", "scale", "orientation", "x_position", "y_position")
factor_sizes = (3, 6, 40, 32, 32)
shape_names = ("square", "ellipse", "heart")
SMALL_SIZE, FULL_SIZE = 28, 64
SIZES = (SMALL_SIZE, FULL_SIZE)
NUM_IMAGES = int(np.prod(factor_sizes))

# A sprite is drawn in a square box of SPRITE_SIDE pixels and shifted one pixel
# per position step: 64 - 33 + 1 = 32 positions, all fully inside the image.
SPRITE_SIDE = FULL_SIZE - factor_sizes[3] + 1
# The farthest shape pixel from the box centre at full scale. It must stay below
# SPRITE_SIDE / 2 = 16.5 whatever the orientation. Scales start at 0.6 rather than
# dSprites' 0.5 so that the smallest sprite (radius 9.6 at 64 × 64, 4.2 pixels at
# 28 × 28) still reads as a square, an ellipse or a heart after downsampling.
FULL_RADIUS = 16.0
SCALES = np.linspace(0.6, 1.0, factor_sizes[1])
# One period of rotational symmetry per shape, in radians (see the module docstring).
SYMMETRY_PERIODS = (np.pi / 2, np.pi, 2 * np.pi)
ELLIPSE_MINOR = 0.5  # minor semi-axis relative to the major one
# The heart is the curve (x² + y² − 1)³ = x² y³, which spans x in ±1.139 and
# y in [−1, 1.236]: centred on its bounding box, its farthest point lies 1.3366
# from the centre; dividing by that gives it the same radius as the other shapes.
HEART_CENTRE_Y = 0.118
HEART_RADIUS = 1.3366
# Renderer version, part of the cache file name: bump it when the pictures change
# so that stale caches are ignored rather than silently reused.
CACHE_VERSION = 1


def render_sprite(shape: int, scale: int, orientation: int) -> np.ndarray:
    """The binary sprite of one (shape, scale, orientation), as a bool (33, 33) array.

    Arguments are factor indices. A pixel is on when its centre lies strictly
    inside the shape, as in dSprites but for the boundary, where a tip exactly on
    a pixel centre would make a lone pixel. Orientation turns counter-clockwise.
    """
    for name, value, size in zip(factor_names[:3], (shape, scale, orientation), factor_sizes[:3]):
        if not 0 <= value < size:
            raise ValueError(f"{name} index must be in 0..{size - 1}, got {value}")
    centre = (SPRITE_SIDE - 1) / 2
    radius = FULL_RADIUS * SCALES[scale]
    offsets = (np.arange(SPRITE_SIDE) - centre) / radius
    x = offsets[None, :]          # columns, left to right
    y = -offsets[:, None]         # rows, counted upwards: the heart's point is at the bottom
    angle = SYMMETRY_PERIODS[shape] * orientation / factor_sizes[2]
    # Rotating the shape by +angle is testing the points rotated by -angle.
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    if shape == 0:
        half_side = 1 / np.sqrt(2)  # the corners lie at radius 1
        return (np.abs(u) < half_side) & (np.abs(v) < half_side)
    if shape == 1:
        return u ** 2 + (v / ELLIPSE_MINOR) ** 2 < 1
    u, v = u * HEART_RADIUS, v * HEART_RADIUS + HEART_CENTRE_Y
    return (u ** 2 + v ** 2 - 1) ** 3 - u ** 2 * v ** 3 < 0


@functools.lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries takes a while: once is enough


def _one_blas_thread():
    """A context running numpy's matrix products on one thread. Ours are small (at most
    336 × 33); waking OpenBLAS's second thread for each costs more than it saves, and
    made the whole build 4 to 10 times slower while other jobs kept the cores busy."""
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _sprite_bank() -> np.ndarray:
    """All 720 sprites as float32 (3, 6, 40, 33, 33): the only per-sprite Python loop."""
    bank = np.zeros((*factor_sizes[:3], SPRITE_SIDE, SPRITE_SIDE), dtype="float32")
    for index in np.ndindex(*factor_sizes[:3]):
        bank[index] = render_sprite(*index)
    bank.setflags(write=False)
    return bank


@functools.lru_cache(maxsize=1)
def _area_weights() -> np.ndarray:
    """(28, 64) weights: how much of each 28 × 28 pixel each 64 × 64 row (or column) covers.

    Each row sums to 1, so ``W @ image @ W.T`` averages the area under each
    small pixel and binary images become coverage fractions. Lengths are counted
    in sevenths of a large pixel (a small one is 16 of them), so every weight is
    a whole number of sixteenths and the products are exact: any order of
    summation gives the same grey levels, bit for bit.
    """
    small_pixel, large_pixel = 16, 7  # widths in sevenths of a large pixel
    small_left = np.arange(SMALL_SIZE)[:, None] * small_pixel
    large_left = np.arange(FULL_SIZE)[None, :] * large_pixel
    overlap = np.minimum(small_left + small_pixel, large_left + large_pixel) - np.maximum(small_left, large_left)
    weights = (np.clip(overlap, 0, None) / small_pixel).astype("float32")
    weights.setflags(write=False)
    return weights


def downsample(images: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """uint8 grey levels ``(n, 64, 64)`` to uint8 ``(n, 28, 28)`` by area averaging, so a
    binary sprite becomes the fraction of each pixel it covers. Works through the
    images in chunks, keeping the float32 copy small even for all of dSprites."""
    weights = _area_weights()
    out = np.empty((len(images), SMALL_SIZE, SMALL_SIZE), dtype="uint8")
    with _one_blas_thread():
        for start in range(0, len(images), chunk):
            grey = weights @ np.asarray(images[start:start + chunk], dtype="float32") @ weights.T
            out[start:start + chunk] = np.rint(grey)
    return out


# 64 / 28 = 16 / 7: moving a sprite 16 large pixels moves its downsampled picture exactly
# 7 small ones. The 32 positions are two runs of 16 "phases", so each sprite needs only
# 16 × 16 downsampled patches; the rest of its 1024 placements are copies shifted by 7.
PHASES, PHASE_STEP = 16, 7
# Rows of a patch: a box at offsets 0..15 covers large pixels 0..47, small pixels 0..20.
PATCH_SIDE = (PHASES - 1 + SPRITE_SIDE) * PHASE_STEP // PHASES


@functools.lru_cache(maxsize=1)
def _phase_weights() -> np.ndarray:
    """(16 × 21, 33): for each phase, the area weights of the patch rows under the sprite box,
    so that one matrix product downsamples a sprite at all 16 × 16 phases."""
    weights = _area_weights()[:PATCH_SIDE]
    stack = np.stack([weights[:, p:p + SPRITE_SIDE] for p in range(PHASES)]).reshape(-1, SPRITE_SIDE)
    stack.setflags(write=False)
    return stack


def _render_block(sprite: np.ndarray, size: int) -> np.ndarray:
    """All 32 × 32 placements of one sprite, uint8 (32 x, 32 y, size, size), x major like the index.

    At 64 × 64 they are windows of one padded canvas (a strided view, then one
    copy). At 28 × 28, placing and area averaging are linear, so the patch at
    phase (x, y) is W[:, y:y+33] @ sprite @ W[:, x:x+33].T, for all phases in a
    single (336 × 33) @ (33 × 33) @ (33 × 336) product, then copied to the four
    quadrants of positions with the matching 7-pixel shifts.
    """
    n_pos = factor_sizes[3]
    if size == FULL_SIZE:
        canvas = np.zeros((FULL_SIZE + n_pos - 1,) * 2, dtype="uint8")
        canvas[n_pos - 1:n_pos - 1 + SPRITE_SIDE, n_pos - 1:n_pos - 1 + SPRITE_SIDE] = sprite * 255
        windows = np.lib.stride_tricks.sliding_window_view(canvas, (FULL_SIZE, FULL_SIZE))
        # windows[i, j] shows the sprite at row offset 31 - i and column offset 31 - j.
        return windows[::-1, ::-1].transpose(1, 0, 2, 3)
    stack = _phase_weights()
    grey = (stack @ sprite @ stack.T).reshape(PHASES, PATCH_SIDE, PHASES, PATCH_SIDE)  # (y, row, x, col)
    patches = np.rint(grey.transpose(2, 0, 1, 3) * 255).astype("uint8")
    block = np.zeros((n_pos, n_pos, size, size), dtype="uint8")
    for shift_x in range(n_pos // PHASES):
        for shift_y in range(n_pos // PHASES):
            rows = slice(shift_y * PHASE_STEP, shift_y * PHASE_STEP + PATCH_SIDE)
            columns = slice(shift_x * PHASE_STEP, shift_x * PHASE_STEP + PATCH_SIDE)
            block[shift_x * PHASES:(shift_x + 1) * PHASES, shift_y * PHASES:(shift_y + 1) * PHASES,
                  rows, columns] = patches
    return block


def render_images(factors: np.ndarray, size: int = 28) -> np.ndarray:
    """Render the images of some factor rows ``(n, 5)``: uint8 ``(n, size, size)``.

    Renders only what is asked, so batches can be drawn from the grid without
    building the whole set. Pixel-identical to the matching rows of ``build_shapes``.
    """
    _check_size(size)
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(factor_sizes):
        raise ValueError(f"factors must have shape (n, {len(factor_sizes)}), got {factors.shape}")
    if np.any(factors < 0) or np.any(factors >= np.array(factor_sizes)):
        raise ValueError(f"factor indices out of range for sizes {factor_sizes}")
    sprites = _sprite_bank()[factors[:, 0], factors[:, 1], factors[:, 2]]
    x, y = factors[:, 3], factors[:, 4]
    if size == FULL_SIZE:
        images = np.zeros((len(factors), FULL_SIZE, FULL_SIZE), dtype="uint8")
        box = np.arange(SPRITE_SIDE)
        rows = (y[:, None] + box)[:, :, None]
        columns = (x[:, None] + box)[:, None, :]
        images[np.arange(len(factors))[:, None, None], rows, columns] = sprites * 255
        return images
    windows = np.lib.stride_tricks.sliding_window_view(_area_weights(), SPRITE_SIDE, axis=1)
    # windows[:, o] is the (28, 33) slice of the weights under a box at offset o.
    with _one_blas_thread():
        grey = windows[:, y].transpose(1, 0, 2) @ sprites @ windows[:, x].transpose(1, 2, 0)
    return np.rint(grey * 255).astype("uint8")


def factor_grid() -> np.ndarray:
    """Every factor combination, int32 ``(737280, 5)``, in the order of the images."""
    return np.indices(factor_sizes, dtype="int32").reshape(len(factor_sizes), -1).T


def sample_factors(n: int, rng: np.random.Generator, fixed_factor: int | None = None) -> np.ndarray:
    """``n`` factor rows drawn uniformly from the grid, int32 ``(n, 5)``.

    With ``fixed_factor`` (a column index) that factor takes one random value
    shared by every row while the others vary, as the FactorVAE score needs.
    """
    factors = np.stack([rng.integers(0, size, n) for size in factor_sizes], axis=1).astype("int32")
    if fixed_factor is not None:
        factors[:, fixed_factor] = rng.integers(0, factor_sizes[fixed_factor])
    return factors


def sample_images(n: int, rng: np.random.Generator, fixed_factor: int | None = None,
                  size: int = 28) -> np.ndarray:
    """``n`` images of factors drawn by ``sample_factors``, float32 ``(n, size, size, 1)``
    in [0, 1] as models take them: the image sampler ``factor_vae_score`` expects."""
    return to_images(render_images(sample_factors(n, rng, fixed_factor), size))


def default_cache_dir() -> Path:
    return cache_home("shapes")


def cache_path(size: int, cache_dir: str | Path | None = None) -> Path:
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"shapes-{size}x{size}-v{CACHE_VERSION}.npy"


def _check_size(size: int) -> None:
    if size not in SIZES:
        raise ValueError(f"shapes are rendered at {' or '.join(map(str, SIZES))} pixels, got {size}")


def _load_cached(path: Path, size: int) -> np.ndarray | None:
    """The memory-mapped cache, or None when it is missing or not what this version writes."""
    try:
        images = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if images.shape != (NUM_IMAGES, size, size) or images.dtype != np.uint8:
        return None
    return images


def build_shapes(size: int = 28, cache_dir: str | Path | None = None,
                 state: JobState | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All 737,280 images, uint8 ``(N, size, size)`` memory-mapped from the cache, and their
    factor indices, int32 ``(N, 5)`` (columns as ``factor_names``).

    The first call renders them (a few seconds) straight into a temporary file
    beside the cache, so memory stays low and an interrupted build never
    leaves a partial cache; later calls only map the file.
    """
    _check_size(size)
    path = cache_path(size, cache_dir)
    images = _load_cached(path, size)
    if images is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype="uint8", shape=(NUM_IMAGES, size, size))
            block = factor_sizes[3] * factor_sizes[4]
            sprites = _sprite_bank().reshape(-1, SPRITE_SIDE, SPRITE_SIDE)
            meter = ProgressMeter(state, f"rendering the shapes at {size}×{size} (the first time only)", len(sprites))
            with _one_blas_thread():
                for sprite_index, sprite in enumerate(sprites):
                    start = sprite_index * block
                    out[start:start + block] = _render_block(sprite, size).reshape(block, size, size)
                    meter.advance()
            out.flush()
            del out
        images = np.load(path, mmap_mode="r")
    return images, factor_grid()


def split_with_factors(name: str, images: np.ndarray, factors: np.ndarray, names: tuple[str, ...],
                       train_fraction: float = 0.9, max_images: int | None = None,
                       seed: int = 0) -> DataSplit:
    """A seeded random train/validation split of uint8 images ``(N, h, w)`` with their factors.

    The labels are the first factor (the shape), so class-based views and the
    CVAE keep working; the whole factor rows travel in ``train_factors`` and
    ``val_factors``. ``max_images`` keeps a random subset, which also bounds
    memory: all 737,280 images as float32 take 2.3 GB at 28 × 28, 12 GB at 64 × 64.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train fraction must be between 0 and 1, got {train_fraction}")
    order = np.random.default_rng(seed).permutation(len(images))
    if max_images is not None:
        if max_images < 2:
            raise ValueError(f"max images must be at least 2, got {max_images}")
        order = order[:max_images]
    n_train = min(max(1, round(len(order) * train_fraction)), len(order) - 1)
    train_idx, val_idx = order[:n_train], order[n_train:]
    factors = np.asarray(factors, dtype="int32")
    train_factors, val_factors = factors[train_idx], factors[val_idx]
    return DataSplit(
        name, to_images(images[train_idx]), train_factors[:, 0].copy(), to_images(images[val_idx]),
        val_factors[:, 0].copy(), train_factors=train_factors, val_factors=val_factors, factor_names=tuple(names),
    )


def load_shapes_split(size: int = 28, train_fraction: float = 0.9, max_images: int | None = None,
                      seed: int = 0, cache_dir: str | Path | None = None, state: JobState | None = None) -> DataSplit:
    """The shapes set as a ``DataSplit`` of float32 images ``(n, size, size, 1)`` in [0, 1],
    shape indices as labels and the factor matrices attached (see ``split_with_factors``)."""
    images, factors = build_shapes(size, cache_dir, state)
    return split_with_factors("shapes", images, factors, factor_names, train_fraction, max_images, seed)
