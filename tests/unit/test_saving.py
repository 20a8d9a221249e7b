"""Saving and loading models: weights, configuration, class and optimizer state survive."""
import json
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from keras_models import models
from keras_models.data import make_pipeline
from keras_models.files import RunError
from keras_models.models import VAE, ConditionalVAE, build_model
from keras_models.training import load_model_file
from tests.helpers import make_digits, small_config


def trained(tmp_path, model_name):
    model = build_model(small_config(tmp_path, model=model_name, beta=2.0 if model_name == "bvae" else 1.0))
    images, labels = make_digits(120, seed=8)
    model.fit(make_pipeline(images, labels, 40, shuffle=True), epochs=1, verbose=0, shuffle=False)
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``saved(model_name)``: a model trained one epoch and its .keras file, made once per module."""
    folder, made = tmp_path_factory.mktemp("saved_models"), {}

    def get(model_name):
        if model_name not in made:
            model = trained(folder, model_name)
            model.save(folder / f"{model_name}.keras")
            made[model_name] = model, folder / f"{model_name}.keras"
        return made[model_name]

    return get


def optimizer_state(model):
    return {v.path: np.asarray(ops.convert_to_numpy(v)) for v in model.optimizer.variables}


@pytest.mark.parametrize("model_name, cls", [("bvae", VAE), ("cvae", ConditionalVAE)])
def test_save_and_load_round_trip(saved, model_name, cls):
    model, path = saved(model_name)
    assert int(model.optimizer.iterations) == 3
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


def test_loaded_model_keeps_training_from_its_optimizer_state(saved):
    loaded = keras.saving.load_model(saved("bvae")[1], safe_mode=True)
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


def with_config(source, target, **changes):
    """A copy of the .keras file ``source`` whose config.json has ``changes`` in the model's settings."""
    with zipfile.ZipFile(source) as original:
        members = {name: original.read(name) for name in original.namelist()}
    saved = json.loads(members["config.json"])
    saved["config"].update(changes)
    members["config.json"] = json.dumps(saved).encode()
    with zipfile.ZipFile(target, "w") as rewritten:
        for name, data in members.items():
            rewritten.writestr(name, data)
    return target


@pytest.mark.parametrize("changes, named", [
    ({"image_shape": [20000, 20000, 1]}, "image shape must be (height, width, 1) with sides from 1 to 256, "
                                         "got [20000, 20000, 1]"),
    ({"latent_dim": 10**7}, "latent dim must be at most 512, got 10,000,000"),
    ({"hidden_units": [300, 10**9]}, "hidden units must be at most 4,096, got 1,000,000,000"),
    ({"beta": 1e30}, "beta must be a number between 0 and 1000, got 1e+30"),
])
def test_a_model_file_asking_for_absurd_sizes_is_refused_before_any_layer_is_built(tmp_path, monkeypatch, saved,
                                                                                  changes, named):
    path = with_config(saved("bvae")[1], tmp_path / "model.keras", **changes)
    built = []

    def refuse_to_build(*args):  # were the sizes not checked first, this is where gigabytes would go
        built.append(args)
        raise RuntimeError("a network was built")

    monkeypatch.setattr(models, "encoder_network", refuse_to_build)
    monkeypatch.setattr(models, "decoder_network", refuse_to_build)
    with pytest.raises(RunError) as caught:
        load_model_file(path)
    assert str(caught.value) == f"cannot load model {path}: {named}"
    assert built == []
