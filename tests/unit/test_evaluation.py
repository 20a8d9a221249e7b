"""The study's measurements: IWAE bound, NELBO, active units, Fréchet distance, evaluate()."""
import keras
import numpy as np
import pytest

from keras_models import evaluation, losses
from keras_models.classifier import TrainedClassifier, build_classifier
from keras_models.events import Stopped
from keras_models.data import binarize_fixed
from keras_models.evaluation import (
    GROUPS_PER_CALL, bernoulli_nll_samples, evaluate, frechet_distance, iwae_nll, likelihood_bounds, nelbo_terms,
)
from keras_models.evaluation import active_units as count_active_units
from keras_models.models import NUM_CLASSES, VAE, ConditionalVAE
from tests.helpers import StopAfter, make_digits

LATENT = 4


def layers_with_weights(network):
    return [layer for layer in network.layers if layer.weights]


def fixed_bernoulli_model(cls, logits: np.ndarray):
    """A model whose posterior is exact: zero encoder output gives q(z|x) = N(0, I) = p(z),
    and zero decoder kernels make p(x|z) a fixed Bernoulli with the last bias as logits."""
    model = cls(latent_dim=LATENT, hidden_units=(16, 8), precision="float32")
    for weight in layers_with_weights(model.encoder)[-1].weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    decoder_layers = layers_with_weights(model.decoder)
    for layer in decoder_layers:
        layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
    decoder_layers[-1].bias.assign(logits.reshape(decoder_layers[-1].bias.shape))
    return model


@pytest.fixture(scope="module")
def trained_vae():
    """A small VAE trained for a few seconds, so its posterior is far from exact."""
    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=LATENT, hidden_units=(64, 32), precision="float32")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)
    images, _ = make_digits(500, seed=1)
    model.fit(images, epochs=8, batch_size=50, verbose=0)
    return model


@pytest.fixture(scope="module")
def test_images():
    images, labels = make_digits(40, seed=2)
    return binarize_fixed(images, seed=0), labels


def test_fast_bernoulli_nll_matches_the_losses_module():
    rng = np.random.default_rng(0)
    x = (rng.random((3, 784)) < 0.3).astype("float32")
    logits = (rng.normal(size=(3, 5, 784)) * 6).astype("float32")
    logits[0, 0, :4] = [0.0, 60.0, -60.0, 150.0]  # extremes overflow neither form
    expected = losses.bernoulli_nll(np.repeat(x, 5, axis=0), logits.reshape(15, 784))
    got = bernoulli_nll_samples(x, logits).numpy()
    np.testing.assert_allclose(got.reshape(15), np.asarray(expected), rtol=1e-5)


@pytest.mark.parametrize("cls", [VAE, ConditionalVAE])
def test_iwae_is_exact_when_the_posterior_is_exact(cls, test_images):
    images, labels = test_images
    logits = np.random.default_rng(1).normal(0.0, 2.0, 784).astype("float32")
    model = fixed_bernoulli_model(cls, logits)
    flat = images.reshape(len(images), -1)
    log_px = -(np.logaddexp(0.0, logits) - flat * logits).sum(axis=1)  # analytic log p(x)
    labels = labels if model.conditional else None
    for k in (1, 10, 100):
        np.testing.assert_allclose(iwae_nll(model, images, labels, k=k), -log_px, rtol=2e-6)
    # 100 images a call leave room in DECODER_ROWS for 40 samples each: chunks of 40, 40 and 20.
    np.testing.assert_allclose(iwae_nll(model, images, labels, k=100, batch_images=100), -log_px, rtol=2e-6)
    terms = nelbo_terms(model, images, labels)
    np.testing.assert_allclose(terms["kl"], 0.0, atol=1e-6)
    np.testing.assert_allclose(terms["nelbo"], -log_px, rtol=2e-6)


def test_iwae_never_exceeds_the_nelbo_and_tightens_with_k(trained_vae, test_images):
    images, _ = test_images
    means = []
    for k in (1, 10, 100):
        bounds = likelihood_bounds(trained_vae, images, k=k, seed=5)
        # The same draws give both numbers, so the inequality holds image by image.
        assert np.all(bounds["nll"] <= bounds["nelbo_sampled"] + 1e-4)
        means.append(bounds["nll"].mean())
    assert means[0] > means[1] > means[2]
    # The k = 1 bound is the ELBO itself: it agrees with the closed-form-KL NELBO on average.
    nelbo = nelbo_terms(trained_vae, images, samples=200, seed=6)["nelbo"]
    assert abs(means[0] - nelbo.mean()) < 2.0
    assert means[2] < nelbo.mean()


def test_iwae_is_repeatable_and_batching_only_changes_the_draws(trained_vae, test_images):
    images, _ = test_images
    first = iwae_nll(trained_vae, images, k=50, seed=3, batch_images=7)
    np.testing.assert_array_equal(first, iwae_nll(trained_vae, images, k=50, seed=3, batch_images=7))
    # Other batching (here each image's 50 samples in chunks of 20, 20 and 10) gives the
    # same estimator with other draws: close, not equal.
    other = iwae_nll(trained_vae, images, k=50, seed=3, batch_images=200)
    assert not np.array_equal(first, other)
    assert abs(first.mean() - other.mean()) < 1.0


def test_conditional_model_needs_labels(test_images):
    model = ConditionalVAE(latent_dim=LATENT, hidden_units=(16, 8), precision="float32")
    with pytest.raises(ValueError, match="labels"):
        iwae_nll(model, test_images[0], k=2)
    with pytest.raises(ValueError, match=">= 1"):
        iwae_nll(model, test_images[0], test_images[1], k=0)


def test_active_units_on_a_hand_built_encoder(test_images):
    images, _ = test_images
    model = VAE(latent_dim=LATENT, hidden_units=(16,), precision="float32")
    output = layers_with_weights(model.encoder)[-1]
    kernel = np.random.default_rng(0).normal(0.0, 1.0, output.kernel.shape).astype("float32")
    kernel[:, 1] = 0.0  # z_mean[1] is the same for every image
    kernel[:, 2] *= 1e-4  # z_mean[2] varies, far below the threshold
    kernel[:, LATENT:] = 0.0  # z_log_var
    output.kernel.assign(kernel)
    output.bias.assign(np.full(output.bias.shape, 0.7, "float32"))
    count, variance = count_active_units(model, images)
    assert count == 2
    assert variance.shape == (LATENT,)
    assert variance[0] > 0.01 and variance[3] > 0.01
    assert variance[1] == 0.0 and 0.0 < variance[2] < 0.01
    assert count_active_units(model, images, threshold=0.0)[0] == 3


def test_frechet_distance():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([0.5, -1.0, 0.0, 2.0, 0.0, 0.3])
    distances = [frechet_distance(features, features + t * shift) for t in (0.5, 1.0, 2.0)]
    assert distances[0] < distances[1] < distances[2]
    # Identical covariances: only the squared mean shift is left.
    assert distances[1] == pytest.approx(np.sum(shift ** 2), rel=1e-6)
    # Scaling by 2: ‖μ‖² + tr(Σ) + tr(4Σ) − 2 tr(2Σ) = ‖μ‖² + tr(Σ).
    expected = np.sum(features.mean(axis=0) ** 2) + np.trace(np.cov(features, rowvar=False))
    assert frechet_distance(features, 2 * features) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(features[:, :1], features[:, :1] + 3.0) == pytest.approx(9.0)
    with pytest.raises(ValueError, match="width"):
        frechet_distance(features, features[:, :3])


def untrained_classifier():
    return TrainedClassifier(build_classifier(seed=0), "tiny", test_accuracy=0.5)


def test_evaluate_reports_every_number_with_its_protocol(trained_vae):
    images, labels = make_digits(30, seed=4)
    result = evaluate(trained_vae, images, labels, k=20, seed=11)
    assert result["protocol"] == {"binarisation": "fixed, seed 11", "k": 20, "images": 30, "generated": None}
    assert result["nelbo"] == pytest.approx(result["rec"] + result["kl"])
    assert result["elbo_gap"] == pytest.approx(result["nelbo"] - result["iwae_nll"])
    assert result["elbo_gap"] > 0
    assert 0 <= result["active_units"] <= LATENT == result["latent_dim"] == len(result["latent_variance"])
    assert result["frechet_distance"] is None and result["class_accuracy"] is None
    assert evaluate(trained_vae, images, labels, k=20, seed=11) == result

    with_classifier = evaluate(trained_vae, images, labels, k=5, seed=11,
                               classifier=untrained_classifier(), n_samples=40)
    assert with_classifier["protocol"]["generated"] == 40
    assert with_classifier["frechet_distance"] > 0
    assert with_classifier["classifier_accuracy"] == 0.5
    assert with_classifier["class_accuracy"] is None  # only a CVAE is asked for a class


def test_evaluate_conditional_model_reports_class_accuracy():
    images, labels = make_digits(30, seed=4)
    model = ConditionalVAE(latent_dim=LATENT, hidden_units=(16, 8), precision="float32")
    result = evaluate(model, images, labels, k=5, classifier=untrained_classifier(),
                      n_samples=3 * NUM_CLASSES)
    assert 0.0 <= result["class_accuracy"] <= 1.0
    assert result["frechet_distance"] >= 0.0


def test_a_stop_request_ends_the_bound_within_one_graph_call(trained_vae, test_images):
    images, _ = test_images
    assert len(images) > 2 * GROUPS_PER_CALL
    stop = StopAfter(3)
    with pytest.raises(Stopped):
        # One image per decoder batch with all 50 draws: GROUPS_PER_CALL batches a call, so
        # three calls or more; stopped before the third.
        likelihood_bounds(trained_vae, images, k=50, batch_images=1, state=stop)
    assert stop.looks == 3


def test_evaluate_stops_when_asked_before_it_starts(trained_vae, test_images):
    with pytest.raises(Stopped):
        evaluate(trained_vae, test_images[0], test_images[1], k=5, state=StopAfter(1))


def test_the_bound_is_the_same_however_many_decoder_batches_a_call_holds(trained_vae, test_images, monkeypatch):
    images, _ = test_images
    x = images[:23]  # 3 images a decoder batch: 8 batches, the last one of 2
    together = likelihood_bounds(trained_vae, x, k=20, batch_images=3)
    monkeypatch.setattr(evaluation, "GROUPS_PER_CALL", 1)
    one_at_a_time = likelihood_bounds(trained_vae, x, k=20, batch_images=3)
    for key in ("nll", "nelbo_sampled", "rec", "kl"):
        np.testing.assert_allclose(together[key], one_at_a_time[key], rtol=1e-6)
    assert len(set(np.round(together["nll"], 3))) == len(x)  # each image its own number, none repeated
