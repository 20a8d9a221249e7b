"""The KL schedule settings of the training panel: none, a warm-up, cyclical annealing or
capacity control (keras_models.schedules), with only the chosen schedule's settings shown."""
from __future__ import annotations

from typing import Any, Protocol

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox

from gui.widgets import int_box
from keras_models.config import MAX_EPOCHS
from keras_models.schedules import CAPACITY, CYCLES, DEFAULT_GAMMA, MAX_CAPACITY, MAX_GAMMA, WARMUP

NONE = "none"
KINDS = (("None (fixed β)", NONE), ("KL warm-up", WARMUP), ("KL cycles", CYCLES), ("Capacity C", CAPACITY))
KIND_TIPS = {
    NONE: "The KL term keeps the weight β in every epoch",
    WARMUP: "The KL weight rises linearly from 0 to β over the first epochs, so the decoder learns to use the "
            "code before the KL term presses it towards the prior (fights posterior collapse)",
    CYCLES: "Cyclical annealing: the training is cut into cycles; in each the KL weight rises from 0 to β over "
            "the first half and stays at β for the rest",
    CAPACITY: "Capacity control: loss = rec + γ·|KL − C|, C rising from 0 to C_max nats; β is not used (set to 1)",
}
VAE_CAPACITY_TIP = "Not for the vanilla VAE, which minimises rec + KL: choose β-VAE or CVAE"
DEFAULT_WARMUP, DEFAULT_CYCLES, DEFAULT_CAPACITY = 5, 2, 25.0


class _Panel(Protocol):  # what the training panel offers this widget
    model: QComboBox
    beta: QDoubleSpinBox
    presets: list


class ScheduleControls(QObject):
    """The schedule chooser and the chosen schedule's settings, shown as rows of the training
    panel's form (``add_to``); ``fields()`` gives TrainConfig's."""

    changed = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for index, (title, key) in enumerate(KINDS):
            self.kind.addItem(title, key)
            self.kind.setItemData(index, KIND_TIPS[key], Qt.ItemDataRole.ToolTipRole)
        self.kind.setToolTip("KL schedule: how the KL term is weighted epoch by epoch")
        self.warmup = int_box(1, MAX_EPOCHS, DEFAULT_WARMUP, "Epochs over which the KL weight rises from 0 to β "
                              "(1 to the epochs trained): 0 in epoch 1, β once the warm-up is over", state_range=False)
        self.cycles = int_box(1, MAX_EPOCHS // 2, DEFAULT_CYCLES,
                              "Cycles over the epochs trained (1 to half the epochs: 2 or more a cycle): each rises "
                              "from 0 to β over its first half, then holds β", state_range=False)
        self.capacity = QDoubleSpinBox()
        self.capacity.setRange(0.1, MAX_CAPACITY)
        self.capacity.setDecimals(1)
        self.capacity.setValue(DEFAULT_CAPACITY)
        self.capacity.setToolTip(f"C_max: the KL, in nats, that C rises to (0.1 to {MAX_CAPACITY:g}); "
                                 "a β = 1 VAE used about 16 after 10 epochs of MNIST 5k")
        self.capacity_epochs = int_box(0, MAX_EPOCHS, 0, "Epochs over which C rises from 0 to C_max (1 to the "
                                       "epochs trained; 0: half the epochs)", state_range=False)
        self.capacity_epochs.setSpecialValueText("half the epochs")
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.1, MAX_GAMMA)
        self.gamma.setDecimals(1)
        self.gamma.setValue(DEFAULT_GAMMA)
        self.gamma.setToolTip(f"γ: how hard the KL is held at C (0.1 to {MAX_GAMMA:g}; default {DEFAULT_GAMMA:g})")
        for box in (self.warmup, self.capacity_epochs):
            _epochs_suffix(box)
            box.valueChanged.connect(lambda _value, box=box: _epochs_suffix(box))
        self.rows = {WARMUP: [self.warmup], CYCLES: [self.cycles],
                     CAPACITY: [self.capacity, self.capacity_epochs, self.gamma]}
        self.form: QFormLayout | None = None
        self._beta_before_capacity: float | None = None  # the user's β, given back when capacity is left
        self.kind.currentIndexChanged.connect(self._kind_changed)

    def add_to(self, form: QFormLayout) -> None:
        """Add the settings as rows of the training panel's form, so they line up with its own."""
        self.form = form
        form.addRow("KL schedule", self.kind)
        form.addRow("Warm-up", self.warmup)
        form.addRow("Cycles", self.cycles)
        form.addRow("C_max (nats)", self.capacity)
        form.addRow("C rises over", self.capacity_epochs)
        form.addRow("γ", self.gamma)
        self._kind_changed()

    def current(self) -> str | None:
        """The chosen schedule's kind, None for a fixed β."""
        kind = self.kind.currentData()
        return None if kind == NONE else kind

    def _kind_changed(self) -> None:
        if self.form is not None:
            for key, widgets in self.rows.items():
                for widget in widgets:
                    self.form.setRowVisible(widget, key == self.current())
        self.changed.emit()

    def _set_available(self, key: str, available: bool, reason: str) -> None:
        index = self.kind.findData(key)
        item = self.kind.model().item(index)
        item.setEnabled(available)
        self.kind.setItemData(index, KIND_TIPS[key] if available else reason, Qt.ItemDataRole.ToolTipRole)
        if not available and self.current() == key:
            self.kind.setCurrentIndex(0)

    def update_for(self, panel: _Panel, enabled: bool) -> None:
        """Follow the training panel: capacity control is not for the VAE, and it fixes β at 1
        (its loss does not use β). The VAE may anneal: its weight rises to its β of 1."""
        self._set_available(CAPACITY, panel.model.currentData() != "vae", VAE_CAPACITY_TIP)
        for widget in (self.kind, *(w for ws in self.rows.values() for w in ws)):
            widget.setEnabled(enabled)
        if self.current() == CAPACITY:
            if self._beta_before_capacity is None:
                self._beta_before_capacity = panel.beta.value()
            panel.beta.setValue(1.0)
            panel.beta.setEnabled(False)
            panel.beta.setToolTip("Capacity control weighs |KL − C| by γ instead of β, so β stays 1")
            for button in panel.presets:
                button.setEnabled(False)
        elif self._beta_before_capacity is not None:
            # Capacity only borrowed β = 1: trying it and choosing another schedule must not
            # quietly train the β-VAE the user set up at β = 1 instead.
            beta, self._beta_before_capacity = self._beta_before_capacity, None
            if panel.model.currentData() != "vae" and panel.beta.value() == 1.0:
                panel.beta.setValue(beta)

    def fields(self) -> dict[str, Any]:
        """The TrainConfig fields of the chosen schedule (none: the defaults, a fixed β)."""
        kind = self.current()
        if kind == WARMUP:
            return {"kl_warmup": self.warmup.value()}
        if kind == CYCLES:
            return {"kl_cycles": self.cycles.value()}
        if kind == CAPACITY:
            return {"capacity": round(self.capacity.value(), 3),
                    "capacity_epochs": self.capacity_epochs.value() or None, "gamma": round(self.gamma.value(), 3)}
        return {}

    def show_config(self, config: dict[str, Any]) -> None:
        """Reflect a run's saved schedule (a config.json of a run without one shows none)."""
        kind = (WARMUP if config.get("kl_warmup") else CYCLES if config.get("kl_cycles")
                else CAPACITY if config.get("capacity") is not None else None)
        if kind == WARMUP:
            self.warmup.setValue(config["kl_warmup"])
        elif kind == CYCLES:
            self.cycles.setValue(config["kl_cycles"])
        elif kind == CAPACITY:
            self.capacity.setValue(config["capacity"])
            self.capacity_epochs.setValue(config.get("capacity_epochs") or 0)
            self.gamma.setValue(config.get("gamma") or DEFAULT_GAMMA)
        index = self.kind.findData(kind or NONE)
        self.kind.model().item(index).setEnabled(True)  # a saved run's schedule is shown as it was
        self.kind.setCurrentIndex(index)


def _epochs_suffix(box: QSpinBox) -> None:
    """"1 epoch", "5 epochs": a fixed suffix would read "1 epochs"."""
    box.setSuffix(" epoch" if box.value() == 1 else " epochs")
