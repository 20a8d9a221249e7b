"""The thread that owns the model: it runs the window's jobs one at a time.

Only this thread touches TensorFlow. The window submits a job (train, open,
study, evaluate, save, export) with ``submit``; the job runs in one slot, with
one error path, and ends in ``job_done`` or ``job_failed``. Each job gets its
own ``JobState``: Stop sets that job's flag from the GUI thread (the worker's
event loop is blocked while ``fit`` runs), and the job's typed events reach the
window through the ``event`` signal. The worker's model changes only from a
job's result, never from inside a running job; explorer settings are read from
a lock-protected slot between batches, so the views follow the controls while
training.
"""
from __future__ import annotations

import dataclasses
import gc
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from keras_models.config import TrainConfig, ViewRequest
from keras_models.events import EpochDone, JobState, Notice, Stopped


# ----- the jobs the window can ask for ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TrainJob:
    """Train a new run from ``settings`` (a TrainConfig as a dict), or ``settings["epochs"]``
    more epochs on ``resume_dir``."""

    settings: dict[str, Any]
    resume_dir: str = ""


@dataclasses.dataclass(frozen=True)
class OpenJob:
    run_dir: str


@dataclasses.dataclass(frozen=True)
class StudyJob:
    """A study from ``settings`` (a StudyConfig as a dict): here (``engine`` "local") or as Ray
    Tune trials in a separate ``main.py study`` process this job follows ("ray"; ``address``
    names a cluster to join)."""

    settings: dict[str, Any]
    engine: str = "local"
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class EvaluateJob:
    k: int


@dataclasses.dataclass(frozen=True)
class SaveModelJob:
    path: str


@dataclasses.dataclass(frozen=True)
class ExportGifJob:
    path: str


@dataclasses.dataclass(frozen=True)
class OpenModel:
    """What the window shows of the worker's model: its run folder, settings, history and data."""

    run_dir: str
    config: dict[str, Any]
    history: list[dict[str, float]]
    data: str


class Signals(QObject):
    """Everything the worker reports. Payloads are plain Python values, numpy copies and dataclasses."""

    ready = pyqtSignal()
    load_failed = pyqtSignal(str)  # TensorFlow could not be imported: no job can run
    event = pyqtSignal(object)  # a keras_models.events event of the running job
    views = pyqtSignal(dict)
    model_changed = pyqtSignal(object)  # an OpenModel, or None when there is no model any more
    job_done = pyqtSignal(object, object)  # the job and its result
    job_failed = pyqtSignal(object, str)  # the job and a one-line reason


class ModelWorker(QObject):
    """Lives in a QThread. Slots run there; ``submit``, ``stop`` and ``set_view_request`` are
    called from the GUI thread."""

    _job_submitted = pyqtSignal(object, object)
    render_requested = pyqtSignal()

    def __init__(self, load_data: Callable[[TrainConfig], Any] | None = None) -> None:
        super().__init__()
        self.signals = Signals()
        self._load_data_override = load_data
        self._lock = threading.Lock()
        self._request: ViewRequest | None = None
        self._request_version = 0
        self._rendered_version = -1
        self._state: JobState | None = None
        self.model = None
        self.data = None
        self.config: TrainConfig | None = None
        self.run_dir: Path | None = None
        self.latent_map = None  # the map last sent to the window: a click on it decodes through its projection
        self._job_submitted.connect(self._run_job)
        self.render_requested.connect(self.render_if_changed)

    # ----- called from the GUI thread -------------------------------------------------------
    def submit(self, job: object) -> None:
        """Queue ``job``; its state exists from now on, so a Stop clicked before it starts counts."""
        state = JobState(on_event=self._forward_event, on_model=self._show_live_model,
                         wants_pictures=isinstance(job, (TrainJob, StudyJob)), projection=self._projection)
        # Stop is for the long jobs; a model or GIF saved while one runs must not take it over.
        if not isinstance(job, (SaveModelJob, ExportGifJob)):
            self._state = state
        self._job_submitted.emit(job, state)

    def stop(self) -> None:
        if self._state is not None:
            self._state.request_stop()

    def set_view_request(self, request: ViewRequest) -> None:
        with self._lock:
            self._request = request
            self._request_version += 1

    # ----- slots, run in the worker thread ------------------------------------------------------
    def _projection(self) -> str:
        """The latent map's projection the explorer asks for now: each epoch's map follows it."""
        with self._lock:
            return self._request.projection if self._request is not None else "pca"

    @pyqtSlot()
    def initialise(self) -> None:
        """Import TensorFlow, after the window is on screen.

        The import runs on a plain Python thread: imported on a QThread,
        TensorFlow later crashes (a segfault creating its first large tensor).
        """
        errors: list[BaseException] = []
        importer = threading.Thread(target=_import_core, args=(errors,), name="import-tensorflow")
        importer.start()
        importer.join()
        if errors:
            self.signals.load_failed.emit(f"TensorFlow could not be loaded: {errors[0]}")
            return
        # TensorFlow brings ~400,000 long-lived objects; a full garbage collection over them
        # holds the GIL for ~200 ms and freezes the window. Exempt them from collection.
        gc.freeze()
        self.signals.ready.emit()

    @pyqtSlot(object, object)
    def _run_job(self, job: object, state: JobState) -> None:
        """The one slot every job runs in, and its one error path."""
        runner = {TrainJob: self._train, OpenJob: self._open, StudyJob: self._study, EvaluateJob: self._evaluate,
                  SaveModelJob: self._save_model, ExportGifJob: self._export_gif}[type(job)]
        try:
            result = runner(job, state)
        except Stopped:
            result = Stopped()
        except ValueError as exc:  # bad settings, data, run folder or file: the message says which
            self._after_job()
            self.signals.job_failed.emit(job, str(exc))
            return
        except OSError as exc:
            self._after_job()
            self.signals.job_failed.emit(job, f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            return
        except Exception as exc:
            traceback.print_exc()
            self._after_job()
            self.signals.job_failed.emit(job, f"{type(exc).__name__}: {exc}")
            return
        self._after_job()
        self.signals.job_done.emit(job, result)

    def _after_job(self) -> None:
        # Redraw the explorer from the worker's model before announcing the end, so a listener
        # that waits for the end sees views that match the model.
        self._rendered_version = -1
        self.render_if_changed()

    def _load_data(self, config: TrainConfig, state: JobState | None = None):
        if self._load_data_override is not None:
            return self._load_data_override(config)
        from keras_models.data import load_dataset
        return load_dataset(config.dataset, config.data_dir, state=state)

    def _set_model(self, model, config: TrainConfig | None = None, data=None, run_dir: Path | None = None,
                   history: list[dict[str, float]] | None = None) -> None:
        """The only place the worker's model changes; the window hears of it through ``model_changed``."""
        self.model, self.config, self.data, self.run_dir = model, config, data, run_dir
        if model is None:
            self.signals.model_changed.emit(None)
            return
        self.signals.model_changed.emit(OpenModel(str(run_dir), config.to_dict(), list(history or []),
                                                  data.describe()))

    def _train(self, job: TrainJob, state: JobState):
        from keras_models.files import read_run
        from keras_models.training import TrainingDiverged, TrainingSession

        if job.resume_dir:
            from keras_models.sizing import default_training_size

            run = read_run(job.resume_dir)
            same_run = self.run_dir == run.run_dir and self.data is not None
            data = self.data if same_run else self._load_data(run.config, state)
            # Epochs on "auto" continue by as many epochs as the rule gives a new run on this data.
            more = job.settings["epochs"] or default_training_size(len(data.train_x)).epochs
            session = TrainingSession.resume(job.resume_dir, int(more), data=data, state=state)
        else:
            config = TrainConfig.from_dict(job.settings).validate()
            session = TrainingSession.new(config, data=self._load_data(config, state), state=state)
        try:
            result = session.run()
        except TrainingDiverged as exc:
            self._set_model(exc.model, session.config, session.data, session.run_dir, session.history)
            raise ValueError(str(exc)) from None
        self._set_model(result.model, result.config, result.data, result.run_dir, result.history)
        return result

    def _open(self, job: OpenJob, state: JobState):
        from keras_models.files import MODEL_FILE, read_run
        from keras_models.training import load_model_file

        run = read_run(job.run_dir)
        model = load_model_file(run.run_dir / MODEL_FILE)
        data = self._load_data(run.config)
        if data.notice:
            state.report(Notice(data.notice))
        self._set_model(model, run.config, data, run.run_dir, run.history)
        self._report_pictures(state, {"epoch": run.history[-1]["epoch"] if run.history else 0.0})
        return run

    def _study(self, job: StudyJob, state: JobState):
        from keras_models.files import read_run
        from keras_models.study.config import StudyConfig
        from keras_models.study.runner import StudyResult, plan_study, run_study

        config = StudyConfig.from_dict(job.settings).validate()
        if job.engine == "ray":
            # ray.init would take over this process's signal handlers: a driver process runs the
            # study planned here, and the events it logs reach the window as if it ran here.
            from keras_models.study import process

            report_dir = plan_study(config)
            ended = process.follow_study(process.study_command(report_dir, "ray", job.address), report_dir, state)
            trials = ended["trials"]
            result = StudyResult(report_dir, [t["row"] for t in trials if t["status"] == "finished"],
                                 ended["conclusions"], ended["stopped"], trials)
        else:
            result = run_study(config, data=self._load_data(config.training, state), state=state)
        # The study trained its models in front of the user; the last one finished becomes the open model.
        if result.rows:
            last = read_run(result.report_dir / result.rows[-1]["run_dir"])
            self._open(OpenJob(str(last.run_dir)), JobState())
        return result

    def _evaluate(self, job: EvaluateJob, state: JobState):
        from keras_models.run_evaluation import evaluate_run

        if self.model is None or self.run_dir is None:
            raise ValueError("there is no model to evaluate yet: train one or open a run")
        return evaluate_run(self.run_dir, k=job.k, state=state, model=self.model, data=self.data)

    def _export_gif(self, job: ExportGifJob, state: JobState) -> str:
        """Write the current traversal settings as an animated GIF (every dimension, one frame per step)."""
        from keras_models.views import export_traversal_gif

        with self._lock:
            request = self._request
        if self.model is None or request is None:
            raise ValueError("there is no model to animate yet: train one or open a run")
        export_traversal_gif(self.model, request, self.data.val_x, self.data.val_y, job.path)
        return job.path

    def _save_model(self, job: SaveModelJob, state: JobState) -> str:
        from keras_models.training import save_model_atomic

        if self.model is None:
            raise ValueError("there is no model to save yet: train one or open a run")
        save_model_atomic(self.model, Path(job.path))
        return job.path

    # ----- drawing --------------------------------------------------------------------------------
    def _report_pictures(self, state: JobState, record: dict[str, float]) -> None:
        from keras_models.views import epoch_pictures

        seed = self.config.seed if self.config else 0
        state.report(EpochDone(record, epoch_pictures(self.model, self.data.val_x, self.data.val_y, seed,
                                                      self._projection())))

    def _forward_event(self, event: object) -> None:
        if isinstance(event, EpochDone):
            self._rendered_version = -1  # the weights changed: redraw even if the settings did not
            if event.pictures is not None:
                self.latent_map = event.pictures.latent_map
        self.signals.event.emit(event)

    def _show_live_model(self, model, data) -> None:
        """Between batches of a running job: redraw the explorer from the model being trained."""
        self._render_if_changed(model, data)

    @pyqtSlot()
    def render_if_changed(self) -> None:
        """Render the explorer views of the worker's model if the settings changed since the last render."""
        self._render_if_changed(self.model, self.data)

    def _render_if_changed(self, model, data) -> None:
        if model is None or data is None:
            return
        with self._lock:
            request, version = self._request, self._request_version
        if request is None or version == self._rendered_version:
            return
        self._rendered_version = version
        from keras_models.views import render_views

        try:
            views = self._reproject(model, data, request)
            views.update(render_views(model, request, data.val_x, data.val_y, self.latent_map))
            self.signals.views.emit(views)
        except Exception as exc:
            self.signals.event.emit(Notice(f"cannot draw the explorer views: {exc}"))

    def _reproject(self, model, data, request: ViewRequest) -> dict:
        """The map again, when the user chose another projection than the one it holds (a 2-D code
        is its own map and has none to change); it goes to the window with the views."""
        latent = self.latent_map
        if (latent is None or latent.projection.method in ("identity", request.projection)
                or latent.codes.shape[1] != model.latent_dim):  # another model's map: its next epoch brings one
            return {}
        from keras_models.latent_views import latent_map

        seed = self.config.seed if self.config else 0
        self.latent_map = latent_map(model, data.val_x, data.val_y, request.projection, seed)
        return {"latent_map": self.latent_map}


def _import_core(errors: list[BaseException]) -> None:
    try:
        from keras_models.startup import import_tensorflow_quietly

        import_tensorflow_quietly()
        import keras_models.training  # noqa: F401  (the heavy import: TensorFlow and Keras)
    except Exception as exc:  # a broken installation must not kill the window
        errors.append(exc)
