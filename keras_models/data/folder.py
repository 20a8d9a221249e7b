"""A user's own images: ``folder:DIR`` with one sub-folder per class.

Classes are the sub-folders sorted by name, numbered 0, 1, 2 …; at most ``NUM_CLASSES``
(the CVAE and the evaluation classifier one-hot encode ten). Every file Pillow can read
is turned grey and resized to 28×28. Files it cannot read are skipped and named in the
split's notice, so one stray ``notes.txt`` does not cost a whole training; a class left
with no readable image is refused.

The split is fixed by the file names: in each class, with its readable images sorted by
file name, every fifth (the 5th, 10th, …) is validation and the rest training, so the same
folder always gives the same split, and adding files to a class moves only the files named
after them. As for MNIST, whose validation images are its test set, evaluation measures the
validation part. Each part takes the classes in turn (the first image of every class, then
the second …), so the previews drawn from the first validation images show every class.

Pillow and numpy only: errors come before TensorFlow loads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_models.config import NUM_CLASSES
from keras_models.data.base import MIN_VALIDATION_IMAGES, DataError, DataSplit

IMAGE_SIDE = 28
VALIDATION_EVERY = 5
# Past this many images a folder is a photo collection, not a training set of small grey
# images; every one is decoded into memory, so the count is refused before reading.
MAX_FOLDER_IMAGES = 200_000
NAMED_BAD_FILES = 5


def _visible(paths) -> list[Path]:
    """Sorted, without hidden entries (.DS_Store, .git …) that no user counts as data."""
    return sorted(p for p in paths if not p.name.startswith("."))


def class_folders(folder: str | Path) -> list[Path]:
    """The class sub-folders of ``folder``, sorted by name; DataError for a missing folder, one
    without sub-folders, one with more classes than the models take, or one holding no files."""
    folder = Path(folder).expanduser()
    name = f"folder:{folder}"
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    entries = _visible(folder.iterdir())
    if not entries:
        raise DataError(f"{name}: the folder is empty; put the images of each class in a sub-folder of its own")
    classes = [p for p in entries if p.is_dir()]
    if not classes:
        raise DataError(f"{name}: no class sub-folders; put the images of each class in a sub-folder of its own "
                        f"(for example {folder / '0'}, {folder / '1'} …)")
    if len(classes) > NUM_CLASSES:
        raise DataError(f"{name}: {len(classes)} class sub-folders, but the CVAE and the evaluation classifier "
                        f"take at most {NUM_CLASSES} classes")
    empty = [p.name for p in classes if not any(f.is_file() for f in _visible(p.iterdir()))]
    if len(empty) == len(classes):
        raise DataError(f"{name}: the class sub-folders hold no files")
    if empty:
        raise DataError(f"{name}: class sub-folder {empty[0]!r} holds no files")
    return classes


# Modes whose pixels are not 8-bit levels: Pillow's convert("L") clips them at 255, which turned
# a 16-bit scan white wherever it was brighter than 255/65535 and a float image in [0, 1] black.
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _grey_levels(image: Image.Image) -> np.ndarray:
    """``image`` as grey levels in [0, 1] at its own size: 8-bit levels over 255, 16-bit ones over
    65,535, floats as they are when within [0, 1] and else stretched over their range; what is
    transparent is the white a viewer shows under it, not the black its pixels often hold."""
    if image.mode in WIDE_MODES:
        levels = np.asarray(image, dtype="float64")
        low, high = float(levels.min(initial=0.0)), float(levels.max(initial=0.0))
        if image.mode.startswith("I;16") or (image.mode == "I" and 0 <= low and high <= 65_535):
            return levels / (255.0 if high <= 255 else 65_535.0)
        if 0 <= low and high <= 1:
            return levels
        return (levels - low) / (high - low) if high > low else np.zeros_like(levels)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        backdrop = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(backdrop, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype="float64") / 255.0


def read_image(path: Path) -> np.ndarray | None:
    """``path`` as 28×28 grey levels in [0, 1], or None when Pillow cannot read it."""
    try:
        with Image.open(path) as image:
            image.load()
            levels = _grey_levels(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    # Resized as 32-bit floats, so no format loses levels; Lanczos may overshoot a little.
    grey = Image.fromarray(levels.astype("float32")).resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(grey, dtype="float32"), 0.0, 1.0)


def load_image_folder(folder: str | Path) -> DataSplit:
    """The images of ``folder`` as a DataSplit named ``folder:ABSOLUTE_PATH``."""
    folder = Path(folder).expanduser().absolute()
    name = f"folder:{folder}"
    classes = class_folders(folder)
    files = [[f for f in _visible(c.iterdir()) if f.is_file()] for c in classes]
    total = sum(len(f) for f in files)
    if total > MAX_FOLDER_IMAGES:
        raise DataError(f"{name}: {total:,} files, more than the {MAX_FOLDER_IMAGES:,} images this tool reads")
    parts: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "val": []}
    skipped: list[str] = []
    for label, (class_dir, paths) in enumerate(zip(classes, files)):
        read = [(p, read_image(p)) for p in paths]
        skipped += [f"{class_dir.name}/{p.name}" for p, image in read if image is None]
        good = [image for _, image in read if image is not None]
        if not good:
            raise DataError(f"{name}: no file in class sub-folder {class_dir.name!r} is an image Pillow can read")
        for position, image in enumerate(good, start=1):
            held_out = position % VALIDATION_EVERY == 0
            # The image's rank within its class's part, which orders the classes in turn.
            rank = position // VALIDATION_EVERY - 1 if held_out else position - 1 - position // VALIDATION_EVERY
            parts["val" if held_out else "train"].append((rank, label, image))
    if len(parts["val"]) < MIN_VALIDATION_IMAGES:
        raise DataError(f"{name}: too few images: every {VALIDATION_EVERY}th image of a class is held out for "
                        f"validation, which gives {len(parts['val'])}, and the previews need "
                        f"{MIN_VALIDATION_IMAGES}: add images")
    notice = None
    if skipped:
        shown = ", ".join(skipped[:NAMED_BAD_FILES])
        more = f" and {len(skipped) - NAMED_BAD_FILES:,} more" if len(skipped) > NAMED_BAD_FILES else ""
        files_word = "file" if len(skipped) == 1 else "files"
        notice = f"skipped {len(skipped):,} {files_word} Pillow cannot read as images in {folder}: {shown}{more}"

    def arrays(part: str) -> tuple[np.ndarray, np.ndarray]:
        ordered = sorted(parts[part], key=lambda entry: entry[:2])  # rank in its class, then class
        return (np.stack([image for _, _, image in ordered])[..., None],
                np.asarray([label for _, label, _ in ordered], dtype="int32"))

    (train_x, train_y), (val_x, val_y) = arrays("train"), arrays("val")
    return DataSplit(name, train_x, train_y, val_x, val_y, notice=notice)
