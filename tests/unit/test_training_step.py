"""What makes the training step fast must not change what it computes: the Bernoulli loss's
own gradient, the fused Adam update, the batch split across cores, compiled calls of several
batches; and how a new network starts (PyTorch's initialisation, the data-mean output)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_models import losses, networks
from keras_models.config import TrainConfig
from keras_models.evaluation import likelihood_bounds
from keras_models.models import VAE, ConditionalVAE, build_model, steps_per_execution
from keras_models.optimizers import FusedAdam
from keras_models.training import TrainingSession
from tests.helpers import make_digits, small_config


def textbook_bce(x, logits):
    p = tf.sigmoid(logits)
    return -tf.reduce_sum(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p), axis=[1, 2, 3])


def test_bernoulli_loss_gradient_is_sigmoid_minus_the_image():
    rng = np.random.default_rng(0)
    x = tf.constant((rng.random((3, 28, 28, 1)) < 0.4).astype("float32"))
    logits = tf.constant(rng.normal(scale=3.0, size=(3, 28, 28, 1)).astype("float32"))
    weights = tf.constant([1.0, 2.0, 0.5])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = tf.reduce_sum(weights * losses.bernoulli_nll(x, logits))
        textbook = tf.reduce_sum(weights * textbook_bce(x, logits))
    np.testing.assert_allclose(ours.numpy(), textbook.numpy(), rtol=1e-5)
    got = tape.gradient(ours, logits).numpy()
    np.testing.assert_allclose(got, tape.gradient(textbook, logits).numpy(), rtol=1e-4, atol=1e-6)
    # By hand for one pixel: weight 2 × (σ(l) − x).
    l, xv = logits.numpy()[1, 5, 7, 0], x.numpy()[1, 5, 7, 0]
    assert got[1, 5, 7, 0] == pytest.approx(2.0 * (1 / (1 + np.exp(-l)) - xv), rel=1e-5)


def test_fused_adam_takes_the_same_steps_as_keras_adam():
    rng = np.random.default_rng(1)
    start = rng.normal(size=(4, 3)).astype("float32")
    gradients = [rng.normal(size=(4, 3)).astype("float32") for _ in range(5)]
    trajectories = []
    for optimizer in (keras.optimizers.Adam(0.01), FusedAdam(0.01)):
        variable = keras.Variable(start)
        optimizer.build([variable])
        for g in gradients:
            optimizer.apply([tf.constant(g)], [variable])
        trajectories.append(variable.numpy())
    np.testing.assert_allclose(trajectories[1], trajectories[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(trajectories[1], start)


def test_fused_adam_survives_saving_and_loading(tmp_path):
    config = TrainConfig(batch_size=20).validate()
    model = build_model(config)
    images, _ = make_digits(40)
    model.fit(images, epochs=1, batch_size=20, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is FusedAdam and int(loaded.optimizer.iterations) == 2
    for ours, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("cls", [VAE, ConditionalVAE])
def test_a_batch_split_into_slices_has_the_whole_batch_loss_and_gradient(cls):
    model = cls(latent_dim=3, hidden_units=(16,), precision="float32")
    images, labels = make_digits(5)  # slices of 2 and 3 images: unequal, so a plain mean of means would differ
    x = model.binarize(tf.constant(images), 7)
    y = tf.constant(labels) if model.conditional else None
    seed = 11  # every slice draws from the same stateless seed, so the pieces can be recomputed alone
    with tf.GradientTape() as tape:
        sliced = model.elbo_terms(x, y, seed, slices=2)
    got = tape.gradient(sliced["loss"], model.trainable_weights)
    with tf.GradientTape() as tape:
        parts = [model._rec_and_kl(x[a:b], None if y is None else y[a:b], seed) for a, b in ((0, 2), (2, 5))]
        rec = tf.reduce_sum([tf.reduce_sum(r) for r, _ in parts]) / 5
        kl = tf.reduce_sum([tf.reduce_sum(k) for _, k in parts]) / 5
        loss = rec + model.beta * kl
    expected = tape.gradient(loss, model.trainable_weights)
    assert float(sliced["loss"]) == pytest.approx(float(loss), rel=1e-6)
    assert float(sliced["nelbo"]) == pytest.approx(float(rec + kl), rel=1e-6)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("batch_size, calls", [(1000, 4), (500, 8), (128, 32), (100, 32), (10, 32), (5000, 1)])
def test_a_compiled_call_trains_about_four_thousand_images(batch_size, calls):
    assert steps_per_execution(batch_size) == calls
    assert build_model(TrainConfig(batch_size=batch_size).validate()).steps_per_execution == calls


def test_the_mlp_starts_as_pytorch_linear_layers_do():
    model = VAE(latent_dim=10, precision="float32")
    first = model.encoder.get_layer("encoder_hidden1")
    kernel, bias = first.kernel.numpy(), first.bias.numpy()
    bound = 1 / np.sqrt(784) * (1 + 1e-6)  # float32 rounding at the edge
    assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
    # Uniform on ±bound: standard deviation bound/√3, and the biases are not zeros.
    assert kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert bias.std() == pytest.approx(bound / np.sqrt(3), rel=0.2)
    output = model.decoder.get_layer("decoder_output").kernel.numpy()
    assert np.abs(output).max() <= 1 / np.sqrt(300) * (1 + 1e-6)


def test_the_convolutional_network_keeps_keras_initialisation():
    model = VAE(latent_dim=4, arch="conv", precision="float32")
    assert not model.encoder.get_layer("encoder_hidden1").bias.numpy().any()
    assert networks.MLP_INITIALISATION == "pytorch"


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_a_new_run_starts_decoding_the_mean_training_image(tmp_path, tiny_split, arch):
    session = TrainingSession.new(small_config(tmp_path, arch=arch, batch_size=50), data=tiny_split)
    bias = session.model.decoder.get_layer("decoder_output").bias.numpy()
    images = tiny_split.train_x.astype("float64")
    # The MLP has a bias per pixel; the convolutional network one for its one channel.
    mean = np.clip(images.mean(axis=0) if arch == "mlp" else images.mean(), 1e-3, 1 - 1e-3)
    expected = np.log(mean / (1 - mean)).reshape(-1)
    np.testing.assert_allclose(bias, expected, rtol=1e-5, atol=1e-5)


def test_the_iwae_bound_is_the_same_with_its_samples_split_across_cores():
    images, _ = make_digits(6)
    x = (images > 0.5).astype("float32")
    bounds = []
    for slices in (1, 2, 3):
        keras.utils.set_random_seed(3)  # the same weights each time
        model = VAE(latent_dim=3, hidden_units=(16,), precision="float32")
        model.batch_slices = slices  # read when the bound's graph function is made
        bounds.append(likelihood_bounds(model, x, k=7, batch_images=4))  # 7 samples: slices of 3+4, 2+2+3
    for other in bounds[1:]:
        for key in ("nll", "nelbo_sampled", "rec", "kl"):
            np.testing.assert_allclose(other[key], bounds[0][key], rtol=1e-5)
    assert np.all(bounds[0]["nll"] <= bounds[0]["nelbo_sampled"] + 1e-4)
