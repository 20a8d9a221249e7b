"""Image grids as arrays and files, without any model: tiling, labels, PNG, GIF and figures.

Kept free of TensorFlow so the window can save and read pictures on its own
thread. Arrays are float32 in [0, 1], shaped (height, width).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from keras_models.files import atomic_path

PAD = 2
PAD_VALUE = 0.3
PNG_SCALE = 2


def tile(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Lay ``rows * cols`` images ``(n, h, w[, 1])`` out row by row, with thin separators."""
    images = np.asarray(images, dtype="float32")
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    if n != rows * cols:
        raise ValueError(f"{n} images do not fill a {rows} x {cols} grid")
    grid = np.full((rows * (h + PAD) + PAD, cols * (w + PAD) + PAD), PAD_VALUE, dtype="float32")
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        top, left = PAD + r * (h + PAD), PAD + c * (w + PAD)
        grid[top:top + h, left:left + w] = image
    return grid


def save_gif(frames: Sequence[np.ndarray], path: str | Path, scale: int = 3, frame_ms: int = 150) -> Path:
    """An animated GIF that plays the frames forward and back, looping, written atomically."""
    path = Path(path)
    sequence = list(frames) + list(frames[-2:0:-1])
    images = [Image.fromarray(to_uint8(frame, scale), mode="L") for frame in sequence]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    return path


def label_rows(grid: np.ndarray, labels: Sequence[str], width: int = 64) -> np.ndarray:
    """Add a margin on the left with one text label per row of images."""
    rows = len(labels)
    row_height = (grid.shape[0] - PAD) / rows
    margin = Image.new("L", (width, grid.shape[0]), color=int(PAD_VALUE * 255))
    draw = ImageDraw.Draw(margin)
    font = ImageFont.load_default()
    for i, text in enumerate(labels):
        draw.text((3, PAD + i * row_height + row_height / 2 - 5), text, fill=255, font=font)
    return np.concatenate([np.asarray(margin, dtype="float32") / 255.0, grid], axis=1)


def to_uint8(grid: np.ndarray, scale: int = 1) -> np.ndarray:
    pixels = (np.clip(grid, 0.0, 1.0) * 255.0 + 0.5).astype("uint8")
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    return pixels


def save_png(grid: np.ndarray, path: str | Path, scale: int = PNG_SCALE) -> Path:
    """Write ``grid`` as a greyscale PNG, enlarged ``scale`` times, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(to_uint8(grid, scale), mode="L").save(tmp, format="PNG")
    return path


def save_figure(figure, path: str | Path, dpi: int = 120) -> Path:
    """Write a matplotlib ``Figure`` as PNG, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
    return path
