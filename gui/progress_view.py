"""Where the window shows a long step's progress (``StageProgress``), the training size it
chose (``TrainingSized``) and a study's estimate (``StudyEstimate``): the handlers the main
window adds to its event table."""
from __future__ import annotations

from typing import Any, Callable

from gui.worker import StudyJob
from keras_models.events import StageProgress, StudyEstimate, TrainingSized
from keras_models.formatting import format_eta


def progress_text(event: StageProgress) -> str:
    """"IWAE bound (k = 1,000) on 500 images: 40% · ETA 0:12"."""
    eta = "" if event.eta_s is None or event.done >= event.total else f" · ETA {format_eta(event.eta_s)}"
    return f"{event.stage}: {100 * event.done / event.total:.0f}%{eta}"


def show_stage_progress(window: Any, event: StageProgress) -> None:
    """An evaluation shows it beside its button; a study in its own bar, after the study's share
    done; anything else (loading data before training) in the status bar's bar."""
    text = progress_text(event)
    if window.evaluating:
        window.evaluation_label.setText(text)
    elif isinstance(window.busy_job, StudyJob):
        window.study.progress.setFormat(f"{window.study.progress.value() / 10:.0f}% · {text}")
    else:
        window.progress.setRange(0, 1000)
        window.progress.setValue(int(1000 * event.done / event.total))
        window.progress.setFormat(text)


def progress_handlers(window: Any) -> dict[type, Callable[[Any], None]]:
    """The window's handlers of these events."""
    def sized(event: TrainingSized) -> None:
        window.controls.show_auto_size(event)
        window.statusBar().showMessage(f"sized to the data: {event.reason}", 15_000)

    return {StageProgress: lambda event: show_stage_progress(window, event), TrainingSized: sized,
            StudyEstimate: lambda event: window.study.estimate.setText(event.text)}
