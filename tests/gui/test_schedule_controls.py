"""The schedule settings of the training panel and the schedule in the loss plot (no training)."""
import pytest

from gui.loss_plot import LossPlot
from gui.training_controls import TrainingControls
from keras_models.config import ConfigError, TrainConfig
from keras_models.events import BatchProgress
from keras_models.schedules import DEFAULT_GAMMA


def choose(controls, kind):
    controls.schedule.kind.setCurrentIndex(controls.schedule.kind.findData(kind))


def test_the_chosen_schedule_goes_into_config_and_a_run_shows_its_own(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    assert controls.config().validate().kl_warmup == 0 and controls.config().capacity is None
    controls.epochs.setValue(8)
    choose(controls, "cycles")
    controls.schedule.cycles.setValue(3)
    assert controls.config().validate().kl_cycles == 3
    choose(controls, "warmup")
    controls.schedule.warmup.setValue(4)
    config = controls.config().validate()
    assert (config.kl_warmup, config.kl_cycles) == (4, 0)
    controls.epochs.setValue(3)  # the window shows this refusal in its status bar and trains nothing
    with pytest.raises(ConfigError, match="KL warm-up epochs must be at most 3, got 4"):
        controls.config().validate()
    controls.epochs.setValue(8)

    controls.beta.setValue(4.0)
    choose(controls, "capacity")
    # Capacity control does not use β: the panel holds it at 1 while it is chosen.
    assert controls.beta.value() == 1.0 and not controls.beta.isEnabled()
    controls.schedule.capacity.setValue(12.5)
    config = controls.config().validate()
    assert (config.capacity, config.capacity_epochs, config.gamma) == (12.5, 4, DEFAULT_GAMMA)
    choose(controls, "none")
    assert controls.beta.isEnabled()

    other = TrainingControls()
    qtbot.addWidget(other)
    other.show_config(TrainConfig(epochs=8, capacity=30.0, capacity_epochs=6, gamma=40.0).validate().to_dict())
    assert other.schedule.current() == "capacity"
    assert (other.schedule.capacity.value(), other.schedule.capacity_epochs.value(), other.schedule.gamma.value()) \
        == (30.0, 6, 40.0)
    other.show_config(TrainConfig(epochs=8).validate().to_dict())
    assert other.schedule.current() is None and other.config().validate().capacity is None


def test_capacity_is_not_offered_for_the_vae_and_the_controls_rest_while_training(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    choose(controls, "capacity")
    controls.model.setCurrentIndex(controls.model.findData("vae"))
    kind = controls.schedule.kind
    capacity = kind.model().item(kind.findData("capacity"))
    assert controls.schedule.current() is None and not capacity.isEnabled()
    assert "vanilla VAE" in kind.itemData(kind.findData("capacity"), 3)  # 3: the tooltip role
    assert kind.model().item(kind.findData("warmup")).isEnabled()  # the VAE may warm up to its β of 1
    controls.set_training(True)
    assert not kind.isEnabled() and not controls.schedule.warmup.isEnabled()
    controls.set_training(False)
    assert kind.isEnabled()
    for widget in (kind, controls.schedule.warmup, controls.schedule.cycles, controls.schedule.capacity,
                   controls.schedule.capacity_epochs, controls.schedule.gamma):
        assert widget.toolTip()


def history(weights, key="kl_weight"):
    return [dict(epoch=e, rec=100.0 - e, kl=5.0, nelbo=105.0 - e, loss=100.0, **{key: w})
            for e, w in enumerate(weights, start=1)]


def test_the_loss_plot_draws_the_whole_schedule_and_the_epochs_done(qtbot):
    plot = LossPlot(on_error=print)
    qtbot.addWidget(plot)
    plot.set_history([], total_epochs=4)
    assert not plot.weight_column.isVisibleTo(plot)

    config = TrainConfig(beta=2.0, epochs=4, kl_warmup=2).validate().to_dict()
    plot.set_history(history([0.0]), total_epochs=4, config=config)
    assert plot.weight_column.isVisibleTo(plot)
    assert "warm-up to β = 2 over 2 epochs" in plot.weight_caption.text()
    plan = plot.lines["kl_weight_plan"].get_data()
    assert list(plan[0]) == [0, 1, 2, 3, 4] and list(plan[1]) == [0.0, 1.0, 2.0, 2.0, 2.0]
    plot.add_epoch(history([0.0, 1.0])[1])
    assert list(plot.lines["kl_weight"].get_data()[1]) == [0.0, 1.0, 1.0]
    # Batches redraw the loss curves only: the schedule's canvas costs nothing between epochs.
    qtbot.waitUntil(lambda: not plot._to_blit)
    plot.add_batch(BatchProgress(epoch=3, epochs=4, batch=1, steps=2, logs=dict(rec=90.0, kl=5.0, nelbo=95.0),
                                eta_s=1.0))
    assert plot.canvases["rec"] in plot._to_blit and plot.weight_canvas not in plot._to_blit

    capacity = TrainConfig(epochs=4, capacity=8.0, capacity_epochs=2).validate().to_dict()
    plot.set_history(history([0.0, 4.0], "capacity"), total_epochs=4, config=capacity)
    assert not plot.weight_column.isVisibleTo(plot)
    assert list(plot.lines["capacity_plan"].get_data()[1]) == [0.0, 4.0, 8.0, 8.0, 8.0]
    assert list(plot.lines["capacity"].get_data()[1]) == [0.0, 4.0, 4.0]
    assert list(plot.lines["kl_weight_plan"].get_data()[0]) == []
    assert "C" in plot.captions["kl"].text()
    _, (low, high) = plot.canvases["kl"].target_limits
    assert low < 0.0 and high > 8.0  # the whole plan is in view from the start


@pytest.mark.parametrize("kind", ["warmup", "capacity"])
def test_the_saved_loss_picture_holds_the_schedule(qtbot, tmp_path, kind):
    from PIL import Image

    plot = LossPlot(on_error=print)
    qtbot.addWidget(plot)
    settings = dict(kl_warmup=2) if kind == "warmup" else dict(capacity=8.0)
    plot.set_history(history([0.0, 1.0], "kl_weight" if kind == "warmup" else "capacity"), total_epochs=4,
                     config=TrainConfig(epochs=4, **settings).validate().to_dict())
    width = Image.open(plot.save_to(tmp_path / "losses.png")).size[0]
    plain = LossPlot(on_error=print)
    qtbot.addWidget(plain)
    plain.set_history(history([0.0, 1.0]), total_epochs=4)
    plain_width = Image.open(plain.save_to(tmp_path / "plain.png")).size[0]
    assert (width > plain_width) == (kind == "warmup")  # a fourth panel for the weight


def test_leaving_capacity_gives_back_the_beta_it_held_at_1(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    controls.beta.setValue(4.0)
    choose(controls, "capacity")
    assert controls.beta.value() == 1.0
    choose(controls, "warmup")  # else the β-VAE set up at β = 4 would quietly train at 1
    assert controls.beta.value() == 4.0 and controls.beta.isEnabled()
    choose(controls, "capacity")
    controls.model.setCurrentIndex(controls.model.findData("vae"))  # capacity is not for the VAE
    assert controls.schedule.current() is None and controls.beta.value() == 1.0


def test_the_epoch_boxes_say_1_epoch_not_1_epochs(qtbot):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    for box in (controls.schedule.warmup, controls.schedule.capacity_epochs):
        box.setValue(1)
        assert box.text() == "1 epoch"
        box.setValue(3)
        assert box.text() == "3 epochs"
