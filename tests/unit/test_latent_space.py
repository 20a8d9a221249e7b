"""The latent space's geometry without a model: projections and their inverse, interpolation
paths, blended labels, the manifold grid's codes and the fixed map subsample."""
import numpy as np
import pytest

from keras_models.latent_space import (LatentMap, fit_projection, interpolate_codes, label_blend,
                                       latent_map_figure, manifold_codes, map_indices, slerp)


def codes_on_a_plane():
    """40 codes in R^5 on the plane mean + a·u + b·v, with var(a) = 9 and var(b) = 1 exactly."""
    rng = np.random.default_rng(0)
    u, v = np.linalg.qr(rng.standard_normal((5, 2)))[0].T
    mean = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    a = 3.0 * np.tile([1.0, 1.0, -1.0, -1.0], 10)
    b = np.tile([1.0, -1.0, 1.0, -1.0], 10)  # orthogonal to a: no covariance
    return (mean + a[:, None] * u + b[:, None] * v).astype("float32"), mean, u, v, a, b


def test_pca_finds_the_plane_and_names_its_share_of_the_variance():
    codes, mean, u, v, a, b = codes_on_a_plane()
    projection = fit_projection(codes)
    assert projection.method == "pca"
    assert projection.axis_labels == ("PC1 (90% of variance)", "PC2 (10% of variance)")
    np.testing.assert_allclose(projection.mean, mean, atol=1e-5)
    # The components are u and v, up to sign.
    np.testing.assert_allclose(np.abs(projection.components @ u), [1.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(np.abs(projection.components @ v), [0.0, 1.0], atol=1e-5)
    points = projection.transform(codes)
    np.testing.assert_allclose(np.abs(points), np.stack([np.abs(a), np.abs(b)], axis=1), atol=1e-4)
    # Every code lies on the plane, so projecting and inverting gives it back.
    np.testing.assert_allclose(projection.inverse(points), codes, atol=1e-4)


def test_the_inverse_of_any_point_is_the_mean_plus_the_point_along_the_components():
    codes, mean, u, v, _, _ = codes_on_a_plane()
    projection = fit_projection(codes)
    point = np.array([[2.5, -0.75]], dtype="float32")
    code = projection.inverse(point)[0]
    np.testing.assert_allclose(code, mean + 2.5 * projection.components[0] - 0.75 * projection.components[1],
                               atol=1e-5)
    offset = code - mean
    residual = offset - (offset @ u) * u - (offset @ v) * v
    np.testing.assert_allclose(residual, 0.0, atol=1e-5)  # on the plane: other directions at their mean
    np.testing.assert_allclose(projection.transform(code[None, :]), point, atol=1e-5)
    assert "mean code" in projection.inverse_note and "PC1 and PC2" in projection.inverse_note


def test_a_two_dimensional_code_is_its_own_map():
    codes = np.array([[0.5, -1.0], [2.0, 3.0], [-1.5, 0.25]], dtype="float32")
    projection = fit_projection(codes)
    assert projection.method == "identity" and projection.axis_labels == ("z0", "z1")
    np.testing.assert_array_equal(projection.transform(codes), codes)
    np.testing.assert_array_equal(projection.inverse(codes), codes)


def test_a_latent_map_answers_for_a_point_with_its_code_and_the_nearest_label():
    codes = np.array([[0.0, 0.0], [4.0, 4.0], [-3.0, 1.0]], dtype="float32")
    latent = LatentMap(codes, np.array([7, 2, 5]), codes, fit_projection(codes))
    np.testing.assert_array_equal(latent.code_at((3.5, 4.5)), [3.5, 4.5])
    assert latent.nearest_label((3.5, 4.5)) == 2 and latent.nearest_label((-2.0, 0.0)) == 5


@pytest.mark.parametrize("codes, words", [
    (np.zeros((2, 4)), "at least 3 codes"),
    (np.zeros((10, 1)), "at least 2 latent dimensions, the model has 1"),
])
def test_a_projection_refuses_what_it_cannot_map(codes, words):
    with pytest.raises(ValueError, match=words):
        fit_projection(codes)


def test_an_unknown_projection_is_named():
    with pytest.raises(ValueError, match="unknown projection 'tsne'"):
        fit_projection(np.random.default_rng(0).standard_normal((10, 4)), method="tsne")


def test_slerp_known_values():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = slerp(a, b, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(path, [[1, 0], [np.sqrt(0.5), np.sqrt(0.5)], [0, 1]], atol=1e-6)
    # A third of the way round a quarter circle is 30 degrees; the norm moves linearly from 2 to 5.
    path = slerp(2 * a, 5 * b, np.array([1 / 3]))
    np.testing.assert_allclose(path[0], 3.0 * np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)]), atol=1e-6)
    # Parallel codes: no circle to follow, so the straight line.
    np.testing.assert_allclose(slerp(a, 3 * a, np.array([0.5])), [[2.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("spherical", [False, True])
def test_an_interpolation_begins_and_ends_exactly_at_the_two_codes(spherical):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(6).astype("float32"), rng.standard_normal(6).astype("float32")
    path = interpolate_codes(a, b, 7, spherical)
    assert path.shape == (7, 6) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    if not spherical:
        np.testing.assert_allclose(path[3], (a + b) / 2, atol=1e-6)
    else:  # the norm moves linearly along the great circle
        norms = np.linalg.norm(path, axis=1)
        np.testing.assert_allclose(norms, np.linspace(norms[0], norms[-1], 7), atol=1e-5)


def test_an_interpolation_refuses_bad_ends():
    with pytest.raises(ValueError, match="at least 2 steps, got 1"):
        interpolate_codes(np.zeros(3), np.ones(3), 1)
    with pytest.raises(ValueError, match="sizes 3 and 4"):
        interpolate_codes(np.zeros(3), np.ones(4))


def test_a_label_blend_moves_from_one_one_hot_to_the_other():
    weights = label_blend(3, 8, 5)
    assert weights.shape == (5, 10)
    np.testing.assert_array_equal(weights[0], np.eye(10)[3])
    np.testing.assert_array_equal(weights[-1], np.eye(10)[8])
    np.testing.assert_allclose(weights[2, [3, 8]], [0.5, 0.5])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="got 12"):
        label_blend(3, 12)


def test_the_manifold_grid_reads_like_the_map():
    codes = manifold_codes(3.0, 15)
    assert codes.shape == (225, 2)
    np.testing.assert_array_equal(codes[0], [-3.0, 3.0])  # top left
    np.testing.assert_array_equal(codes[14], [3.0, 3.0])  # top right
    np.testing.assert_array_equal(codes[-1], [3.0, -3.0])  # bottom right
    np.testing.assert_allclose(codes[7 * 15 + 7], [0.0, 0.0], atol=1e-6)


def test_the_map_subsample_is_fixed_sorted_and_at_most_the_limit():
    assert list(map_indices(5, limit=10)) == [0, 1, 2, 3, 4]
    first, again = map_indices(10_000), map_indices(10_000)
    assert len(first) == 2000 and len(set(first.tolist())) == 2000
    np.testing.assert_array_equal(first, again)
    assert np.all(np.diff(first) > 0)


def test_the_map_figure_names_its_axes_and_classes():
    rng = np.random.default_rng(2)
    codes = rng.standard_normal((30, 4)).astype("float32")
    projection = fit_projection(codes)
    latent = LatentMap(projection.transform(codes), np.arange(30) % 3, codes, projection)
    figure = latent_map_figure(latent, marker=(0.5, 0.5))
    (ax,) = figure.axes
    assert ax.get_xlabel().startswith("PC1 (") and ax.get_ylabel().startswith("PC2 (")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_codes_that_do_not_vary_get_axes_that_say_so_not_nan():
    # A posterior collapsed in every dimension: every image has the same code.
    projection = fit_projection(np.zeros((40, 5), dtype="float32"))
    assert projection.axis_labels == ("PC1 (the codes do not vary)", "PC2 (the codes do not vary)")
    assert np.isfinite(projection.transform(np.zeros((3, 5)))).all()
