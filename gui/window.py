"""The main window: settings on the left, live plots and image grids on the right."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QThread
from PyQt6.QtWidgets import QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QTabWidget, QVBoxLayout, QWidget

from gui.compare_panel import ComparePanel
from gui.explorer_tabs import ClassTab, LatentTabs, TraversalTab
from gui.file_actions import FileActions
from gui.keyboard import install_shortcuts
from gui.progress_view import progress_handlers
from gui.run_panel import RunPanel
from gui.settings import RememberedSettings
from gui.study_estimate import connect_study_estimate
from gui.study_panel import StudyPanel
from gui.training_controls import TrainingControls
from gui.training_tab import TrainingTab
from gui.worker import EvaluateJob, ModelWorker, OpenJob, OpenModel, StudyJob, TrainJob
from keras_models.config import MODEL_TITLES, ConfigError, ViewRequest
from keras_models.events import (BatchProgress, EpochDone, EvaluationDone, Notice, RunStarted, StageStarted,
                                 Stopped, StudyFigure, StudyRow, StudyStarted, TrialFailed)
from keras_models.formatting import format_eta, metrics_text


class MainWindow(FileActions, QMainWindow):
    def __init__(self, load_data=None) -> None:
        super().__init__()
        self.setWindowTitle("VAE Studio")
        self.resize(1360, 860)
        self.run_dir: Path | None = None
        self.runs_folder = Path("runs")
        self.reports_folder = Path("reports")
        self.model_info: OpenModel | None = None
        self.busy_job: object | None = None  # the training, study, evaluation or opening in progress
        self.tf_ready = False
        self.errors: list[str] = []
        self._message_box: QMessageBox | None = None
        self._build_panels()
        self._build_layout()
        self._build_status_bar()
        self._build_menu()
        self._set_model_actions()
        self.worker = ModelWorker(load_data)
        self.thread = QThread(self)
        self.thread.setObjectName("model-worker")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.initialise)
        self._connect_worker(self.worker.signals)
        connect_study_estimate(self)
        self.remembered = RememberedSettings(self)  # after the worker: it follows the runs opened
        self.shortcuts = install_shortcuts(self)
        self.controls.train_button.setEnabled(False)
        self.metrics_label.setText("Loading TensorFlow…")

    @property
    def busy(self) -> bool:
        """True while a job that locks the settings runs: a training, study, evaluation or opening."""
        return self.busy_job is not None

    @property
    def evaluating(self) -> bool:
        return isinstance(self.busy_job, EvaluateJob)

    # ----- layout -------------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.controls = TrainingControls()
        self.controls.train_clicked.connect(self.start_training)
        self.controls.stop_clicked.connect(self.stop_training)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("background: #fff3cd; color: #664d03; padding: 6px; border-radius: 4px;")
        self.notice.hide()
        self.run_panel = RunPanel()
        self.run_panel.evaluate_button.clicked.connect(self.evaluate_run)
        self.evaluate_button, self.evaluation_label = self.run_panel.evaluate_button, self.run_panel.evaluation_label
        self.study = StudyPanel()
        self.study.run_clicked.connect(self.start_study)
        self.compare = ComparePanel(self.show_error)
        self.training_tab = TrainingTab(self.show_error)
        self.loss_plot, self.kl_bars = self.training_tab.loss_plot, self.training_tab.kl_bars
        self.reconstructions, self.samples = self.training_tab.reconstructions, self.training_tab.samples
        self.traversal_tab, self.class_tab = TraversalTab(self.show_error), ClassTab(self.show_error)
        self.traversal_controls, self.traversal = self.traversal_tab.controls, self.traversal_tab.traversal
        self.class_controls = self.class_tab.controls
        self.class_grid, self.class_style = self.class_tab.class_grid, self.class_tab.class_style
        self.traversal_controls.changed.connect(self.request_views)
        self.traversal_controls.gif_button.clicked.connect(self._export_gif_clicked)
        self.class_controls.changed.connect(self.request_views)
        self.latent_tabs = LatentTabs(self.show_error, self.request_views)

    def _build_layout(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.training_tab, "Training")
        self.tabs.addTab(self.traversal_tab, "Latent traversal")
        self.latent_tabs.add_to(self.tabs)
        self.tabs.addTab(self.class_tab, "CVAE classes")
        self.tabs.addTab(self.study, "β study")
        self.tabs.addTab(self.compare, "Compare runs")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.controls)
        side_layout.addWidget(self.run_panel)
        side_layout.addStretch(1)
        side.setMaximumWidth(330)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.notice)
        right_layout.addWidget(self.tabs, 1)
        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

    def _build_status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(360)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.metrics_label = QLabel("")
        self.statusBar().addWidget(self.metrics_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

    def _connect_worker(self, signals) -> None:
        signals.ready.connect(self._on_ready)
        signals.load_failed.connect(self.show_error)
        signals.event.connect(self._on_event)
        signals.views.connect(self._on_views)
        signals.model_changed.connect(self._on_model_changed)
        signals.job_done.connect(self._on_job_done)
        signals.job_failed.connect(self._on_job_failed)
        self.latent_tabs.listen(signals)
        self._event_handlers = {RunStarted: self._on_started, BatchProgress: self._on_batch,
                                EpochDone: self._on_epoch, StageStarted: self._on_stage,
                                StudyRow: lambda event: self.study.add_row(event.row),
                                StudyStarted: lambda event: None, **progress_handlers(self),
                                TrialFailed: self.study.add_failure,
                                StudyFigure: lambda event: self.study.add_figure(event.name, event.path),
                                EvaluationDone: lambda event: None, Notice: lambda event: self.show_notice(event.text)}

    def start_worker(self) -> None:
        """Start the model thread; it imports TensorFlow, so call this once the window shows."""
        if not self.thread.isRunning():
            self.thread.start()

    # ----- messages -----------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.errors.append(message)
        self.statusBar().showMessage(message, 15_000)
        if self._message_box is not None:
            self._message_box.close()
        self._message_box = QMessageBox(QMessageBox.Icon.Warning, "VAE Studio", message,
                                        QMessageBox.StandardButton.Ok, self)
        self._message_box.open()

    def show_notice(self, text: str) -> None:
        self.notice.setText(f"⚠ {text}")
        self.notice.show()

    # ----- actions --------------------------------------------------------------------------------
    def start_training(self) -> None:
        if self.busy or not self.tf_ready:
            return
        config = self.controls.config()
        config.out = str(self.runs_folder)
        resume = ""
        if self.controls.continue_run.isChecked() and self.run_dir is not None:
            resume = str(self.run_dir)
        else:
            try:
                config.validate()
            except ConfigError as exc:
                self.show_error(str(exc))
                return
        self.notice.hide()
        self.progress.setFormat("preparing data…")
        self.progress.setValue(0)
        self._start_job(TrainJob(config.to_dict(), resume))

    def stop_training(self) -> None:
        self.worker.stop()
        if self.evaluating:
            self.evaluation_label.setText("stopping…")
        else:
            self.progress.setFormat("stopping…")

    def start_study(self) -> None:
        if self.busy or not self.tf_ready:
            return
        config = self.controls.config()
        try:
            study = self.study.study_settings()
            config.validate()
        except ConfigError as exc:
            self.show_error(str(exc))
            return
        config.epochs = study.pop("epochs")
        engine, address = study.pop("engine"), study.pop("address")
        settings = {**study, "training": config.to_dict(), "out": str(self.reports_folder)}
        self.study.clear()
        self._start_job(StudyJob(settings, engine, address))

    def evaluate_run(self) -> None:
        if self.busy or self.model_info is None:
            return
        self.evaluation_label.setText(f"evaluating with k = {self.study.k.value()}…")
        self._start_job(EvaluateJob(self.study.k.value()))

    def _start_job(self, job: object) -> None:
        """Submit a job that locks the settings until it ends."""
        self.busy_job = job
        self._update_busy()
        self.worker.submit(job)

    def _update_busy(self) -> None:
        self.controls.set_training(self.busy)
        self.study.set_busy(self.busy)
        self._set_model_actions()

    def _set_model_actions(self) -> None:
        self.open_action.setEnabled(not self.busy)
        self.save_model_action.setEnabled(not self.busy and self.model_info is not None)
        self.save_all_action.setEnabled(self.run_dir is not None)
        self.evaluate_button.setEnabled(not self.busy and self.model_info is not None)

    def request_views(self) -> None:
        request = ViewRequest(**self.traversal_controls.request_fields(), **self.class_controls.request_fields(),
                              **self.latent_tabs.request_fields())
        self.worker.set_view_request(request)
        self.worker.render_requested.emit()

    def open_run(self, folder: str) -> None:
        if self.busy:
            return
        self.metrics_label.setText(f"opening {folder}…")
        self._start_job(OpenJob(folder))

    # ----- what the worker reports ----------------------------------------------------------------
    def _on_ready(self) -> None:
        self.tf_ready = True
        self.controls.train_button.setEnabled(not self.busy)
        self.metrics_label.setText("Ready: choose settings and click Train")
        self.request_views()

    def _on_event(self, event: object) -> None:
        self._event_handlers[type(event)](event)

    def _on_started(self, event: RunStarted) -> None:
        self.run_dir = Path(event.run_dir)
        self._show_model_settings(event.config)
        self.run_panel.show_run(event.run_dir, event.data)
        self.loss_plot.set_history(event.history, total_epochs=event.epochs, config=event.config)
        self.progress.setRange(0, 1000)
        self.controls.set_run_open(True)
        self._set_model_actions()
        if event.notice:
            self.show_notice(event.notice)

    def _show_model_settings(self, config: dict) -> None:
        self.class_controls.set_available(config["model"] == "cvae")
        self.traversal_controls.set_latent_dim(config["latent_dim"])
        self.setWindowTitle(f"VAE Studio: {MODEL_TITLES[config['model']]}, β = {config['beta']:g}")

    def _on_model_changed(self, info: OpenModel | None) -> None:
        self.model_info = info
        if info is None:  # training diverged before its first checkpoint: nothing to draw from
            self.class_controls.set_available(False)
        else:
            self.run_dir = Path(info.run_dir)
            self._show_model_settings(info.config)
            self.run_panel.show_run(info.run_dir, info.data)
            self.controls.set_run_open(True)
        self._set_model_actions()

    def _on_batch(self, progress: BatchProgress) -> None:
        epochs, steps = progress.epochs, progress.steps
        done = (progress.epoch - 1) * steps + progress.batch
        self.progress.setValue(int(1000 * done / (epochs * steps)))
        self.progress.setFormat(f"epoch {progress.epoch}/{epochs} · batch {progress.batch}/{steps}"
                                f" · ETA {format_eta(progress.eta_s)}")
        self.metrics_label.setText(metrics_text(progress.logs))
        self.loss_plot.add_batch(progress)

    def _on_epoch(self, event: EpochDone) -> None:
        if "loss" in event.record:
            self.metrics_label.setText(f"epoch {int(event.record['epoch'])}: {metrics_text(event.record)}")
        conditional = self.model_info is not None and self.model_info.config["model"] == "cvae"
        self.training_tab.show_epoch(event, conditional)

    def _on_stage(self, event: StageStarted) -> None:
        if self.evaluating:
            self.evaluation_label.setText(event.text + "…")
        else:
            self.study.set_stage(event.text, event.fraction)

    def _on_views(self, views: dict) -> None:
        self.traversal_tab.show_views(views)
        self.class_tab.show_views(views)

    def _on_job_done(self, job: object, result: object) -> None:
        if job is self.busy_job:
            self.busy_job = None
            self._update_busy()
        if isinstance(result, Stopped):  # only evaluations end this way; training and studies keep their work
            self.evaluation_label.setText("")
            self.statusBar().showMessage("evaluation stopped; nothing was measured", 8000)
        elif isinstance(job, TrainJob):
            self.progress.setValue(self.progress.maximum())
            word = "stopped" if result.stopped else "finished"
            self.progress.setFormat(f"{word} after epoch {len(result.history)}")
            self.statusBar().showMessage(f"training {word}; run saved in {result.run_dir}", 15_000)
        elif isinstance(job, OpenJob):
            self.controls.show_config(result.config.to_dict())
            self.loss_plot.set_history(result.history, config=result.config.to_dict())
            self.metrics_label.setText(f"opened {result.run_dir} ({len(result.history)} epochs)")
        elif isinstance(job, StudyJob):
            self.study.finish({"report_dir": str(result.report_dir), "stopped": result.stopped,
                               "conclusions": result.conclusions})
            self.statusBar().showMessage(f"study written to {result.report_dir}", 15_000)
        elif isinstance(job, EvaluateJob):
            self.run_panel.show_evaluation(result)
        else:  # a model or GIF saved
            self.statusBar().showMessage(f"saved {result}", 8000)

    def _on_job_failed(self, job: object, message: str) -> None:
        if job is self.busy_job:
            self.busy_job = None
            self._update_busy()
            if isinstance(job, EvaluateJob):
                self.evaluation_label.setText("")
            elif isinstance(job, (TrainJob, StudyJob)):
                self.progress.setFormat("failed")
        self.show_error(message)

    # ----- shutdown -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop any job, then end the worker thread and wait for it."""
        self.worker.stop()
        if self.thread.isRunning():
            self.thread.quit()
            # No time limit: destroying a QThread that still runs aborts the process. Training,
            # studies and evaluations end within a batch; a data download cannot be interrupted.
            self.thread.wait()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.remembered.save()
        self.shutdown()
        super().closeEvent(event)
