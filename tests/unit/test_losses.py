"""Loss arithmetic checked against values worked out by hand."""
import math

import numpy as np
import pytest
from keras import ops

from keras_models import losses
from tests.helpers import make_digits, small_config


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float64")


# ----- KL ----------------------------------------------------------------------------------------
def test_kl_of_standard_normal_is_zero():
    z = np.zeros((3, 5), dtype="float32")
    kl = np_(losses.gaussian_kl(z, z))
    assert kl.shape == (3,)
    assert np.all(kl == 0.0)


def test_kl_of_known_mean_and_log_variance_matches_closed_form():
    mu = np.array([[1.0, -2.0], [0.0, 0.5]], dtype="float32")
    lv = np.array([[0.5, -1.0], [2.0, 0.0]], dtype="float32")
    # 0.5 * (exp(lv) + mu^2 - 1 - lv), worked out per dimension:
    row0 = [0.5 * (math.exp(0.5) + 1.0 - 1.0 - 0.5),    # 0.574360635
            0.5 * (math.exp(-1.0) + 4.0 - 1.0 + 1.0)]   # 2.183939721
    row1 = [0.5 * (math.exp(2.0) + 0.0 - 1.0 - 2.0),    # 2.194528049
            0.5 * (1.0 + 0.25 - 1.0 - 0.0)]             # 0.125
    per_dim = np_(losses.gaussian_kl_per_dimension(mu, lv))
    np.testing.assert_allclose(per_dim, [row0, row1], rtol=1e-6)
    np.testing.assert_allclose(np_(losses.gaussian_kl(mu, lv)), [2.758300356, 2.319528049], rtol=1e-6)


def test_kl_is_positive_away_from_the_prior():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(50, 4)).astype("float32")
    lv = rng.normal(size=(50, 4)).astype("float32")
    assert np.all(np_(losses.gaussian_kl_per_dimension(mu, lv)) > 0)


# ----- Bernoulli reconstruction term ------------------------------------------------------------
def hand_bce(x, logits):
    """−[x log σ(l) + (1 − x) log(1 − σ(l))] per element, the textbook way."""
    p = 1.0 / (1.0 + np.exp(-logits.astype("float64")))
    return -(x * np.log(p) + (1.0 - x) * np.log(1.0 - p))


def test_bernoulli_nll_matches_hand_computed_cross_entropy():
    x = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype="float32")
    logits = np.array([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0]], dtype="float32")
    # Row 0: log(1+e^-2) + log(1+e^-1) + log 2 = 0.126928 + 0.313262 + 0.693147
    expected = [math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)) + math.log(2),
                math.log1p(math.exp(0.5)) + math.log1p(math.exp(3)) + math.log1p(math.exp(2))]
    got = np_(losses.bernoulli_nll(x, logits))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(got, hand_bce(x, logits).sum(axis=1), rtol=1e-6)


def test_bernoulli_nll_sums_over_every_pixel_of_an_image():
    rng = np.random.default_rng(1)
    x = (rng.random((4, 28, 28, 1)) < 0.3).astype("float32")
    logits = rng.normal(size=(4, 28, 28, 1)).astype("float32")
    got = np_(losses.bernoulli_nll(x, logits))
    assert got.shape == (4,)
    np.testing.assert_allclose(got, hand_bce(x, logits).reshape(4, -1).sum(axis=1), rtol=1e-5)


def test_bernoulli_nll_is_stable_for_extreme_logits():
    x = np.array([[1.0, 0.0, 1.0, 0.0]], dtype="float32")
    logits = np.array([[100.0, -100.0, -100.0, 100.0]], dtype="float32")
    got = np_(losses.bernoulli_nll(x, logits))
    # Two confident right answers cost ~0, two confident wrong ones cost 100 nats each.
    np.testing.assert_allclose(got, [200.0], rtol=1e-6)


# ----- the β-weighted objective -----------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 4.0, 250.0])
def test_beta_weighted_loss_is_rec_plus_beta_kl_exactly(beta):
    rec = np.array([101.25, 87.5, 3.0], dtype="float32")
    kl = np.array([12.5, 0.0, 7.75], dtype="float32")
    got = np.asarray(ops.convert_to_numpy(losses.beta_weighted_loss(rec, kl, beta)))
    np.testing.assert_array_equal(got, rec + beta * kl)
    as_tensors = losses.beta_weighted_loss(ops.convert_to_tensor(rec), ops.convert_to_tensor(kl), beta)
    np.testing.assert_array_equal(np.asarray(ops.convert_to_numpy(as_tensors)), rec + beta * kl)
    assert losses.beta_weighted_loss(10.0, 2.0, beta) == 10.0 + beta * 2.0


# ----- the objective inside a model ------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.0, 1.0, 3.5])
def test_model_elbo_terms_weight_the_kl_by_beta(tmp_path, beta):
    from keras_models.models import build_model

    model = build_model(small_config(tmp_path, beta=beta))
    images, _ = make_digits(32, seed=5)
    x = model.binarize(ops.convert_to_tensor(images), 7)
    terms = {k: float(v) for k, v in model.elbo_terms(x, None, 11).items()}
    assert terms["loss"] == pytest.approx(terms["rec"] + beta * terms["kl"], rel=1e-6, abs=1e-4)
    assert terms["nelbo"] == pytest.approx(terms["rec"] + terms["kl"], rel=1e-6, abs=1e-4)
    # The KL term is the batch mean of the closed form on the encoder's statistics.
    z_mean, z_log_var = model.encode(np_(x).astype("float32"))
    assert terms["kl"] == pytest.approx(float(np.mean(np_(losses.gaussian_kl(z_mean, z_log_var)))), rel=1e-5)
    assert terms["rec"] > 0 and terms["kl"] > 0


def test_evaluate_reports_loss_as_rec_plus_beta_kl(tmp_path):
    from keras_models.models import build_model

    beta = 2.5
    model = build_model(small_config(tmp_path, beta=beta))
    images, labels = make_digits(64, seed=6)
    result = model.evaluate(images, labels, batch_size=64, verbose=0, return_dict=True)
    assert set(result) == {"loss", "rec", "kl", "nelbo"}
    assert result["loss"] == pytest.approx(result["rec"] + beta * result["kl"], rel=1e-6)
    assert result["nelbo"] == pytest.approx(result["rec"] + result["kl"], rel=1e-6)
    assert result["loss"] > result["nelbo"]  # β > 1 and KL > 0
