"""KL schedules: each one's value per epoch by hand, and the settings that are refused (no TensorFlow)."""
import pytest

from keras_models.config import ConfigError, TrainConfig
from keras_models.schedules import CAPACITY, CYCLES, DEFAULT_GAMMA, WARMUP, KLSchedule, schedule_of
from keras_models.study.config import StudyConfig


def test_warmup_rises_from_zero_to_beta_over_its_epochs_then_holds():
    schedule = KLSchedule(WARMUP, beta=4.0, epochs=4)
    assert schedule.values(7) == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0]
    assert schedule.column == "kl_weight"


def test_cycles_rise_over_the_first_half_of_each_cycle_and_hold_beta_for_the_rest():
    # 2 cycles over 8 epochs: 4 epochs a cycle, 2 rising (0, β/2), 2 at β.
    assert KLSchedule(CYCLES, beta=2.0, epochs=8, cycles=2).values(8) == [0.0, 1.0, 2.0, 2.0, 0.0, 1.0, 2.0, 2.0]
    # A run continued past the cycles keeps their period.
    assert KLSchedule(CYCLES, beta=2.0, epochs=8, cycles=2).values(10)[8:] == [0.0, 1.0]


def test_cycles_of_a_fractional_number_of_epochs_restart_at_zero_exactly():
    # 3 cycles over 10 epochs last 10/3 epochs each; epoch e starts at phase (e − 1)·3/10 of a cycle
    # (mod 1): 0, .3, .6, .9, .2, .5, .8, .1, .4, .7, and the weight is min(1, phase / 0.5).
    values = KLSchedule(CYCLES, beta=1.0, epochs=10, cycles=3).values(11)
    assert values == pytest.approx([0.0, 0.6, 1.0, 1.0, 0.4, 1.0, 1.0, 0.2, 0.8, 1.0, 0.0])
    # Epoch 11 begins the fourth cycle: in floats 10 % (10/3) is a rounding error short of a whole
    # cycle and would give it the full weight instead of 0.
    assert values[10] == 0.0


def test_capacity_rises_from_zero_to_c_max_over_its_epochs():
    schedule = KLSchedule(CAPACITY, epochs=5, capacity=25.0, gamma=10.0)
    assert schedule.values(7) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 25.0]
    assert schedule.column == "capacity"


def test_a_schedule_survives_its_dict_and_a_config_names_it():
    schedule = KLSchedule(CYCLES, beta=3.0, epochs=10, cycles=4)
    assert KLSchedule.from_dict(schedule.to_dict()) == schedule
    config = TrainConfig(beta=3.0, epochs=10, kl_cycles=4).validate()
    assert config.kl_cycles_over == 10
    assert schedule_of(config) == schedule
    assert schedule_of(config.to_dict()) == schedule
    assert schedule_of(TrainConfig().validate()) is None


def test_capacity_gets_its_defaults_and_every_field_goes_to_config_json():
    config = TrainConfig(epochs=9, capacity=25).validate()
    assert (config.capacity, config.capacity_epochs, config.gamma) == (25.0, 4, DEFAULT_GAMMA)
    saved = config.to_dict()
    assert {k: saved[k] for k in ("kl_warmup", "kl_cycles", "capacity", "capacity_epochs", "gamma")} == \
        {"kl_warmup": 0, "kl_cycles": 0, "capacity": 25.0, "capacity_epochs": 4, "gamma": DEFAULT_GAMMA}
    assert config.run_name() == "bvae_capacity25"
    assert TrainConfig(beta=4.0, kl_warmup=3).validate().run_name() == "bvae_b4_warmup3"


def test_a_config_from_before_schedules_loads_without_one():
    old = {"model": "bvae", "beta": 2.0, "epochs": 3, "batch_size": 100, "latent_dim": 4, "learning_rate": 0.001,
           "dataset": "mnist-5k", "data_dir": None, "seed": 0, "arch": "mlp", "ckpt_every": 1,
           "precision": "auto", "out": "runs"}
    config = TrainConfig.from_dict(old).validate()
    assert schedule_of(config) is None and config.run_name() == "bvae_b2"


@pytest.mark.parametrize("settings, words", [
    (dict(kl_warmup=-1), ["KL warm-up", "-1"]),
    (dict(epochs=5, kl_warmup=6), ["KL warm-up", "at most 5", "6"]),
    (dict(kl_warmup=2.5), ["KL warm-up", "2.5"]),
    (dict(kl_cycles=-2), ["KL cycles", "-2"]),
    (dict(epochs=5, kl_cycles=3), ["3 KL cycles", "at least 6 epochs", "got 5"]),
    (dict(kl_warmup=2, capacity=25), ["choose one KL schedule", "warm-up 2", "capacity 25"]),
    (dict(kl_warmup=2, kl_cycles=2), ["choose one KL schedule", "cycles 2"]),
    (dict(beta=0.0, kl_warmup=2), ["beta = 0"]),
    (dict(model="vae", capacity=25), ["capacity 25", "vanilla VAE"]),
    (dict(beta=4.0, capacity=25), ["gamma, not beta", "beta = 4"]),
    (dict(capacity=-3), ["capacity", "-3"]),
    (dict(capacity=float("nan")), ["capacity", "nan"]),
    (dict(capacity=1e9), ["capacity", "1000000000"]),
    (dict(epochs=4, capacity=25, capacity_epochs=5), ["capacity epochs", "at most 4", "5"]),
    (dict(capacity=25, gamma=0), ["gamma", "above 0", "0"]),
    (dict(capacity=25, gamma="lots"), ["gamma", "lots"]),
    (dict(gamma=50.0), ["gamma 50.0", "needs a capacity"]),
    (dict(capacity_epochs=3), ["capacity epochs 3", "needs a capacity"]),
    (dict(kl_cycles_over=8), ["kl_cycles_over 8", "without KL cycles"]),
])
def test_settings_that_make_no_sense_are_refused_in_one_line_naming_the_value(settings, words):
    with pytest.raises(ConfigError) as error:
        TrainConfig(**{"epochs": 10, **settings}).validate()
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_the_vae_may_warm_up_to_its_beta_of_one():
    config = TrainConfig(model="vae", kl_warmup=3).validate()
    assert schedule_of(config).values(4) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])


def test_a_capacity_study_adds_its_own_group_beside_the_beta_family():
    study = StudyConfig(training=TrainConfig(epochs=6), betas=(1.0, 4.0), include_cvae=False, seeds=(0, 1),
                        capacity=25.0, kl_warmup=3).validate()
    groups = study.groups()
    assert [g["group"] for g in groups] == ["vae", "bvae_b4", "warmup3_b4", "capacity25"]
    assert groups[3]["title"] == "capacity-controlled β-VAE (C_max 25)"
    assert groups[2]["title"] == "β-VAE with KL warm-up over 3 epochs (β = 4)"
    keys = [e["key"] for e in study.entries()]
    assert "capacity25_s0" in keys and "capacity25_s1" in keys and len(keys) == len(set(keys)) == 8
    by_key = {e["key"]: e for e in study.entries()}
    capacity = study.train_config(by_key["capacity25_s1"])
    assert (capacity.model, capacity.beta, capacity.seed, capacity.capacity, capacity.kl_warmup) == \
        ("bvae", 1.0, 1, 25.0, 0)
    assert schedule_of(capacity.validate()) == KLSchedule(CAPACITY, epochs=3, capacity=25.0, gamma=DEFAULT_GAMMA)
    warmup = study.train_config(by_key["warmup3_b4_s0"])
    assert (warmup.beta, warmup.kl_warmup, warmup.capacity) == (4.0, 3, None)
    plain = study.train_config(by_key["bvae_b4_s0"])
    assert schedule_of(plain.validate()) is None
    # A saved study without schedules (study.json from before) reads as one without them.
    assert StudyConfig.from_dict({"betas": [1.0]}).scheduled_groups() == []


def test_a_study_refuses_gamma_without_a_capacity_and_a_warmup_longer_than_its_epochs():
    with pytest.raises(ConfigError, match="gamma 5.0 needs a capacity"):
        StudyConfig(training=TrainConfig(epochs=6), gamma=5.0).validate()
    with pytest.raises(ConfigError, match="KL warm-up epochs must be at most 6, got 9"):
        StudyConfig(training=TrainConfig(epochs=6), kl_warmup=9).validate()
