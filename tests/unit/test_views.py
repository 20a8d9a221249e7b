"""What the window shows of a model, computed without Qt: epoch pictures, explorer views, the GIF."""
import numpy as np
import pytest
from PIL import Image

from keras_models import grids
from keras_models.config import ViewRequest
from keras_models.evaluation import active_units
from keras_models.models import VAE, ConditionalVAE
from keras_models.views import KL_IMAGES, PREVIEW_IMAGES, epoch_pictures, export_traversal_gif, render_views
from tests.helpers import make_digits

LATENT = 4


@pytest.fixture(scope="module")
def digits():
    return make_digits(60, seed=5)


@pytest.fixture(scope="module")
def vae():
    return VAE(latent_dim=LATENT, hidden_units=(32,), precision="float32")


@pytest.fixture(scope="module")
def cvae():
    return ConditionalVAE(latent_dim=LATENT, hidden_units=(32,), precision="float32")


def test_epoch_pictures_show_the_preview_batch_and_count_active_units_as_evaluation_does(vae, digits):
    images, labels = digits
    pictures = epoch_pictures(vae, images, labels, seed=0)
    # Originals above reconstructions: two rows of ten for each ten preview images.
    assert pictures.reconstructions.shape == (2 * (PREVIEW_IMAGES // 10) * 30 + 2, 10 * 30 + 2)
    assert pictures.samples.shape == (5 * 30 + 2, 10 * 30 + 2)
    np.testing.assert_allclose(pictures.kl_per_dim, vae.kl_per_dimension(images[:KL_IMAGES]), rtol=1e-5)
    assert pictures.active_units == active_units(vae, images[:KL_IMAGES])[0]
    # Fixed prior codes: the same seed draws the same samples.
    np.testing.assert_array_equal(pictures.samples, epoch_pictures(vae, images, labels, seed=0).samples)


def test_all_dimensions_sorted_by_kl_label_rows_in_falling_kl_order(vae, digits):
    images, labels = digits
    views = render_views(vae, ViewRequest(dim=None, sort_by_kl=True, steps=5), images, labels)
    kl = vae.kl_per_dimension(images[:KL_IMAGES])
    assert views["traversal"].shape[0] == LATENT * 30 + 2
    assert views["traversal"].shape[1] > 5 * 30 + 2  # a label margin on the left
    assert "sorted by KL" in views["traversal_caption"]
    unsorted = render_views(vae, ViewRequest(dim=None, sort_by_kl=False, steps=5), images, labels)["traversal"]
    width = 5 * 30 + 2  # the images, right of the label margin

    def image_rows(grid):
        return [grid[r * 30:(r + 1) * 30 + 2, -width:] for r in range(LATENT)]

    for row, dim in zip(image_rows(views["traversal"]), np.argsort(-kl)):
        np.testing.assert_array_equal(row, image_rows(unsorted)[dim])
    assert "classes" not in views  # a VAE has no class grids


def test_one_dimension_from_an_image_code_names_the_dimension_and_the_image(vae, digits):
    images, labels = digits
    request = ViewRequest(dim=2, base="image", image_index=7, span=2.0, steps=7)
    views = render_views(vae, request, images, labels)
    assert views["traversal"].shape == (30 + 2, 7 * 30 + 2)
    assert views["traversal_caption"].startswith("columns: z2 from -2 to 2; rows: the code of validation image 7")
    # A dimension beyond the code is clipped to the last one rather than failing.
    assert "z3 from" in render_views(vae, ViewRequest(dim=9, steps=3), images, labels)["traversal_caption"]


def test_cvae_views_add_the_chosen_classes_and_the_class_style_grid(cvae, digits):
    images, labels = digits
    views = render_views(cvae, ViewRequest(dim=0, classes=(3, 8), per_class=4, style_images=2, steps=3),
                         images, labels)
    assert views["classes"].shape == (2 * 30 + 2, 4 * 30 + 2)
    assert views["class_style"].shape == (2 * 30 + 2, 10 * 30 + 2)
    assert f"label {labels[0]}" in views["traversal_caption"]


def test_traversal_gif_has_one_frame_per_step_forward_and_back(vae, digits, tmp_path):
    images, labels = digits
    path = tmp_path / "walk.gif"
    export_traversal_gif(vae, ViewRequest(dim=None, steps=5), images, labels, path)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 * 5 - 2
