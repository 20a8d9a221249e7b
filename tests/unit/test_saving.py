"""Saving and loading models: weights, configuration, class and optimizer state survive."""
import keras
import numpy as np
import pytest
from keras import ops

from keras_models.data import make_pipeline
from keras_models.models import VAE, ConditionalVAE, build_model
from tests.helpers import make_digits, small_config


def trained(tmp_path, model_name):
    model = build_model(small_config(tmp_path, model=model_name, beta=2.0 if model_name == "bvae" else 1.0))
    images, labels = make_digits(120, seed=8)
    model.fit(make_pipeline(images, labels, 40, shuffle=True), epochs=1, verbose=0, shuffle=False)
    return model


def optimizer_state(model):
    return {v.path: np.asarray(ops.convert_to_numpy(v)) for v in model.optimizer.variables}


@pytest.mark.parametrize("model_name, cls", [("bvae", VAE), ("cvae", ConditionalVAE)])
def test_save_and_load_round_trip(tmp_path, model_name, cls):
    model = trained(tmp_path, model_name)
    assert int(model.optimizer.iterations) == 3
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)

    assert type(loaded) is cls
    assert loaded.get_config() == model.get_config()
    images, labels = make_digits(9, seed=9)
    y = labels if model.conditional else None
    for a, b in zip(model.encode(images, y), loaded.encode(images, y)):
        np.testing.assert_array_equal(a, b)
    z = np.random.default_rng(0).normal(size=(9, model.latent_dim)).astype("float32")
    np.testing.assert_array_equal(model.decode(z, y), loaded.decode(z, y))

    # Optimizer state: the step count and every Adam moment, not freshly zeroed slots.
    assert int(loaded.optimizer.iterations) == 3
    before, after = optimizer_state(model), optimizer_state(loaded)
    assert before.keys() == after.keys()
    moments = [k for k in before if k.endswith(("_momentum", "_velocity"))]
    assert len(moments) == 2 * len(model.trainable_variables)
    assert all(np.any(before[k] != 0) for k in moments)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


def test_loaded_model_keeps_training_from_its_optimizer_state(tmp_path):
    model = trained(tmp_path, "bvae")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    images, labels = make_digits(80, seed=10)
    loaded.fit(make_pipeline(images, labels, 40, shuffle=False), epochs=1, verbose=0, shuffle=False)
    assert int(loaded.optimizer.iterations) == 5


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("cls", [VAE, ConditionalVAE])
def test_config_round_trip(cls, arch):
    model = cls(latent_dim=5, beta=0.25, hidden_units=[64, 32], image_shape=[28, 28, 1],
                precision="bfloat16", arch=arch, name="mine")
    config = model.get_config()
    assert config == {"name": "mine", "latent_dim": 5, "beta": 0.25, "hidden_units": [64, 32],
                      "image_shape": [28, 28, 1], "precision": "bfloat16", "arch": arch}
    clone = cls.from_config(config)
    assert type(clone) is cls
    assert clone.get_config() == config
    assert [tuple(v.shape) for v in clone.weights] == [tuple(v.shape) for v in model.weights]
