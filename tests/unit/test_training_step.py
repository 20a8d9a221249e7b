"""What makes the training step fast must not change what it computes: the Bernoulli loss's
own gradient, the fused Adam update, the batch split across cores, compiled calls of several
batches; and how a new network starts (PyTorch's initialisation, the data-mean output)."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

from keras_models import losses, networks
from keras_models.config import TrainConfig
from keras_models.evaluation import likelihood_bounds
from keras_models.execution import steps_per_execution
from keras_models.models import VAE, ConditionalVAE, build_model
from keras_models.optimizers import FusedAdam
from keras_models.events import BatchProgress, JobState
from keras_models.training import TrainingDiverged, TrainingSession
from tests.helpers import make_digits, session_poisoned_at_start, small_config


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
@pytest.mark.parametrize("slices", [2, 3, 6])
def test_a_batch_split_into_slices_has_the_whole_batch_loss_and_gradient(cls, slices):
    model = cls(latent_dim=3, hidden_units=(16,), precision="float32")
    images, labels = make_digits(5)  # 2 slices: 2 + 3 images; 3: 1 + 1 + 3; 6: five empty ones, then 5
    x = model.binarize(tf.constant(images), 7)
    y = tf.constant(labels) if model.conditional else None
    results = []
    for count in (1, slices):
        with tf.GradientTape() as tape:
            terms = model.elbo_terms(x, y, 11, slices=count)  # the same noise: one draw for the whole batch
        results.append((terms, tape.gradient(terms["loss"], model.trainable_weights)))
    (whole, whole_grads), (sliced, sliced_grads) = results
    for key in ("loss", "rec", "kl", "nelbo"):
        assert float(sliced[key]) == pytest.approx(float(whole[key]), rel=1e-6)
    for a, b in zip(sliced_grads, whole_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (5, 5, 1)])
def test_images_binarised_in_parts_get_the_draws_of_the_whole_batch(image_shape):
    # 784 pixels fill whole random blocks of eight numbers; 25 leave part of each block unused.
    model = VAE(latent_dim=2, hidden_units=(8,), image_shape=image_shape, precision="float32")
    grey = tf.constant(np.random.default_rng(0).random((7, *image_shape), dtype="float32"))
    whole = model.binarize(grey, 5).numpy()
    parts = [model.binarize(grey[start:stop], 5, first_image=start).numpy() for start, stop in ((0, 3), (3, 7))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(parts[0], model.binarize(grey[3:6], 5).numpy())  # the place sets the draw
    assert 0.3 < whole.mean() < 0.7


@pytest.mark.parametrize("slices", [2, 3])
def test_grey_images_binarised_slice_by_slice_give_the_whole_batch_loss(slices):
    model = ConditionalVAE(latent_dim=3, hidden_units=(16,), precision="float32")
    images, labels = make_digits(7)
    grey, y = tf.constant(images * 0.8 + 0.1), tf.constant(labels)
    whole = model.elbo_terms(model.binarize(grey, 7), y, 11)
    for count in (1, slices):
        sliced = model.elbo_terms(grey, y, 11, slices=count, binarize_seed=7)
        for key in ("loss", "rec", "kl"):
            assert float(sliced[key]) == pytest.approx(float(whole[key]), rel=1e-6)


def test_training_draws_the_same_numbers_whatever_the_slices(tmp_path, tiny_split):
    histories = []
    for slices in (1, 2):
        session = TrainingSession.new(small_config(tmp_path / str(slices), epochs=2), data=tiny_split)
        session.model.batch_slices = slices
        histories.append([row["val_nelbo"] for row in session.run().history])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)


def test_a_compiled_call_of_several_batches_reports_where_it_ends(tmp_path, tiny_split):
    # 400 images at batch 5: 80 batches an epoch; to report ten times an epoch, 8 a compiled call.
    events = []
    session = TrainingSession.new(small_config(tmp_path, epochs=2, batch_size=5), data=tiny_split,
                                  state=JobState(on_event=events.append))
    assert session.model.steps_per_execution == steps_per_execution(5) == 32
    session.run()
    assert session.model.steps_per_execution == 8
    reports = [(e.epoch, e.batch) for e in events if isinstance(e, BatchProgress)]
    assert reports == [(epoch, batch) for epoch in (1, 2) for batch in range(8, 81, 8)]
    assert int(session.model.optimizer.iterations) == 160


def test_a_nan_names_the_batches_of_its_compiled_call(tmp_path, tiny_split):
    session = session_poisoned_at_start(small_config(tmp_path, epochs=1, batch_size=5), tiny_split)
    with pytest.raises(TrainingDiverged, match="NaN at epoch 1, batches 1-8; no checkpoint had been written"):
        session.run()


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


def test_the_multi_batch_loop_trains_exactly_as_keras_own(tmp_path):
    # 23 batches of 5 at 8 a call: two full calls, then one of 7 that meets the end of the data.
    images, labels = make_digits(115)
    histories, counts = [], []
    for own_loop in (False, True):
        keras.utils.set_random_seed(4)
        model = build_model(TrainConfig(batch_size=5, latent_dim=3).validate())
        model.steps_per_execution = 8
        if not own_loop:  # Keras's loop, which runs each step under a conditional
            model.make_train_function = lambda force=False, m=model: TensorFlowTrainer.make_train_function(m, force)
            model.make_test_function = lambda force=False, m=model: TensorFlowTrainer.make_test_function(m, force)
        data = tf.data.Dataset.from_tensor_slices(images).batch(5)
        histories.append(model.fit(data, validation_data=data, epochs=2, verbose=0, shuffle=False).history)
        counts.append(int(model.optimizer.iterations))
    assert counts == [46, 46]
    assert histories[0] == histories[1]
    logs = model.train_on_batch(images[:5], return_dict=True)  # a batch handed over directly still trains
    assert int(model.optimizer.iterations) == 47 and np.isfinite(logs["loss"])
