"""The default batch size and epochs: sized by optimizer steps and images seen, from the
training set's size (known values), with given values kept."""
import pytest

from keras_models.config import ConfigError, TrainConfig
from keras_models.sizing import (apply_training_size, default_training_size, expected_size_text,
                                 resolve_training_size)


@pytest.mark.parametrize("images, batch, epochs, steps", [
    (60_000, 1000, 10, 600),  # full MNIST: the reference's own choice
    (4_500, 100, 20, 900),  # the offline set: 600 steps would be 14 epochs, 90,000 images need 20
    (50_000, 1000, 12, 600),
    (663_552, 1000, 1, 664),  # shapes: one epoch is already more than 600 steps
    (10_000, 200, 12, 600),
    (2_000, 20, 45, 4500),  # 90,000 images seen
    (200, 10, 100, 2000),  # tiny: capped at 100 epochs
    (5, 5, 100, 100),  # fewer images than the smallest batch: one batch of all of them
])
def test_default_size_by_training_set(images, batch, epochs, steps):
    size = default_training_size(images)
    assert (size.batch_size, size.epochs, size.steps) == (batch, epochs, steps)
    assert f"{images:,} training images" in size.reason and f"batch {batch:,}" in size.reason


def test_reason_of_the_offline_set():
    assert default_training_size(4_500).reason == "batch 100, 20 epochs: 900 steps over 4,500 training images"


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4500"])
def test_bad_training_set_size(bad):
    with pytest.raises(ValueError, match="training images must be a whole number"):
        default_training_size(bad)


def test_given_values_are_kept_and_the_other_is_chosen():
    assert resolve_training_size(1000, 10, 4_500) is None
    epochs_given = resolve_training_size(None, 3, 4_500)
    assert (epochs_given.batch_size, epochs_given.epochs, epochs_given.steps) == (100, 3, 135)
    assert "batch 100 (chosen), 3 epochs (given)" in epochs_given.reason
    batch_given = resolve_training_size(1000, None, 4_500)  # 5 steps an epoch: 100 epochs (the cap), 500 steps
    assert (batch_given.batch_size, batch_given.epochs) == (1000, 100)
    batch_given = resolve_training_size(500, None, 60_000)  # 120 steps an epoch: 5 epochs, 600 steps
    assert (batch_given.batch_size, batch_given.epochs, batch_given.steps) == (500, 5, 600)


def test_a_config_on_auto_validates_and_is_filled_in():
    config = TrainConfig(epochs=None, batch_size=None).validate()
    size = apply_training_size(config, 4_500)
    assert (config.batch_size, config.epochs) == (100, 20) and size.steps == 900
    fixed = TrainConfig(epochs=3, batch_size=50).validate()
    assert apply_training_size(fixed, 4_500) is None and (fixed.batch_size, fixed.epochs) == (50, 3)
    with pytest.raises(ConfigError, match="epochs must be a whole number >= 1, got 0"):
        TrainConfig(epochs=0).validate()


def test_what_the_window_shows_before_loading():
    assert expected_size_text("mnist") == ("auto: batch 1,000, 10 epochs for 60,000 images "
                                           "(offline, mnist-5k: batch 100, 20 epochs)")
    assert expected_size_text("shapes") == "auto: batch 1,000, 1 epoch for 663,552 images"
    assert "once it is loaded" in expected_size_text("idx:/somewhere")


def test_a_kl_schedule_spans_the_epochs_auto_chose():
    cycles = TrainConfig(epochs=None, batch_size=None, kl_cycles=2).validate()
    assert cycles.kl_cycles_over is None  # not known before the data set's size
    apply_training_size(cycles, 4_500)
    assert (cycles.epochs, cycles.kl_cycles_over) == (20, 20)
    capacity = TrainConfig(epochs=None, batch_size=None, capacity=25.0).validate()
    apply_training_size(capacity, 60_000)
    assert (capacity.epochs, capacity.capacity_epochs) == (10, 5)
    too_long = TrainConfig(epochs=None, batch_size=None, kl_warmup=30).validate()
    with pytest.raises(ConfigError, match="KL warm-up epochs must be at most 20, got 30"):
        apply_training_size(too_long, 4_500)


def test_an_error_about_epochs_nobody_gave_says_where_they_came_from():
    too_long = TrainConfig(epochs=None, batch_size=None, kl_warmup=30).validate()
    with pytest.raises(ConfigError, match=r"got 30 \(auto sized the epochs to 20 for 4,500 training images: "
                                          r"set the epochs to train longer\)"):
        apply_training_size(too_long, 4_500)
    assert too_long.epochs is None and too_long.batch_size is None  # left as it was
    given = TrainConfig(epochs=10, batch_size=None, kl_cycles=6)
    with pytest.raises(ConfigError) as refused:  # given epochs: the plain message
        given.validate()
    assert "auto" not in str(refused.value)


def test_what_the_window_shows_around_a_given_value():
    # A value typed by hand is the user's: the line names only what auto chooses around it.
    assert expected_size_text("mnist", epochs=5) == "auto: batch 1,000 for 60,000 images (offline, mnist-5k: batch 100)"
    assert expected_size_text("mnist-5k", batch_size=500) == "auto: 67 epochs for 4,500 images at batch 500"
    assert expected_size_text("mnist", batch_size=100) == ("auto: 2 epochs for 60,000 images at batch 100 "
                                                           "(offline, mnist-5k: 20 epochs)")
    assert expected_size_text("mnist", batch_size=100, epochs=3) == ""
