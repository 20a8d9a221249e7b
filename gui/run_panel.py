"""The side panel's run section: which run folder is open, Evaluate run, and its numbers."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from keras_models.formatting import evaluation_lines


def _selectable_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class RunPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_label = _selectable_label("No run open")
        self.evaluate_button = QPushButton("Evaluate run")
        self.evaluate_button.setToolTip("Test NELBO, importance-sampled NLL (k from the β study tab), active "
                                        "units and Fréchet distance, measured in the background and written "
                                        "to evaluation.json in the run folder")
        self.evaluation_label = _selectable_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Run folder</b>"))
        layout.addWidget(self.run_label)
        layout.addWidget(self.evaluate_button)
        layout.addWidget(self.evaluation_label)

    def show_run(self, run_dir: str, data: str) -> None:
        self.run_label.setText(f"{run_dir}\n{data}")

    def show_evaluation(self, numbers: dict) -> None:
        self.evaluation_label.setText("\n".join(evaluation_lines(numbers)))
