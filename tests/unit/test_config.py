"""The training configuration: validation messages name the bad value."""

import pytest

from keras_models.config import ConfigError, TrainConfig, check_dataset_name, parse_beta


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
