"""Model shapes, the CVAE's labels, dynamic binarisation and repeatable evaluation."""
import io

import keras
import numpy as np
import pytest
from keras import ops

from keras_models.models import NUM_CLASSES, VAE, ConditionalVAE, build_model, resolve_precision
from tests.helpers import make_digits, small_config

LATENT = 3


@pytest.fixture
def vae():
    return VAE(latent_dim=LATENT, hidden_units=(32, 16), precision="float32")


@pytest.fixture
def cvae():
    return ConditionalVAE(latent_dim=LATENT, hidden_units=(32, 16), precision="float32")


def test_vae_output_shapes(vae):
    images, _ = make_digits(5)
    z_mean, z_log_var = vae.encode(images)
    assert z_mean.shape == z_log_var.shape == (5, LATENT)
    assert vae.decode(z_mean).shape == (5, 28, 28, 1)
    samples = vae.sample(7, seed=1)
    assert samples.shape == (7, 28, 28, 1)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    recon = vae.reconstruct(images)
    assert recon.shape == (5, 28, 28, 1) and recon.dtype == np.float32
    assert vae.kl_per_dimension(images).shape == (LATENT,)
    assert vae(images).shape == (5, 28, 28, 1)


def test_vae_sample_is_repeatable_by_seed(vae):
    np.testing.assert_array_equal(vae.sample(4, seed=3), vae.sample(4, seed=3))
    assert not np.array_equal(vae.sample(4, seed=3), vae.sample(4, seed=4))


def test_vae_ignores_labels(vae):
    images, labels = make_digits(4)
    np.testing.assert_array_equal(vae.encode(images, labels)[0], vae.encode(images)[0])


def test_cvae_output_shapes(cvae):
    images, labels = make_digits(6)
    z_mean, z_log_var = cvae.encode(images, labels)
    assert z_mean.shape == z_log_var.shape == (6, LATENT)
    assert cvae.decode(z_mean, labels).shape == (6, 28, 28, 1)
    assert cvae.sample(8, y=np.arange(8) % NUM_CLASSES, seed=0).shape == (8, 28, 28, 1)
    assert cvae.reconstruct(images, labels).shape == (6, 28, 28, 1)
    assert cvae.kl_per_dimension(images, labels).shape == (LATENT,)
    # One label for all codes is broadcast.
    assert cvae.decode(np.zeros((3, LATENT)), 4).shape == (3, 28, 28, 1)
    # The encoder and decoder really see the label.
    z = np.zeros((1, LATENT), dtype="float32")
    assert not np.allclose(cvae.decode(z, [1]), cvae.decode(z, [7]))
    assert not np.allclose(cvae.encode(images[:1], [1])[0], cvae.encode(images[:1], [7])[0])


@pytest.mark.parametrize("call", [
    lambda m, x: m.encode(x),
    lambda m, x: m.decode(np.zeros((len(x), LATENT))),
    lambda m, x: m.sample(len(x)),
    lambda m, x: m.reconstruct(x),
    lambda m, x: m.kl_per_dimension(x),
])
def test_cvae_without_labels_raises_a_clear_error(cvae, call):
    images, _ = make_digits(2)
    with pytest.raises(ValueError, match="conditional VAE needs class labels"):
        call(cvae, images)


def test_cvae_rejects_labels_outside_0_to_9(cvae):
    with pytest.raises(ValueError, match=r"0\.\.9, got \[3, 10\]"):
        cvae.decode(np.zeros((2, LATENT)), [3, 10])
    with pytest.raises(ValueError, match="-1"):
        cvae.decode(np.zeros((1, LATENT)), [-1])


def test_cvae_fit_without_labels_raises(tmp_path):
    import tensorflow as tf

    model = build_model(small_config(tmp_path, model="cvae"))
    images, _ = make_digits(20)
    with pytest.raises(ValueError, match=r"needs \(images, labels\)"):
        model.fit(tf.data.Dataset.from_tensor_slices(images).batch(10), epochs=1, verbose=0, shuffle=False)


def test_other_image_shapes_work():
    model = VAE(latent_dim=2, hidden_units=(8,), image_shape=(6, 5, 1), precision="float32")
    x = np.random.default_rng(0).random((3, 6, 5, 1)).astype("float32")
    assert model.reconstruct(x).shape == (3, 6, 5, 1)
    assert model.encoder.input_shape == (None, 6, 5, 1)
    assert model.encoder.get_layer("encoder_hidden1").kernel.shape == (30, 8)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float16"):
        VAE(precision="float16")


def test_bfloat16_model_returns_float32_arrays():
    model = VAE(latent_dim=2, hidden_units=(16,), precision="bfloat16")
    images, _ = make_digits(3)
    z_mean, _ = model.encode(images)
    assert z_mean.dtype == np.float32
    assert model.decode(z_mean).dtype == np.float32
    assert all(v.dtype == "float32" for v in model.trainable_variables)


def test_resolve_precision(monkeypatch):
    import tensorflow as tf

    from keras_models import models

    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto") == "bfloat16"
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto") == "float32"
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert resolve_precision("auto") == "float32"  # a GPU keeps float32


@pytest.mark.parametrize("name, cls, beta", [("vae", VAE, 1.0), ("bvae", VAE, 4.0), ("cvae", ConditionalVAE, 0.5)])
def test_build_model_follows_the_config(tmp_path, name, cls, beta):
    model = build_model(small_config(tmp_path, model=name, beta=beta, latent_dim=6, learning_rate=0.005))
    assert type(model) is cls
    assert model.name == name and model.beta == beta and model.latent_dim == 6
    assert model.conditional == (name == "cvae")
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.005)


# ----- dynamic binarisation -----------------------------------------------------------------------
LEVELS = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0], dtype="float32")


def grey_columns(rows=20000):
    """Every column of pixels has one grey level; 20,000 draws per level."""
    return np.broadcast_to(LEVELS, (rows, len(LEVELS))).reshape(rows, len(LEVELS), 1, 1).copy()


def test_binarize_gives_zeros_and_ones_at_the_grey_level_rate(vae):
    x = grey_columns()
    b = np.asarray(ops.convert_to_numpy(vae.binarize(ops.convert_to_tensor(x), vae.seed_generator)))
    assert b.shape == x.shape
    assert set(np.unique(b).tolist()) <= {0.0, 1.0}
    rates = b.reshape(len(b), -1).mean(axis=0)
    # Standard error is at most 0.0035 for 20,000 draws; allow 4 of them.
    np.testing.assert_allclose(rates, LEVELS, atol=0.014)
    assert rates[0] == 0.0 and rates[-1] == 1.0  # black stays black, white stays white


def test_binarize_with_an_odd_number_of_pixels(vae):
    x = np.full((3, 3, 3, 1), 0.5, dtype="float32")  # 27 pixels: an odd count of 16-bit halves
    b = np.asarray(ops.convert_to_numpy(vae.binarize(ops.convert_to_tensor(x), 5)))
    assert b.shape == x.shape and set(np.unique(b).tolist()) <= {0.0, 1.0}


def test_training_draws_differ_while_evaluation_draws_repeat(vae):
    images, _ = make_digits(16)
    x = ops.convert_to_tensor(np.clip(images + 0.3, 0, 1))
    train_a = ops.convert_to_numpy(vae.binarize(x, vae.seed_generator))
    train_b = ops.convert_to_numpy(vae.binarize(x, vae.seed_generator))
    assert not np.array_equal(train_a, train_b)
    eval_a = ops.convert_to_numpy(vae.binarize(x, 2026))
    eval_b = ops.convert_to_numpy(vae.binarize(x, 2026))
    np.testing.assert_array_equal(eval_a, eval_b)
    assert not np.array_equal(eval_a, ops.convert_to_numpy(vae.binarize(x, 2027)))


def test_evaluate_twice_gives_identical_numbers(tmp_path, tiny_split):
    model = build_model(small_config(tmp_path, model="cvae"))
    first = model.evaluate(tiny_split.val_x, tiny_split.val_y, batch_size=50, verbose=0, return_dict=True)
    second = model.evaluate(tiny_split.val_x, tiny_split.val_y, batch_size=50, verbose=0, return_dict=True)
    assert first == second
    assert all(np.isfinite(v) for v in first.values())


@pytest.mark.parametrize("cls", [VAE, ConditionalVAE])
def test_conv_architecture_shapes_and_learning(cls):
    images, labels = make_digits(200, seed=3)
    model = cls(latent_dim=3, arch="conv", precision="float32")
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    y = labels if model.conditional else None
    assert model.reconstruct(images[:4], None if y is None else y[:4]).shape == (4, 28, 28, 1)
    assert model.encode(images[:4], None if y is None else y[:4])[0].shape == (4, 3)
    assert model.encoder.get_layer(index=1).__class__.__name__ == "Conv2D"
    history = model.fit(images, labels, batch_size=50, epochs=4, verbose=0)
    assert history.history["nelbo"][-1] < 0.8 * history.history["nelbo"][0]


def test_conv_architecture_needs_sides_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        VAE(arch="conv", image_shape=(30, 30, 1))


def test_sigmoid_of_extreme_logits_is_exact_and_silent():
    import warnings

    from keras_models.models import sigmoid

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 1 / (1 + exp(1000)) used to warn of an overflow
        probabilities = sigmoid(np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0]))
    np.testing.assert_allclose(probabilities, [0.0, 0.11920292, 0.5, 0.88079708, 1.0], rtol=1e-6)
    assert probabilities.dtype == np.float32


def test_bfloat16_is_native_only_where_onednn_may_use_it(monkeypatch):
    from keras_models import models

    monkeypatch.setattr("builtins.open", lambda *a, **k: io.StringIO("flags\t: fpu avx2 avx512f avx512_bf16\n"))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert models.cpu_has_bf16()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # held to 256-bit instructions, as on an AVX2-only CPU
    assert not models.cpu_has_bf16()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx512_core_bf16")
    assert models.cpu_has_bf16()
