"""Disentanglement metrics against codes whose answer is known: a copy of the factors,
a random rotation of that copy, and a constant."""
import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from keras_models import disentanglement as dis
from keras_models.data import shapes

# A small factor grid for the boosted-tree DCI: boosting fits one tree per class and
# stage, so the shapes grid (113 classes) would cost seconds per call.
SMALL_GRID = (3, 4, 5, 6)


def grid_sample(sizes, n, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, n) for size in sizes], axis=1)


def copy_code(factors, sizes, seed=1) -> np.ndarray:
    """Each factor in a latent of its own, plus noise of 5% of a step between its values,
    standardised so that a rotation mixes the factors evenly."""
    sizes = np.asarray(sizes, dtype="float64")
    noisy = factors + np.random.default_rng(seed).normal(0, 0.05, factors.shape)
    return (noisy - (sizes - 1) / 2) / np.sqrt((sizes ** 2 - 1) / 12)


def rotated(codes, seed=2) -> np.ndarray:
    """The codes turned by a random rotation, which mixes every factor into every latent.
    How thoroughly depends on the draw; the thresholds below hold for every seed tried (0-5)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(codes.shape[1],) * 2))
    return codes @ (q * np.sign(np.diag(r)))


@pytest.fixture(scope="module")
def shapes_codes():
    factors = shapes.sample_factors(20000, np.random.default_rng(0))
    return factors, copy_code(factors, shapes.factor_sizes)


# ----- building blocks ---------------------------------------------------------------------------
def test_mutual_information_matches_scikit_learn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 7, 3000)
    b = (a + rng.integers(0, 3, 3000)) % 5
    assert dis.mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert dis.entropy(a) == pytest.approx(mutual_info_score(a, a), abs=1e-12)
    assert dis.mutual_information(a, np.zeros_like(a)) == 0.0


def test_discretize_uses_equal_width_bins_per_dimension():
    codes = np.array([[0.0, 5.0], [1.0, 5.0], [2.5, 5.0], [10.0, 5.0]])
    np.testing.assert_array_equal(dis.discretize(codes, bins=4), [[0, 0], [0, 0], [1, 0], [3, 0]])


# ----- MIG -----------------------------------------------------------------------------------------
def test_mig_of_a_copy_code_is_one(shapes_codes):
    factors, codes = shapes_codes
    result = dis.mig(codes, factors, bins=40)  # as many bins as the largest factor has values
    assert result["score"] > 0.97
    assert result["mutual_information"].shape == (5, 5) and result["per_factor"].shape == (5,)
    np.testing.assert_allclose(result["factor_entropy"], np.log(shapes.factor_sizes), atol=0.01)


def test_mig_with_fewer_bins_than_factor_values(shapes_codes):
    factors, codes = shapes_codes
    per_factor = dis.mig(codes, factors)["per_factor"]  # 20 bins
    np.testing.assert_allclose(per_factor[:2], 1, atol=0.01)
    # 40 orientations in 20 bins keep log 20 of their log 40 nats.
    assert per_factor[2] == pytest.approx(np.log(20) / np.log(40), abs=0.02)


def test_mig_of_a_rotated_code_is_near_zero(shapes_codes):
    factors, codes = shapes_codes
    copy, turned = dis.mig(codes, factors, bins=40), dis.mig(rotated(codes), factors, bins=40)
    assert turned["score"] < 0.4 < copy["score"] - 0.5


def test_mig_of_a_constant_code_is_zero(shapes_codes):
    factors, _ = shapes_codes
    result = dis.mig(np.zeros((len(factors), 4)), factors)
    assert result["score"] == 0.0 and np.all(result["mutual_information"] == 0)


def test_mig_ignores_latent_order_and_constant_factors(shapes_codes):
    factors, codes = shapes_codes
    factors = np.concatenate([factors, np.full((len(factors), 1), 7)], axis=1)
    first = dis.mig(codes, factors)
    second = dis.mig(codes[:, ::-1], factors)
    assert first["score"] == pytest.approx(second["score"])
    assert np.isnan(first["per_factor"][-1]) and first["score"] == pytest.approx(np.nanmean(first["per_factor"]))


def test_mig_rejects_mismatched_input():
    with pytest.raises(ValueError, match="same rows"):
        dis.mig(np.zeros((5, 2)), np.zeros((4, 2), int))
    with pytest.raises(ValueError, match="at least two code dimensions"):
        dis.mig(np.zeros((5, 1)), np.zeros((5, 2), int))
    with pytest.raises(ValueError, match="NaN"):
        dis.mig(np.full((5, 2), np.nan), np.zeros((5, 2), int))


# ----- DCI -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_grid_codes():
    factors = grid_sample(SMALL_GRID, 2000)
    codes = copy_code(factors, SMALL_GRID)
    # Two latents that carry nothing, as a VAE's unused dimensions would.
    codes = np.concatenate([codes, np.random.default_rng(5).normal(size=(2000, 2))], axis=1)
    return factors, codes


def dci_split(codes, factors, model):
    return dis.dci(codes[:1500], factors[:1500], codes[1500:], factors[1500:], model=model)


@pytest.mark.parametrize("model", ["gbt", "lasso"])
def test_dci_of_a_copy_code_is_one(small_grid_codes, model):
    factors, codes = small_grid_codes
    result = dci_split(codes, factors, model)
    assert result["disentanglement"] > 0.95 and result["completeness"] > 0.95
    assert result["informativeness_test"] > 0.95
    assert result["informativeness_measure"] == ("accuracy" if model == "gbt" else "r2")
    importance = result["importance_matrix"]
    assert importance.shape == (6, 4)
    np.testing.assert_array_equal(importance[:4].argmax(axis=1), [0, 1, 2, 3])
    assert importance[4:].sum() < 0.05 * importance.sum()  # the unused latents barely count


@pytest.mark.parametrize("model", ["gbt", "lasso"])
def test_dci_of_a_rotated_code_is_low(small_grid_codes, model):
    factors, codes = small_grid_codes
    copy = dci_split(codes, factors, model)
    turned = dci_split(rotated(codes[:, :4]), factors, model)
    # Trees split on the latent most aligned with a factor first; Lasso spreads weight
    # over every latent involved, so it sees the mixing more fully.
    ceiling = 0.55 if model == "gbt" else 0.3
    assert turned["disentanglement"] < ceiling < copy["disentanglement"] - 0.4
    assert turned["completeness"] < ceiling


@pytest.mark.parametrize("model", ["gbt", "lasso"])
def test_dci_of_a_constant_code_is_zero(small_grid_codes, model):
    factors, _ = small_grid_codes
    result = dci_split(np.ones((len(factors), 3)), factors, model)
    assert result["disentanglement"] == 0.0 and result["completeness"] == 0.0
    assert np.all(result["importance_matrix"] == 0)


def test_dci_lasso_on_the_shapes_factors(shapes_codes):
    factors, codes = shapes_codes
    result = dis.dci(codes[:10000], factors[:10000], codes[10000:], factors[10000:], model="lasso")
    assert result["disentanglement"] > 0.95 and result["completeness"] > 0.95


def test_dci_rejects_an_unknown_model(small_grid_codes):
    factors, codes = small_grid_codes
    with pytest.raises(ValueError, match="unknown DCI model 'forest'"):
        dis.dci(codes, factors, codes, factors, model="forest")


# ----- FactorVAE score ---------------------------------------------------------------------------------
def test_factor_vae_score_of_a_copy_code_is_one(shapes_codes):
    factors, codes = shapes_codes
    result = dis.factor_vae_score_from_codes(codes, factors)
    assert result["score"] == 1.0 and result["train_accuracy"] == 1.0
    assert result["num_active_dims"] == 5
    np.testing.assert_array_equal(result["dim_to_factor"], [0, 1, 2, 3, 4])


def test_factor_vae_score_of_a_constant_code_is_zero(shapes_codes):
    factors, _ = shapes_codes
    result = dis.factor_vae_score_from_codes(np.zeros((len(factors), 5)), factors)
    assert result["score"] == 0.0 and result["num_active_dims"] == 0


def test_factor_vae_score_of_an_unrelated_code_is_near_chance(shapes_codes):
    factors, _ = shapes_codes
    noise = np.random.default_rng(4).normal(size=(len(factors), 5))
    assert dis.factor_vae_score_from_codes(noise, factors)["score"] < 0.4  # chance is 0.2


def test_factor_vae_score_of_an_encoder_on_rendered_images():
    """A hand-made 'encoder' of real images: the centroid reads the x and y positions off
    exactly, and the bright mass mostly the scale; nothing reads the orientation."""
    def encode(images):
        grey = images[..., 0].astype("float64")
        mass = grey.sum(axis=(1, 2))
        rows, columns = np.indices(grey.shape[1:])
        return np.stack([mass, (grey * columns).sum(axis=(1, 2)) / mass,
                         (grey * rows).sum(axis=(1, 2)) / mass], axis=1)

    result = dis.factor_vae_score(encode, shapes.sample_images, num_factors=5, num_train=150, num_eval=100,
                                  num_variance_estimate=2000)
    np.testing.assert_array_equal(result["dim_to_factor"], [1, 3, 4])
    # x and y votes always win; scale mostly; shape and orientation are lost: about 3/5.
    assert 0.45 < result["score"] < 0.75
