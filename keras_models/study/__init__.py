"""The β study: train a family of models on the same data, once per seed, measure them, and
write a report (Markdown and HTML) with the spread over seeds, its figures and a metrics table.
Trials run here one after another or as Ray Tune trials (``keras_models.study.engines``).

Importing this package does not load TensorFlow, so the window can build a
``StudyConfig`` before the heavy libraries are ready. The settings and the
conclusions are loaded at once; the names of the runner (which needs TensorFlow)
and of the report (which needs matplotlib) load on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from keras_models.study.conclusions import conclusions
from keras_models.study.config import REFERENCE_BETAS, StudyConfig

_LAZY = {
    "run_study": "runner", "plan_study": "runner", "StudyResult": "runner", "run_trial": "trial",
    "write_report": "report", "render_markdown": "report", "render_html": "report",
    "metrics_csv_text": "report", "table_columns": "report", "table_rows": "report",
}

__all__ = ["REFERENCE_BETAS", "StudyConfig", "conclusions", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
