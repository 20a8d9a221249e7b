"""The job interface between the core and any front end: typed progress events and
one state object per job.

A job (a training, an evaluation, a study) gets a ``JobState``. It reports what
happens as the dataclasses below, holding plain Python values and numpy arrays,
and looks at the state's stop flag between units of work. The window turns the
events into signals; the command line prints them. No TensorFlow here: the
window imports this module before TensorFlow has loaded.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable, Union

import numpy as np


class Stopped(Exception):
    """The job was asked to stop; what it had not finished left no result."""


@dataclasses.dataclass(frozen=True)
class RunStarted:
    """A training session is about to run its first batch."""

    run_dir: str
    data: str  # a description such as "mnist-5k: 4,500 training and 500 validation images"
    notice: str | None
    epochs: int
    initial_epoch: int
    steps: int  # batches per epoch
    config: dict[str, Any]
    history: list[dict[str, float]]  # the epochs already trained (resume)


@dataclasses.dataclass(frozen=True)
class BatchProgress:
    """A few times an epoch: where training is, its running train metrics and the time left."""

    epoch: int
    epochs: int
    batch: int
    steps: int
    logs: dict[str, float]
    eta_s: float


@dataclasses.dataclass(frozen=True)
class EpochPictures:
    """What the window draws after an epoch: fixed reconstructions and prior samples, the
    mean KL of each latent dimension with the number of active units, and the latent map
    (a ``keras_models.latent_space.LatentMap``; None for a 1-D latent space)."""

    reconstructions: np.ndarray
    samples: np.ndarray
    kl_per_dim: np.ndarray
    active_units: int
    latent_map: Any = None


@dataclasses.dataclass(frozen=True)
class EpochDone:
    """An epoch ended; ``record`` is its metrics.csv row. ``pictures`` only when the job asked for them."""

    record: dict[str, float]
    pictures: EpochPictures | None = None


@dataclasses.dataclass(frozen=True)
class StageStarted:
    """A long job began a new step; ``fraction`` of the whole job is done."""

    text: str
    fraction: float


@dataclasses.dataclass(frozen=True)
class StageProgress:
    """How far a long step inside a job has got: ``done`` of ``total`` units (batches, decoder
    calls, sprites…), and the seconds it still needs at the pace so far (None before any unit
    is done). The last event of a step has ``done == total``."""

    stage: str
    done: int
    total: int
    eta_s: float | None


@dataclasses.dataclass(frozen=True)
class TrainingSized:
    """Batch size and epochs were chosen from the training set's size (the settings asked for
    "auto"); ``reason`` says so in one line, e.g. "batch 100, 20 epochs: …"."""

    batch_size: int
    epochs: int
    reason: str


@dataclasses.dataclass(frozen=True)
class StudyEstimate:
    """Before a study's first trial: how long it should take, in all and stage by stage
    (``stages``: (name, seconds) pairs), and ``text`` saying so in one line."""

    text: str
    total_s: float
    stages: list[tuple[str, float]]


@dataclasses.dataclass(frozen=True)
class StudyStarted:
    """A study's folder exists and its trials are about to run (``finished`` of them had already
    finished before a resume)."""

    report_dir: str
    trials: int
    finished: int
    engine: str


@dataclasses.dataclass(frozen=True)
class StudyRow:
    """One model of a study is trained and measured: its row of the metrics table."""

    row: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class TrialFailed:
    """A trial of a study ended without a row: ``status`` "failed" (``reason`` says why, in one
    line) or "stopped"."""

    key: str
    group: str  # the model kind/β, the same for every seed
    beta: float
    title: str
    seed: int
    status: str
    reason: str | None
    model: str = ""  # vae, bvae or cvae ("" in logs written before it was sent)
    schedule: str | None = None  # the group's KL schedule, as the study's trials name it


@dataclasses.dataclass(frozen=True)
class StudyFigure:
    """A study wrote a figure."""

    name: str
    path: str


@dataclasses.dataclass(frozen=True)
class EvaluationDone:
    """A model was measured; ``path`` is the evaluation.json written, if any."""

    numbers: dict[str, Any]
    path: str | None


@dataclasses.dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error, e.g. an offline fallback."""

    text: str


Event = Union[RunStarted, BatchProgress, EpochDone, StageStarted, StageProgress, TrainingSized, StudyEstimate,
              StudyStarted, StudyRow, TrialFailed, StudyFigure, EvaluationDone, Notice]


class JobState:
    """One job's stop flag and reporting channel.

    ``on_event`` receives every event on the job's own thread. ``on_model``, when
    given, is called there too, with the model being trained and its data split,
    after each reported batch and epoch: a front end may draw from them between
    batches but must not change them. ``wants_pictures`` asks training to attach ``EpochPictures`` to
    each ``EpochDone``; ``projection``, when given, says at each epoch how their latent map is
    projected ("pca" or "umap"), so a front end's choice applies while training runs.
    ``request_stop`` may be called from any thread.
    """

    def __init__(self, on_event: Callable[[Event], None] | None = None,
                 on_model: Callable[[Any, Any], None] | None = None, wants_pictures: bool = False,
                 projection: Callable[[], str] | None = None) -> None:
        self._stop = threading.Event()
        self._on_event = on_event
        self._on_model = on_model
        self._projection = projection
        self.wants_pictures = wants_pictures

    def map_projection(self) -> str:
        return "pca" if self._projection is None else self._projection()

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def check_stop(self) -> None:
        """Raise ``Stopped`` if a stop was asked for."""
        if self.stop_requested:
            raise Stopped

    def report(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def show_model(self, model: Any, data: Any) -> None:
        if self._on_model is not None:
            self._on_model(model, data)


def check_stop(state: JobState | None) -> None:
    """``state.check_stop()`` for code that may run without a job (``state`` None)."""
    if state is not None:
        state.check_stop()


# A step's progress is reported at most this often (and always at its first and last unit):
# the window redraws its status bar for each event, and a terminal bar gains nothing faster.
PROGRESS_INTERVAL_S = 0.25


class ProgressMeter:
    """Reports ``StageProgress`` for one step of ``total`` units on ``state`` (nothing when
    ``state`` is None), with the time left extrapolated from the pace so far."""

    def __init__(self, state: JobState | None, stage: str, total: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.state, self.stage, self.total = state, stage, max(int(total), 1)
        self.done = 0
        self._clock = clock
        self._start = clock()
        self._last = -float("inf")
        self._send(force=True)

    def advance(self, units: int = 1) -> None:
        self.update(self.done + units)

    def update(self, done: int) -> None:
        self.done = min(int(done), self.total)
        self._send(force=self.done == self.total)

    def finish(self) -> None:
        if self.done < self.total:
            self.update(self.total)

    def _send(self, force: bool) -> None:
        if self.state is None:
            return
        now = self._clock()
        if not force and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last = now
        eta = (now - self._start) / self.done * (self.total - self.done) if self.done else None
        self.state.report(StageProgress(self.stage, self.done, self.total, eta))
