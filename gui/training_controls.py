"""The side panel of training settings."""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                             QHBoxLayout, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from gui.schedule_controls import ScheduleControls
from keras_models.config import (ARCHITECTURES, MAX_BATCH_SIZE, MAX_BETA, MAX_EPOCHS, MAX_LATENT_DIM, MODEL_TITLES,
                                 PRECISIONS, TrainConfig)

BETA_PRESETS = (0.1, 1, 2, 4, 10)
DATASETS = (("MNIST", "mnist"), ("Fashion-MNIST", "fashion_mnist"), ("MNIST 5k (offline)", "mnist-5k"),
            ("Shapes (known factors)", "shapes"), ("dSprites", "dsprites"), ("Local IDX folder…", "idx"))
VAE_BETA_TIP = "The vanilla VAE has β = 1. Choose β-VAE to set another β."


class TrainingControls(QGroupBox):
    """Every training setting, checked as it is typed, plus Train and Stop."""

    train_clicked = pyqtSignal()
    stop_clicked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        defaults = TrainConfig()
        self.model = QComboBox()
        for key, title in MODEL_TITLES.items():
            self.model.addItem(title, key)
        self.model.setCurrentIndex(list(MODEL_TITLES).index(defaults.model))
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, MAX_BETA)
        self.beta.setDecimals(3)
        self.beta.setSingleStep(0.1)
        self.beta.setValue(defaults.beta)
        self.beta.setToolTip("Weight of the KL term: loss = rec + β·KL")
        self.presets = []
        preset_row = QHBoxLayout()
        preset_row.setSpacing(2)
        for value in BETA_PRESETS:
            button = QToolButton()
            button.setText(f"{value:g}")
            button.setToolTip(f"Set β = {value:g}")
            button.clicked.connect(lambda _=False, v=value: self.beta.setValue(v))
            preset_row.addWidget(button)
            self.presets.append(button)
        self.arch = QComboBox()
        self.arch.addItems(ARCHITECTURES)
        self.arch.setToolTip("mlp: the reference 784-300-300 network; conv: two stride-2 convolutions each way")
        self.latent_dim = self._int_box(1, MAX_LATENT_DIM, defaults.latent_dim, "Size of the latent code z")
        self.epochs = self._int_box(1, MAX_EPOCHS, defaults.epochs, "Epochs to train (more epochs when continuing)")
        self.batch_size = self._int_box(1, MAX_BATCH_SIZE, defaults.batch_size, "Images per gradient step")
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(0.000001, 1.0)
        self.learning_rate.setSingleStep(0.0001)
        self.learning_rate.setValue(defaults.learning_rate)
        self.learning_rate.setToolTip("Adam learning rate")
        self.dataset = QComboBox()
        for title, key in DATASETS:
            self.dataset.addItem(title, key)
        self.idx_folder = ""
        self.dataset.activated.connect(self._dataset_chosen)
        self.seed = self._int_box(0, 2**31 - 1, defaults.seed, "Random seed: the same seed repeats a run")
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip("auto: bfloat16 matrix products where the CPU has them natively, else float32")
        self.continue_run = QCheckBox("Continue the open run")
        self.continue_run.setToolTip("Train or open a run first")
        self.continue_run.toggled.connect(self._update_enabled)
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.train_button.clicked.connect(self.train_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("β", self.beta)
        form.addRow("", preset_row)
        form.addRow("Network", self.arch)
        form.addRow("Latent size", self.latent_dim)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Dataset", self.dataset)
        form.addRow("Seed", self.seed)
        form.addRow("Precision", self.precision)
        self.schedule = ScheduleControls(self)
        self.schedule.add_to(form)
        self.schedule.changed.connect(self._update_enabled)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.continue_run)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.model.currentIndexChanged.connect(self._update_enabled)
        self.training = False
        self.run_open = False
        self._update_enabled()

    @staticmethod
    def _int_box(low: int, high: int, value: int, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        box.setToolTip(tip)
        return box

    def _settings_widgets(self) -> list[QWidget]:
        return [self.model, self.arch, self.latent_dim, self.batch_size, self.learning_rate, self.dataset,
                self.seed, self.precision]

    def _dataset_chosen(self, index: int) -> None:
        if self.dataset.itemData(index) != "idx":
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder with the four MNIST IDX files", self.idx_folder)
        if folder:
            self.set_idx_folder(folder)
        elif not self.idx_folder:
            self.dataset.setCurrentIndex(0)

    def set_idx_folder(self, folder: str) -> None:
        self.idx_folder = folder
        index = self.dataset.findData("idx")
        self.dataset.setItemText(index, f"IDX: {folder}")
        self.dataset.setCurrentIndex(index)

    def dataset_name(self) -> str:
        key = self.dataset.currentData()
        return f"idx:{self.idx_folder}" if key == "idx" else key

    def set_training(self, training: bool) -> None:
        self.training = training
        self._update_enabled()

    def set_run_open(self, run_open: bool) -> None:
        self.run_open = run_open
        self.continue_run.setToolTip("Train this many more epochs on the open run, with its saved settings"
                                     if run_open else "Train or open a run first")
        if not run_open:
            self.continue_run.setChecked(False)
        self._update_enabled()

    def _update_enabled(self) -> None:
        idle = not self.training
        continuing = self.continue_run.isChecked()
        for widget in self._settings_widgets():
            widget.setEnabled(idle and not continuing)
        vanilla = self.model.currentData() == "vae"
        if vanilla:
            self.beta.setValue(1.0)
        beta_free = idle and not continuing and not vanilla
        self.beta.setEnabled(beta_free)
        for button in self.presets:
            button.setEnabled(beta_free)
        self.beta.setToolTip(VAE_BETA_TIP if vanilla else "Weight of the KL term: loss = rec + β·KL")
        self.epochs.setEnabled(idle)
        self.continue_run.setEnabled(idle and self.run_open)
        self.train_button.setEnabled(idle)
        self.stop_button.setEnabled(self.training)
        self.schedule.update_for(self, idle and not continuing)

    def config(self) -> TrainConfig:
        return TrainConfig(
            model=self.model.currentData(), beta=round(self.beta.value(), 6), epochs=self.epochs.value(),
            batch_size=self.batch_size.value(), latent_dim=self.latent_dim.value(),
            learning_rate=self.learning_rate.value(), dataset=self.dataset_name(), seed=self.seed.value(),
            precision=self.precision.currentText(), arch=self.arch.currentText(), **self.schedule.fields(),
        )

    def show_config(self, config: dict) -> None:
        """Reflect a run's saved settings (after Open run…)."""
        self.model.setCurrentIndex(max(0, self.model.findData(config["model"])))
        self.beta.setValue(config["beta"])
        self.latent_dim.setValue(config["latent_dim"])
        self.batch_size.setValue(config["batch_size"])
        self.learning_rate.setValue(config["learning_rate"])
        self.seed.setValue(config["seed"])
        self.arch.setCurrentText(config["arch"])
        self.precision.setCurrentText(config["precision"])
        self.schedule.show_config(config)
        if config["dataset"].startswith("idx:"):
            self.set_idx_folder(config["dataset"][4:])
        else:
            self.dataset.setCurrentIndex(max(0, self.dataset.findData(config["dataset"])))
