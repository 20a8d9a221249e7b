"""Several finished runs side by side, read from their files alone.

The window's GUI thread uses this module, so it must never import TensorFlow
or Keras (that would freeze the window for seconds): it reads ``config.json``,
``metrics.csv``, ``evaluation.json`` and the PNG grids with the standard
library, numpy and Pillow only.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from keras_models.config import MODEL_TITLES
from keras_models.files import GRIDS_DIR, RunError, read_run, unreadable_message
from keras_models.images import PAD_VALUE, PNG_SCALE

ALL_DIMS_TRAVERSAL = "traversal_all_dims"
SEPARATOR_HEIGHT = 3
SEPARATOR_VALUE = 1.0  # white, so the border between two runs stands out from the grey within a grid
MISSING = "–"
TABLE_HEADERS = ("run", "model", "β", "latent size", "epochs", "val NELBO", "val rec", "val KL",
                 "IWAE NLL", "active units", "Fréchet distance")
RUN_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{4}")


@dataclasses.dataclass
class RunSummary:
    """What the files of one run folder say about it."""

    run_dir: Path
    config: dict[str, Any]
    history: list[dict[str, float]]
    evaluation: dict[str, Any] | None
    # Traversal grids by file stem ("traversal_dim6", "traversal_all_dims"), in [0, 1] at one pixel per
    # image pixel. Read when the run is opened, so a damaged PNG is reported then, not on every redraw.
    traversals: dict[str, np.ndarray] = dataclasses.field(repr=False)

    @property
    def title(self) -> str:
        """Model and β, e.g. "β-VAE β = 4"."""
        return f"{MODEL_TITLES[self.config['model']]} β = {self.config['beta']:g}"

    @property
    def label(self) -> str:
        """Title and creation time, e.g. "β-VAE β = 4 (2026-11-24_1530)": tells two similar runs apart."""
        stamp = RUN_STAMP.match(self.run_dir.name)
        return f"{self.title} ({stamp.group() if stamp else self.run_dir.name})"

    def final(self, column: str) -> float | None:
        """The last epoch's value of a metrics.csv column such as "val_kl"; None before the first epoch."""
        return self.history[-1].get(column) if self.history else None


def _read_grid(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype="float32") / 255.0
    except (OSError, ValueError) as exc:
        raise RunError(unreadable_message(path, exc)) from None
    return pixels[::PNG_SCALE, ::PNG_SCALE]  # back to one pixel per image pixel, as the window shows grids


def load_run_summary(run_dir: str | Path) -> RunSummary:
    """Read a run folder and its traversal grids; raise RunError if it is not a run or a file cannot be read."""
    run = read_run(run_dir)
    return RunSummary(
        run_dir=run.run_dir,
        config=run.config.to_dict(),
        history=run.history,
        evaluation=run.evaluation,
        traversals={path.stem: _read_grid(path) for path in sorted((run.run_dir / GRIDS_DIR).glob("traversal_*.png"))},
    )


def _number(value: Any, digits: int = 2) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _importance_samples(evaluation: dict[str, Any]) -> Any:
    protocol = evaluation.get("protocol")
    return protocol.get("k") if isinstance(protocol, dict) else None


def _evaluation_cells(evaluation: dict[str, Any] | None, show_k: bool) -> list[str]:
    if evaluation is None:
        return [MISSING] * 3
    nll = evaluation.get("iwae_nll")
    k = _importance_samples(evaluation)
    nll_text = MISSING if nll is None else f"{nll:.2f}" + (f" (k = {k})" if show_k and k else "")
    units = evaluation.get("active_units")
    units_text = MISSING if units is None else f"{units} / {evaluation.get('latent_dim', '?')}"
    return [nll_text, units_text, _number(evaluation.get("frechet_distance"))]


def comparison_table(summaries: Sequence[RunSummary]) -> tuple[list[str], list[list[str]]]:
    """Column headers and one row of text per run; a number a run lacks shows as "–".

    IWAE NLL values carry their k only when the runs were evaluated with different k:
    likelihood bounds with different k are not comparable.
    """
    show_k = len({_importance_samples(s.evaluation) for s in summaries if s.evaluation is not None}) > 1
    rows = []
    for s in summaries:
        epochs = str(int(s.history[-1]["epoch"])) if s.history else "0"
        rows.append([s.run_dir.name, MODEL_TITLES[s.config["model"]], f"{s.config['beta']:g}",
                     str(s.config["latent_dim"]), epochs, _number(s.final("val_nelbo")),
                     _number(s.final("val_rec")), _number(s.final("val_kl")),
                     *_evaluation_cells(s.evaluation, show_k)])
    return list(TABLE_HEADERS), rows


def shared_traversal(summaries: Sequence[RunSummary]) -> str | None:
    """The traversal grid to compare: one latent dimension if every run has the same one,
    else all dimensions; None when no run has a traversal."""
    if not summaries:
        return None
    common = set.intersection(*(set(s.traversals) for s in summaries))
    single = sorted(stem for stem in common if stem != ALL_DIMS_TRAVERSAL)
    if single:
        return single[0]
    return ALL_DIMS_TRAVERSAL if any(ALL_DIMS_TRAVERSAL in s.traversals for s in summaries) else None


def traversal_stack(summaries: Sequence[RunSummary]) -> np.ndarray:
    """The runs' traversal grids (see ``shared_traversal``) one above the other, in [0, 1].

    Runs without that grid are left out; narrower grids are padded on the right.
    Raises ValueError when no run has a traversal.
    """
    stem = shared_traversal(summaries)
    if stem is None:
        raise ValueError("none of these runs has a traversal grid (they are written when training ends)")
    grids = [s.traversals[stem] for s in summaries if stem in s.traversals]
    width = max(grid.shape[1] for grid in grids)
    separator = np.full((SEPARATOR_HEIGHT, width), SEPARATOR_VALUE, dtype="float32")
    parts = []
    for grid in grids:
        if parts:
            parts.append(separator)
        parts.append(np.pad(grid, ((0, 0), (0, width - grid.shape[1])), constant_values=PAD_VALUE))
    return np.vstack(parts)
