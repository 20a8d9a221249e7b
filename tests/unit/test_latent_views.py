"""The latent map and interpolation of a model: decoded points, interpolation ends, soft labels
for the CVAE, and the two PNGs the run's grids include."""
import numpy as np
import pytest
from PIL import Image

from keras_models import grids
from keras_models.config import ViewRequest
from keras_models.latent_views import decode_point, interpolation_grid, latent_map, latent_views
from keras_models.models import VAE, ConditionalVAE, sigmoid
from keras_models.views import render_views
from tests.helpers import make_digits

CELL = 28 + 2  # an image and its separator in a tiled grid


@pytest.fixture(scope="module")
def digits():
    return make_digits(24, seed=5)


def tiny(cls=VAE, latent_dim=2):
    return cls(latent_dim=latent_dim, hidden_units=(16,), precision="float32")


def test_a_two_dimensional_map_is_the_codes_with_the_manifold_grid(digits):
    images, labels = digits
    model = tiny()
    latent = latent_map(model, images, labels)
    codes, _ = model.encode(images)
    np.testing.assert_allclose(latent.points, codes, atol=1e-6)
    np.testing.assert_array_equal(latent.labels, labels)
    assert latent.projection.axis_labels == ("z0", "z1")
    assert latent.manifold.shape == (15 * CELL + 2, 15 * CELL + 2)
    # The top-left cell is z = (-3, 3), decoded.
    top_left = sigmoid(model.decode(np.array([[-3.0, 3.0]], dtype="float32")))[0, ..., 0]
    np.testing.assert_allclose(latent.manifold[2:30, 2:30], top_left, atol=1e-6)


def test_a_larger_latent_space_is_mapped_by_pca_and_a_one_dimensional_one_not_at_all(digits):
    images, labels = digits
    latent = latent_map(tiny(latent_dim=5), images, labels)
    assert latent.projection.method == "pca" and latent.manifold is None and latent.points.shape == (24, 2)
    assert latent_map(tiny(latent_dim=1), images, labels) is None


def test_clicking_an_images_code_decodes_its_reconstruction(digits):
    images, labels = digits
    model = tiny()
    latent = latent_map(model, images, labels)
    image, caption = decode_point(model, latent, tuple(latent.points[3]))
    np.testing.assert_allclose(image, model.reconstruct(images[3:4])[0, ..., 0], atol=1e-5)
    assert caption == "A point is the code itself"


def test_a_cvae_point_decodes_under_the_nearest_images_label(digits):
    images, labels = digits
    model = tiny(ConditionalVAE, latent_dim=3)
    latent = latent_map(model, images, labels)
    point = tuple(latent.points[4])
    image, caption = decode_point(model, latent, point)
    expected = sigmoid(model.decode(latent.code_at(point)[None, :], [labels[4]]))[0, ..., 0]
    np.testing.assert_allclose(image, expected, atol=1e-6)
    assert f"label {labels[4]}, that of the nearest mapped image" in caption


@pytest.mark.parametrize("spherical", [False, True])
def test_an_interpolation_starts_and_ends_at_the_two_reconstructions(digits, spherical):
    images, _ = digits
    model = tiny(latent_dim=4)
    codes, _ = model.encode(images[:2])
    grid = interpolation_grid(model, codes[0], codes[1], steps=6, spherical=spherical)
    assert grid.shape == (CELL + 2, 6 * CELL + 2)
    recon = model.reconstruct(images[:2])[..., 0]
    np.testing.assert_allclose(grid[2:30, 2:30], recon[0], atol=1e-5)
    np.testing.assert_allclose(grid[2:30, 5 * CELL + 2:5 * CELL + 30], recon[1], atol=1e-5)
    assert not np.allclose(grid[2:30, 2 * CELL + 2:2 * CELL + 30], recon[0], atol=1e-3)  # it moves in between


def test_one_hot_label_weights_decode_as_the_labels_and_a_blend_lies_between():
    model = tiny(ConditionalVAE, latent_dim=3)
    z = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(model.decode_label_weights(z, np.eye(10)[[2, 7]]), model.decode(z, [2, 7]), atol=1e-5)
    half = model.decode_label_weights(z[:1], 0.5 * (np.eye(10)[[2]] + np.eye(10)[[7]]))
    assert not np.allclose(half, model.decode(z[:1], [2]), atol=1e-4)
    assert not np.allclose(half, model.decode(z[:1], [7]), atol=1e-4)
    with pytest.raises(ValueError, match="sum to 1"):
        model.decode_label_weights(z, np.full((2, 10), 0.5))
    with pytest.raises(ValueError, match=r"shaped \(2, 10\)"):
        model.decode_label_weights(z, np.eye(3))


def test_the_cvae_interpolation_adds_a_row_that_morphs_the_label(digits):
    images, labels = digits
    model = tiny(ConditionalVAE, latent_dim=3)
    first, second = 0, int(np.flatnonzero(labels != labels[0])[0])
    codes, _ = model.encode(images[[first, second]], labels[[first, second]])
    grid = interpolation_grid(model, codes[0], codes[1], steps=5, labels=(int(labels[first]), int(labels[second])))
    margin = 40  # the row names on the left
    assert grid.shape == (2 * CELL + 2, margin + 5 * CELL + 2)
    cell = lambda row, col: grid[2 + row * CELL:row * CELL + 30, margin + 2 + col * CELL:margin + col * CELL + 30]
    recon = model.reconstruct(images[[first, second]], labels[[first, second]])[..., 0]
    np.testing.assert_allclose(cell(0, 0), recon[0], atol=1e-5)
    np.testing.assert_allclose(cell(0, 4), recon[1], atol=1e-5)
    # The second row keeps the first code: it starts at the first reconstruction and ends with
    # that code under the second image's label.
    np.testing.assert_allclose(cell(1, 0), recon[0], atol=1e-5)
    relabelled = sigmoid(model.decode(codes[:1], [labels[second]]))[0, ..., 0]
    np.testing.assert_allclose(cell(1, 4), relabelled, atol=1e-5)


def test_the_views_carry_the_interpolation_and_the_clicked_point(digits):
    images, labels = digits
    model = tiny()
    latent = latent_map(model, images, labels)
    request = ViewRequest(interpolate_from=2, interpolate_to=9, interpolation_steps=4, spherical=True,
                          map_point=(0.25, -0.5))
    views = render_views(model, request, images, labels, latent)
    assert views["interpolation"].shape == (CELL + 2, 4 * CELL + 2)
    assert views["interpolation_caption"] == ("spherical (slerp), from the code of validation image 2 "
                                              "to validation image 9")
    expected = sigmoid(model.decode(np.array([[0.25, -0.5]], dtype="float32")))[0, ..., 0]
    np.testing.assert_allclose(views["map_point"], expected, atol=1e-6)
    # Without a map (none sent yet) there is no point to decode; random ends need no images.
    views = latent_views(model, ViewRequest(interpolate_random=True, map_point=(0.0, 0.0)), images, labels, None)
    assert "map_point" not in views and "prior draw" in views["interpolation_caption"]


def test_the_run_grids_include_the_latent_map_and_the_interpolation(digits, tmp_path):
    images, labels = digits
    for latent_dim, map_width in ((2, 2 * 624), (4, 624)):
        out = tmp_path / f"z{latent_dim}"
        written = grids.write_run_grids(tiny(latent_dim=latent_dim), images, labels, out, traverse_dim=1)
        assert {out / "latent_map.png", out / "interpolation.png"} <= set(written)
        with Image.open(out / "latent_map.png") as image:  # a 5.2 x 4.6 inch figure per panel at 120 dpi
            assert image.format == "PNG" and image.size == (map_width, 552)
        with Image.open(out / "interpolation.png") as image:  # ten steps, doubled
            assert image.size == (2 * (10 * CELL + 2), 2 * (CELL + 2))


def test_a_cvae_manifold_names_its_label_in_the_caption_and_the_saved_figure(digits):
    """The grid is decoded under one class: the caption must say which before a narrow panel cuts
    it, and latent_map.png must say it too."""
    from keras_models.latent_space import latent_map_figure

    images, labels = digits
    latent = latent_map(tiny(ConditionalVAE), images, labels)
    assert latent.manifold_label == int(labels[0])
    assert latent.manifold_note.startswith(f"label {labels[0]}; ")
    titles = [ax.get_title() for ax in latent_map_figure(latent).axes]
    assert any(title.endswith(f"label {labels[0]}") for title in titles)
    assert latent_map(tiny(), images, labels).manifold_label is None


def test_each_epochs_map_follows_the_chosen_projection(digits, monkeypatch):
    from keras_models.views import epoch_pictures
    from tests.helpers import fake_umap

    fake_umap(monkeypatch)
    images, labels = digits
    model = tiny(latent_dim=4)
    latent = epoch_pictures(model, images, labels, seed=0, projection="umap").latent_map
    assert latent.projection.method == "umap" and latent.projection.axis_labels == ("UMAP 1", "UMAP 2")
    codes, _ = model.encode(images)
    np.testing.assert_allclose(latent.points, latent.projection.reducer.transform(codes), atol=1e-5)
    # A 2-D code is its own map whatever the choice.
    assert epoch_pictures(tiny(), images, labels, seed=0, projection="umap").latent_map.projection.method == "identity"
