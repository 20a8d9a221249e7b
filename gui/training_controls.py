"""The side panel of training settings."""
from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                             QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget)

from gui.schedule_controls import ScheduleControls
from gui.widgets import int_box
from keras_models.config import (ARCHITECTURES, MAX_BATCH_SIZE, MAX_BETA, MAX_EPOCHS, MAX_LATENT_DIM, MODEL_TITLES,
                                 PRECISIONS, TrainConfig)
from keras_models.events import TrainingSized
from keras_models.sizing import KNOWN_TRAINING_IMAGES, OFFLINE_FALLBACK, default_training_size, expected_size_text

BETA_PRESETS = (0.1, 1, 2, 4, 10)
DATASETS = (("MNIST", "mnist"), ("Fashion-MNIST", "fashion_mnist"), ("MNIST 5k (offline)", "mnist-5k"),
            ("Shapes (known factors)", "shapes"), ("dSprites", "dsprites"), ("Local IDX folder…", "idx"),
            ("Image folder…", "folder"))
# The data sets named by a folder: the dialog's title and the entry's text once one is chosen.
FOLDER_SETS = {"idx": ("Folder with the four MNIST IDX files", "IDX"),
               "folder": ("Folder with one sub-folder of images per class", "Images")}
VAE_BETA_TIP = "The vanilla VAE has β = 1. Choose β-VAE to set another β."
BETA_TIP = f"Weight of the KL term: loss = rec + β·KL (0–{MAX_BETA:g})"


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
        self.model.setToolTip("VAE (β = 1), β-VAE (KL weighted by β) or CVAE (also sees the digit label)")
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, MAX_BETA)
        self.beta.setDecimals(3)
        self.beta.setSingleStep(0.1)
        self.beta.setValue(defaults.beta)
        self.beta.setToolTip(BETA_TIP)
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
        self.latent_dim = int_box(1, MAX_LATENT_DIM, defaults.latent_dim, "Size of the latent code z")
        # 0 shows as "auto": sized to the training set once it is loaded (keras_models.sizing).
        self.epochs = int_box(0, MAX_EPOCHS, 0, "Epochs to train (more epochs when continuing); "
                                                      "auto: enough optimizer steps for the training set's size")
        self.batch_size = int_box(0, MAX_BATCH_SIZE, 0, "Images per gradient step; auto: chosen from the "
                                                              "training set's size")
        for box in (self.epochs, self.batch_size):
            box.setSpecialValueText("auto")
        self.auto_size = QLabel()
        self.auto_size.setWordWrap(True)
        self.auto_size.setStyleSheet("color: gray")
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(0.000001, 1.0)
        self.learning_rate.setSingleStep(0.0001)
        self.learning_rate.setValue(defaults.learning_rate)
        self.learning_rate.setToolTip("Adam learning rate (0.000001–1)")
        self.dataset = QComboBox()
        for title, key in DATASETS:
            self.dataset.addItem(title, key)
        self.dataset.setToolTip("The images to train on; the last two entries ask for a folder")
        self.folders = {key: "" for key in FOLDER_SETS}
        self.dataset.activated.connect(self._dataset_chosen)
        self.seed = int_box(0, 2**31 - 1, defaults.seed, "Random seed: the same seed repeats a run")
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip("auto: bfloat16 matrix products where the CPU has them natively, else float32")
        self.continue_run = QCheckBox("Continue the open run")
        self.continue_run.setToolTip("Train or open a run first")
        self.continue_run.toggled.connect(self._update_enabled)
        self.tensorboard = QCheckBox("TensorBoard logs")
        self.tensorboard.setToolTip("Also write the losses and pictures of every epoch into RUN_DIR/tensorboard "
                                    "(tensorboard --logdir runs)")
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.setToolTip("Train with these settings (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        # The one Stop of the window: it also ends a study or an evaluation, so the tip names them.
        self.stop_button.setToolTip("Stop the training, study or evaluation in progress (Esc): training after its "
                                    "batch, keeping what was learned; an evaluation writes nothing half-measured")
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
        form.addRow("", self.auto_size)
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
        layout.addWidget(self.tensorboard)
        layout.addWidget(self.continue_run)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.model.currentIndexChanged.connect(self._update_enabled)
        for signal in (self.epochs.valueChanged, self.batch_size.valueChanged, self.dataset.currentIndexChanged,
                       self.continue_run.toggled):
            signal.connect(self._show_expected_size)
        self.training = False
        self.run_open = False
        self._update_enabled()
        self._show_expected_size()

    def _settings_widgets(self) -> list[QWidget]:
        return [self.model, self.arch, self.latent_dim, self.batch_size, self.learning_rate, self.dataset,
                self.seed, self.precision, self.tensorboard]

    def _dataset_chosen(self, index: int) -> None:
        key = self.dataset.itemData(index)
        if key not in FOLDER_SETS:
            return
        folder = QFileDialog.getExistingDirectory(self, FOLDER_SETS[key][0], self.folders[key])
        if folder:
            self.set_folder(key, folder)
        elif not self.folders[key]:
            self.dataset.setCurrentIndex(0)

    def set_folder(self, key: str, folder: str) -> None:
        """Choose the folder data set ``key`` ("idx" or "folder") reading ``folder``."""
        self.folders[key] = folder
        index = self.dataset.findData(key)
        self.dataset.setItemText(index, f"{FOLDER_SETS[key][1]}: {folder}")
        self.dataset.setItemData(index, folder, Qt.ItemDataRole.ToolTipRole)  # the text is cut short
        self.dataset.setCurrentIndex(index)

    def set_dataset(self, name: str) -> bool:
        """Choose data set ``name`` as config.json writes it; False (nothing changed) when the
        list has no such entry."""
        key, _, folder = name.partition(":")
        if key in FOLDER_SETS and folder:
            self.set_folder(key, folder)
            return True
        index = self.dataset.findData(name)
        if index < 0 or name in FOLDER_SETS:
            return False
        self.dataset.setCurrentIndex(index)
        return True

    def dataset_name(self) -> str:
        key = self.dataset.currentData()
        return f"{key}:{self.folders[key]}" if key in FOLDER_SETS else key

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
        self.beta.setToolTip(VAE_BETA_TIP if vanilla else BETA_TIP)
        self.epochs.setEnabled(idle)
        self.continue_run.setEnabled(idle and self.run_open)
        self.train_button.setEnabled(idle)
        self.stop_button.setEnabled(self.training)
        self.schedule.update_for(self, idle and not continuing)

    def _show_expected_size(self) -> None:
        if self.continue_run.isChecked():
            # The run keeps its own batch size; auto only adds epochs (as many as a new run gets).
            auto = self.epochs.value() == 0
            name = self.dataset_name()
            images = KNOWN_TRAINING_IMAGES.get(name)
            text = (f"auto: {default_training_size(images).epochs:,} more epochs" if images is not None
                    else "auto: more epochs, sized to the training set once it is loaded")
            if name in OFFLINE_FALLBACK:  # a run that fell back continues on the offline set
                offline = default_training_size(KNOWN_TRAINING_IMAGES[OFFLINE_FALLBACK[name]]).epochs
                text += f" ({offline:,} if it trained on {OFFLINE_FALLBACK[name]})"
        else:
            auto = self.epochs.value() == 0 or self.batch_size.value() == 0
            # A box already set by hand is kept: the line says only what auto chooses around it.
            text = expected_size_text(self.dataset_name(), self.batch_size.value() or None,
                                      self.epochs.value() or None)
        self.auto_size.setText(text if auto else "")
        self.auto_size.setVisible(auto)

    def show_auto_size(self, event: TrainingSized) -> None:
        """The size a training chose for "auto", once its data had loaded."""
        self.auto_size.setText(f"sized to the data: {event.reason}")

    def config(self) -> TrainConfig:
        return TrainConfig(
            model=self.model.currentData(), beta=round(self.beta.value(), 6), epochs=self.epochs.value() or None,
            batch_size=self.batch_size.value() or None, latent_dim=self.latent_dim.value(),
            learning_rate=self.learning_rate.value(), dataset=self.dataset_name(), seed=self.seed.value(),
            precision=self.precision.currentText(), arch=self.arch.currentText(), **self.schedule.fields(),
            tensorboard=self.tensorboard.isChecked(),
        )

    def show_config(self, config: dict) -> None:
        """Reflect a run's saved settings (after Open run…)."""
        self.model.setCurrentIndex(max(0, self.model.findData(config["model"])))
        self.beta.setValue(config["beta"])
        self.latent_dim.setValue(config["latent_dim"])
        self.batch_size.setValue(config["batch_size"] or 0)  # None: auto
        self.learning_rate.setValue(config["learning_rate"])
        self.seed.setValue(config["seed"])
        self.arch.setCurrentText(config["arch"])
        self.precision.setCurrentText(config["precision"])
        self.tensorboard.setChecked(bool(config.get("tensorboard", False)))
        self.schedule.show_config(config)
        if not self.set_dataset(config["dataset"]):
            self.dataset.setCurrentIndex(0)
