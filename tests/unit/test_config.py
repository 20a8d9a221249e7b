"""The training configuration: validation messages name the bad value."""

import pytest

from keras_models.config import (MAX_BATCH_SIZE, MAX_EPOCHS, MAX_LATENT_DIM, MAX_SEED, ConfigError, TrainConfig,
                                 check_dataset_name, check_network, parse_beta)


@pytest.mark.parametrize("text, value", [("0", 0.0), ("2.5", 2.5), (4, 4.0), ("1e3", 1000.0)])
def test_parse_beta_accepts_numbers_in_range(text, value):
    assert parse_beta(text) == value


@pytest.mark.parametrize("text", ["-1", "abc", "nan", "inf", "1000.5", "", None])
def test_parse_beta_refuses_the_rest(text):
    with pytest.raises(ConfigError, match="beta must be a number"):
        parse_beta(text)


def test_check_dataset_name():
    assert check_dataset_name("fashion_mnist") == "fashion_mnist"
    assert check_dataset_name("idx:/data/mnist") == "idx:/data/mnist"
    for bad in ("idx:", "cifar10", ""):
        with pytest.raises(ConfigError, match="unknown dataset"):
            check_dataset_name(bad)


@pytest.mark.parametrize("changes, message", [
    ({"model": "gan"}, "unknown model 'gan'"),
    ({"model": "vae", "beta": 2.0}, "vanilla VAE has beta = 1, got beta = 2"),
    ({"beta": "-0.5"}, "got '-0.5'"),
    ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    ({"epochs": True}, "epochs must be a whole number >= 1, got True"),
    ({"batch_size": 2.5}, "batch size must be a whole number >= 1, got 2.5"),
    ({"latent_dim": -3}, "latent dim must be a whole number >= 1, got -3"),
    ({"ckpt_every": 0}, "ckpt every must be a whole number >= 1, got 0"),
    ({"learning_rate": 0.0}, "learning rate must be a number in"),
    ({"learning_rate": float("nan")}, "learning rate must be a number in"),
    ({"arch": "resnet"}, "unknown architecture 'resnet'"),
    ({"precision": "float16"}, "unknown precision 'float16'"),
    ({"dataset": "svhn"}, "unknown dataset 'svhn'"),
    ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
    ({"latent_dim": 513}, "latent dim must be at most 512, got 513"),
    ({"epochs": 100_001}, "epochs must be at most 100,000, got 100,001"),
    ({"batch_size": 60_001}, "batch size must be at most 60,000, got 60,001"),
    ({"seed": 2**31}, "seed must be at most 2,147,483,647, got 2,147,483,648"),
])
def test_validate_names_the_bad_value(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainConfig(**changes).validate()


def test_validate_normalises_beta_and_returns_the_config():
    config = TrainConfig(model="cvae", beta="0.5")
    assert config.validate() is config
    assert config.beta == 0.5 and config.conditional
    assert config.run_name() == "cvae_b0.5"
    assert TrainConfig(model="bvae", beta=2.0).run_name() == "bvae_b2"


def test_dict_round_trip_ignores_unknown_settings():
    config = TrainConfig(model="cvae", beta=0.25, epochs=3, latent_dim=2, dataset="mnist-5k")
    assert TrainConfig.from_dict({**config.to_dict(), "a_future_setting": 1}) == config


def test_the_caps_themselves_are_accepted():
    config = TrainConfig(latent_dim=MAX_LATENT_DIM, epochs=MAX_EPOCHS, batch_size=MAX_BATCH_SIZE, seed=MAX_SEED)
    assert config.validate() is config


@pytest.mark.parametrize("args, message", [
    ((4, (300,), (28, 28)), r"image shape must be \(height, width, 1\) .* got \(28, 28\)"),
    ((4, (300,), (28, 28, 3)), r"got \(28, 28, 3\)"),
    ((4, (300,), (0, 28, 1)), r"got \(0, 28, 1\)"),
    ((4, (300,), "28x28"), r"got '28x28'"),
    ((4, 300, (28, 28, 1)), "hidden units must be a list of at most 8 layer sizes, got 300"),
    ((4, [8] * 9, (28, 28, 1)), "hidden units must be a list of at most 8"),
    ((2.5, (300,), (28, 28, 1)), "latent dim must be a whole number >= 1, got 2.5"),
])
def test_check_network_names_the_bad_size(args, message):
    with pytest.raises(ConfigError, match=message):
        check_network(*args)


def test_check_network_normalises_what_it_accepts():
    import numpy as np

    shape = np.zeros((5, 12, 16, 1)).shape[1:]
    assert check_network(3, [64, 32], [np.int64(12), 16, 1], "conv") == (3, (64, 32), (12, 16, 1))
    assert check_network(3, (), shape) == (3, (), (12, 16, 1))
