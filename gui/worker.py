"""The thread that owns the model: training, loading, saving and rendering.

Only this thread touches TensorFlow. The window talks to it with queued
signals while it is idle; while ``fit`` runs its event loop is blocked, so
Stop is a ``threading.Event`` and explorer settings are read from a
lock-protected slot after every batch.
"""
from __future__ import annotations

import gc
import json
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from keras_models.config import Stopped, TrainConfig


class Signals(QObject):
    """Everything the worker reports. Payloads are plain Python values and numpy copies."""

    ready = pyqtSignal()
    started = pyqtSignal(dict)
    batch_progress = pyqtSignal(dict)
    epoch_done = pyqtSignal(dict)
    views = pyqtSignal(dict)
    finished = pyqtSignal(dict)
    failed = pyqtSignal(str)  # something went wrong; the worker is as busy (or idle) as before
    job_failed = pyqtSignal(str)  # a training, study or evaluation ended with an error
    run_opened = pyqtSignal(dict)
    saved = pyqtSignal(str)
    notice = pyqtSignal(str)
    study_stage = pyqtSignal(str, float)
    study_row = pyqtSignal(dict)
    study_figure = pyqtSignal(str, str)
    study_finished = pyqtSignal(dict)
    evaluated = pyqtSignal(dict)
    evaluation_stopped = pyqtSignal()
    model_dropped = pyqtSignal()  # training diverged before its first checkpoint: there is no model now


class ModelWorker(QObject):
    """Lives in a QThread. Slots run there; public plain methods are safe from any thread."""

    train_requested = pyqtSignal(dict, str)
    open_requested = pyqtSignal(str)
    save_requested = pyqtSignal(str)
    render_requested = pyqtSignal()
    study_requested = pyqtSignal(dict)
    evaluate_requested = pyqtSignal(int)
    gif_requested = pyqtSignal(str)

    def __init__(self, load_data: Callable[[TrainConfig], Any] | None = None) -> None:
        super().__init__()
        self.signals = Signals()
        self.stop_event = threading.Event()
        self._load_data_override = load_data
        self._lock = threading.Lock()
        self._request = None
        self._request_version = 0
        self._rendered_version = -1
        self.model = None
        self.data = None
        self.config: TrainConfig | None = None
        self.run_dir: Path | None = None
        self.train_requested.connect(self.train)
        self.open_requested.connect(self.open_run)
        self.save_requested.connect(self.save_model)
        self.render_requested.connect(self.render_if_changed)
        self.study_requested.connect(self.run_study)
        self.evaluate_requested.connect(self.evaluate_run)
        self.gif_requested.connect(self.export_gif)

    # ----- called from the GUI thread -------------------------------------------------------
    def set_view_request(self, request) -> None:
        with self._lock:
            self._request = request
            self._request_version += 1

    # ----- slots, run in the worker thread ------------------------------------------------------
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
            self.signals.failed.emit(f"TensorFlow could not be loaded: {errors[0]}")
            return
        # TensorFlow brings ~400,000 long-lived objects; a full garbage collection over them
        # holds the GIL for ~200 ms and freezes the window. Exempt them from collection.
        gc.freeze()
        self.signals.ready.emit()

    def _load_data(self, config: TrainConfig):
        if self._load_data_override is not None:
            return self._load_data_override(config)
        from keras_models.data import load_dataset
        return load_dataset(config.dataset, config.data_dir)

    @pyqtSlot(dict, str)
    def train(self, settings: dict, resume_dir: str) -> None:
        """Train a new run from ``settings``, or ``settings["epochs"]`` more on ``resume_dir``."""
        from keras_models.training import TrainingDiverged, TrainingSession, read_run

        outcome: tuple[pyqtSignal, object]
        try:
            if resume_dir:
                run_config, _, _ = read_run(resume_dir)
                same_run = self.run_dir == Path(resume_dir) and self.data is not None
                session = TrainingSession.resume(
                    resume_dir, int(settings["epochs"]),
                    data=self.data if same_run else self._load_data(run_config),
                    listener=_Reporter(self), stop_event=self.stop_event)
            else:
                config = TrainConfig.from_dict(settings).validate()
                session = TrainingSession.new(config, data=self._load_data(config),
                                              listener=_Reporter(self), stop_event=self.stop_event)
            self.model, self.data, self.config, self.run_dir = (
                session.model, session.data, session.config, session.run_dir)
            result = session.run()
            self.model = result.model
            outcome = (self.signals.finished, {"run_dir": str(result.run_dir), "stopped": result.stopped,
                                               "epochs": len(result.history)})
        except TrainingDiverged as exc:
            self._reload_checkpoint()
            outcome = (self.signals.job_failed, str(exc))
        except ValueError as exc:  # bad settings, data or run folder: the message says which
            outcome = (self.signals.job_failed, str(exc))
        except Exception as exc:
            traceback.print_exc()
            outcome = (self.signals.job_failed, f"training failed: {type(exc).__name__}: {exc}")
        # Redraw the explorer from the final weights before announcing the end, so a listener
        # that waits for the end sees views that match the model.
        self._rendered_version = -1
        self.render_if_changed()
        signal, payload = outcome
        signal.emit(payload)

    def _reload_checkpoint(self) -> None:
        from keras_models.training import MODEL_FILE, load_model_file

        if self.run_dir is not None and (self.run_dir / MODEL_FILE).exists():
            try:
                self.model = load_model_file(self.run_dir / MODEL_FILE)
                return
            except ValueError as exc:
                self.signals.failed.emit(str(exc))
        self.model = None  # the diverged weights would only draw NaN pictures
        self.signals.model_dropped.emit()

    @pyqtSlot(str)
    def open_run(self, run_dir: str) -> None:
        from keras_models.training import MODEL_FILE, load_model_file, read_run

        try:
            config, saved, history = read_run(run_dir)
            model = load_model_file(Path(run_dir) / MODEL_FILE)
            data = self._load_data(config)
        except ValueError as exc:
            self.signals.failed.emit(str(exc))
            return
        except Exception as exc:
            self.signals.failed.emit(f"cannot open {run_dir}: {type(exc).__name__}: {exc}")
            return
        self.model, self.data, self.config, self.run_dir = model, data, config, Path(run_dir)
        if data.notice:
            self.signals.notice.emit(data.notice)
        self.signals.run_opened.emit({"run_dir": str(run_dir), "config": config.to_dict(), "history": history,
                                      "data": data.describe()})
        self._emit_epoch_images({"epoch": history[-1]["epoch"]} if history else {"epoch": 0.0})
        self._rendered_version = -1
        self.render_if_changed()

    @pyqtSlot(dict)
    def run_study(self, settings: dict) -> None:
        """Run the β study of ``settings`` (a StudyConfig as a dict), reporting as it goes."""
        from keras_models.study import StudyConfig, run_study

        try:
            config = StudyConfig.from_dict(settings).validate()
            self.config = config.train_config(config.entries()[0])
            self.data = self._load_data(self.config)
            result = run_study(config, data=self.data, listener=_StudyReporter(self), stop_event=self.stop_event)
        except ValueError as exc:
            self.signals.job_failed.emit(str(exc))
            return
        except Exception as exc:
            traceback.print_exc()
            self.signals.job_failed.emit(f"the study failed: {type(exc).__name__}: {exc}")
            return
        self.signals.study_finished.emit({"report_dir": str(result.report_dir), "stopped": result.stopped,
                                          "conclusions": result.conclusions})

    @pyqtSlot(int)
    def evaluate_run(self, k: int) -> None:
        """Measure the open model on its test images; the numbers also go to the run folder."""
        from keras_models import classifier, evaluation
        from keras_models.files import EVALUATION_FILE, write_text_atomic

        if self.model is None or self.data is None:
            self.signals.job_failed.emit("there is no model to evaluate yet: train one or open a run")
            return
        try:
            clf = classifier.load_or_train_classifier(self.data, stop_event=self.stop_event)
            numbers = evaluation.evaluate(self.model, self.data.val_x, self.data.val_y, k=k, classifier=clf,
                                          stop_event=self.stop_event)
            if self.run_dir is not None:
                write_text_atomic(self.run_dir / EVALUATION_FILE, json.dumps(numbers, indent=2))
        except Stopped:
            self.signals.evaluation_stopped.emit()
            return
        except Exception as exc:
            traceback.print_exc()
            self.signals.job_failed.emit(f"evaluation failed: {type(exc).__name__}: {exc}")
            return
        self.signals.evaluated.emit(numbers)

    @pyqtSlot(str)
    def export_gif(self, path: str) -> None:
        """Write the current traversal settings as an animated GIF (every dimension, one frame per step)."""
        from keras_models.views import export_traversal_gif

        with self._lock:
            request = self._request
        if self.model is None or self.data is None or request is None:
            self.signals.failed.emit("there is no model to animate yet: train one or open a run")
            return
        try:
            export_traversal_gif(self.model, request, self.data.val_x, self.data.val_y, path)
        except OSError as exc:
            self.signals.failed.emit(f"cannot write {path}: {exc.strerror or exc}")
            return
        self.signals.saved.emit(path)

    @pyqtSlot(str)
    def save_model(self, path: str) -> None:
        from keras_models.training import save_model_atomic

        if self.model is None:
            self.signals.failed.emit("there is no model to save yet: train one or open a run")
            return
        try:
            save_model_atomic(self.model, Path(path))
        except OSError as exc:
            self.signals.failed.emit(f"cannot save the model to {path}: {exc.strerror or exc}")
            return
        self.signals.saved.emit(path)

    @pyqtSlot()
    def render_if_changed(self) -> None:
        """Render the explorer views if the settings changed since the last render."""
        if self.model is None or self.data is None:
            return
        with self._lock:
            request, version = self._request, self._request_version
        if request is None or version == self._rendered_version:
            return
        self._rendered_version = version
        self.render(request)

    def render(self, request) -> None:
        from keras_models.views import render_views

        try:
            self.signals.views.emit(render_views(self.model, request, self.data.val_x, self.data.val_y))
        except Exception as exc:
            self.signals.failed.emit(f"cannot draw the explorer views: {exc}")

    def _emit_epoch_images(self, record: dict[str, float]) -> None:
        from keras_models.views import epoch_images

        seed = self.config.seed if self.config else 0
        images = epoch_images(self.model, self.data.val_x, self.data.val_y, seed)
        self.signals.epoch_done.emit({"record": record, "images": images})


def _import_core(errors: list[BaseException]) -> None:
    try:
        import keras_models.training  # noqa: F401  (the heavy import: TensorFlow and Keras)
    except Exception as exc:  # a broken installation must not kill the window
        errors.append(exc)


class _Reporter:
    """A ``TrainingListener`` (by duck typing, so this module imports no TensorFlow) that
    forwards a session's progress to the window, from the worker thread."""

    def __init__(self, worker: ModelWorker) -> None:
        self.worker = worker

    def on_start(self, info: dict[str, Any]) -> None:
        self.worker.run_dir = Path(info["run_dir"])
        self.worker.signals.started.emit(info)

    def on_batch(self, model, progress: dict[str, Any]) -> None:
        self.worker.signals.batch_progress.emit(progress)
        self.worker.render_if_changed()

    def on_epoch(self, model, record: dict[str, float]) -> None:
        self.worker.model = model
        self.worker._emit_epoch_images(record)
        # The weights changed: redraw the explorer views even if their settings did not.
        self.worker._rendered_version = -1
        self.worker.render_if_changed()


class _StudyReporter:
    """A ``StudyListener`` (by duck typing) that forwards a study's progress to the window."""

    def __init__(self, worker: ModelWorker) -> None:
        self.worker = worker

    def on_stage(self, text: str, fraction: float) -> None:
        self.worker.signals.study_stage.emit(text, fraction)

    def on_training(self, entry: dict[str, Any]) -> _Reporter:
        # Each model of the study trains in front of the user, like a run of their own.
        return _Reporter(self.worker)

    def on_model_done(self, row: dict[str, Any]) -> None:
        self.worker.signals.study_row.emit(row)

    def on_figure(self, name: str, path: Path) -> None:
        self.worker.signals.study_figure.emit(name, str(path))
