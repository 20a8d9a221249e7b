"""The batch size and epochs boxes start on "auto", say what auto will choose, become manual
once edited, and show what a training chose once its data had loaded."""
from gui.training_controls import TrainingControls
from keras_models.events import TrainingSized


def test_auto_until_edited(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    assert controls.epochs.text() == "auto" and controls.batch_size.text() == "auto"
    config = controls.config()
    assert config.epochs is None and config.batch_size is None
    assert controls.auto_size.text().startswith("auto: batch 1,000, 10 epochs for 60,000 images")
    controls.dataset.setCurrentIndex(controls.dataset.findData("mnist-5k"))
    assert controls.auto_size.text() == "auto: batch 100, 20 epochs for 4,500 images"

    controls.epochs.setValue(7)
    controls.batch_size.setValue(250)
    config = controls.config()
    assert (config.epochs, config.batch_size) == (7, 250)
    assert controls.auto_size.isHidden()
    controls.batch_size.setValue(0)  # stepping down to the bottom brings auto back
    assert controls.batch_size.text() == "auto" and controls.config().batch_size is None
    assert not controls.auto_size.isHidden()


def test_the_line_keeps_a_value_given_by_hand(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    controls.dataset.setCurrentIndex(controls.dataset.findData("mnist-5k"))
    controls.epochs.setValue(5)  # batch size stays on auto: the line must not claim 20 epochs
    assert controls.auto_size.text() == "auto: batch 100 for 4,500 images"
    controls.epochs.setValue(0)
    controls.batch_size.setValue(500)
    assert controls.auto_size.text() == "auto: 67 epochs for 4,500 images at batch 500"


def test_continuing_a_run_auto_adds_epochs_only(qtbot):
    # The run keeps its batch size, so a line naming a batch for auto was false there.
    controls = TrainingControls()
    qtbot.addWidget(controls)
    controls.dataset.setCurrentIndex(controls.dataset.findData("mnist-5k"))
    controls.set_run_open(True)
    controls.continue_run.setChecked(True)
    assert controls.auto_size.text() == "auto: 20 more epochs"
    controls.epochs.setValue(3)
    assert controls.auto_size.isHidden()


def test_shows_the_size_a_training_chose(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    controls.show_auto_size(TrainingSized(100, 20, "batch 100, 20 epochs: 900 steps over 4,500 training images"))
    assert controls.auto_size.text() == "sized to the data: batch 100, 20 epochs: 900 steps over 4,500 training images"


def test_auto_is_remembered_as_auto(qtbot, settings_folder):
    from gui.window import MainWindow

    first = MainWindow(load_data=lambda config: None)
    qtbot.addWidget(first)
    assert first.controls.config().epochs is None and first.controls.config().batch_size is None
    first.controls.epochs.setValue(12)  # batch size stays on auto
    first.close()
    second = MainWindow(load_data=lambda config: None)
    qtbot.addWidget(second)
    assert (second.controls.config().epochs, second.controls.config().batch_size) == (12, None)
    assert second.controls.batch_size.text() == "auto"
