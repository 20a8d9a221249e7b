"""Image grids: layout arithmetic, one decode per grid, and PNG files."""
import numpy as np
import pytest
from PIL import Image

from keras_models import grids
from keras_models.images import PAD, PAD_VALUE, save_png, tile, to_uint8
from keras_models.models import VAE, ConditionalVAE, sigmoid
from tests.helpers import make_digits

LATENT = 4


@pytest.fixture
def vae():
    return VAE(latent_dim=LATENT, hidden_units=(32,), precision="float32")


@pytest.fixture
def cvae():
    return ConditionalVAE(latent_dim=LATENT, hidden_units=(32,), precision="float32")


@pytest.fixture
def count_decodes(monkeypatch):
    """Wrap ``model.decode`` so a test can count how many times a grid calls it."""

    def wrap(model):
        calls = []
        original = model.decode

        def counting(z, y=None):
            calls.append(len(z))
            return original(z, y)

        monkeypatch.setattr(model, "decode", counting)
        return calls

    return wrap


# ----- tile ---------------------------------------------------------------------------------------
def test_tile_layout_and_size():
    images = np.stack([np.full((3, 4), i / 10, dtype="float32") for i in range(6)])
    grid = tile(images, rows=2, cols=3)
    pad = PAD
    # height 2 * (3 + 2) + 2 = 12, width 3 * (4 + 2) + 2 = 20
    assert grid.shape == (2 * (3 + pad) + pad, 3 * (4 + pad) + pad) == (12, 20)
    for i in range(6):
        r, c = divmod(i, 3)
        top, left = pad + r * (3 + pad), pad + c * (4 + pad)
        assert np.all(grid[top:top + 3, left:left + 4] == pytest.approx(i / 10))
    # Everything outside the images is separator.
    mask = np.ones_like(grid, dtype=bool)
    for i in range(6):
        r, c = divmod(i, 3)
        top, left = pad + r * (3 + pad), pad + c * (4 + pad)
        mask[top:top + 3, left:left + 4] = False
    assert np.all(grid[mask] == pytest.approx(PAD_VALUE))
    assert mask.sum() == 12 * 20 - 6 * 12


def test_tile_accepts_a_channel_axis_and_checks_the_count():
    images = np.zeros((4, 5, 5, 1), dtype="float32")
    assert tile(images, 1, 4).shape == (9, 30)
    with pytest.raises(ValueError, match="5 images do not fill a 2 x 2 grid"):
        tile(np.zeros((5, 5, 5)), 2, 2)


def test_traversal_values():
    np.testing.assert_allclose(grids.traversal_values(3.0, 7), [-3, -2, -1, 0, 1, 2, 3])
    assert len(grids.traversal_values()) == 11


def test_prior_codes_are_fixed_by_seed():
    np.testing.assert_array_equal(grids.prior_codes(5, 3, seed=1), grids.prior_codes(5, 3, seed=1))
    assert grids.prior_codes(5, 3, seed=1).shape == (5, 3)
    assert not np.array_equal(grids.prior_codes(5, 3, seed=1), grids.prior_codes(5, 3, seed=2))


# ----- traversals --------------------------------------------------------------------------------
def cell(grid, r, c, h=28, w=28):
    top, left = PAD + r * (h + PAD), PAD + c * (w + PAD)
    return grid[top:top + h, left:left + w]


def test_traversal_grid_is_one_decode_and_sweeps_the_chosen_dimension(vae, count_decodes):
    base = grids.prior_codes(3, LATENT, seed=0)
    values = grids.traversal_values(2.0, 5)
    calls = count_decodes(vae)
    grid = grids.traversal_grid(vae, base, 1, values)
    assert calls == [15]  # one batched call for 3 rows x 5 columns
    assert grid.shape == (3 * 30 + 2, 5 * 30 + 2)
    # Row 2, column 4 is base code 2 with dimension 1 set to +2.
    code = base[2].copy()
    code[1] = 2.0
    expected = sigmoid(vae.decode(code[None]))[0, :, :, 0]
    np.testing.assert_allclose(cell(grid, 2, 4), expected, atol=1e-6)

    other = grids.traversal_grid(vae, base, 3, values)
    assert other.shape == grid.shape
    assert not np.allclose(other, grid)


def test_traversal_grid_refuses_a_missing_dimension(vae):
    with pytest.raises(ValueError, match="latent dimension 4 does not exist: the model has 4"):
        grids.traversal_grid(vae, np.zeros((1, LATENT)), LATENT, grids.traversal_values())


def test_all_dims_traversal_has_one_row_per_dimension(vae, count_decodes):
    calls = count_decodes(vae)
    values = grids.traversal_values(3.0, 6)
    grid = grids.all_dims_traversal(vae, np.zeros(LATENT), values)
    assert calls == [LATENT * 6]
    assert grid.shape == (LATENT * 30 + 2, 6 * 30 + 2)
    code = np.zeros((1, LATENT), dtype="float32")
    code[0, 2] = values[5]
    np.testing.assert_allclose(cell(grid, 2, 5), sigmoid(vae.decode(code))[0, :, :, 0], atol=1e-6)


# ----- classes (CVAE) -----------------------------------------------------------------------------
def test_class_grid_rows_are_the_requested_classes(cvae, count_decodes):
    calls = count_decodes(cvae)
    grid = grids.class_grid(cvae, [1, 4, 9], per_class=5, seed=2)
    assert calls == [15]
    assert grid.shape == (3 * 30 + 2, 5 * 30 + 2)
    codes = grids.prior_codes(5, LATENT, 2)
    for row, label in enumerate([1, 4, 9]):
        expected = sigmoid(cvae.decode(codes, label))
        for col in range(5):
            np.testing.assert_allclose(cell(grid, row, col), expected[col, :, :, 0], atol=1e-6)
    assert not np.allclose(cell(grid, 0, 0), cell(grid, 2, 0))
    with pytest.raises(ValueError, match="at least one class"):
        grids.class_grid(cvae, [])


def test_class_style_grid(cvae, count_decodes):
    images, labels = make_digits(3)
    calls = count_decodes(cvae)
    grid = grids.class_style_grid(cvae, images, labels)
    assert calls == [30]
    assert grid.shape == (3 * 30 + 2, 10 * 30 + 2)


def test_samples_and_reconstruction_grids(vae, cvae, count_decodes):
    calls = count_decodes(vae)
    assert grids.samples_grid(vae, grids.prior_codes(20, LATENT, 0), cols=10).shape == (2 * 30 + 2, 302)
    assert calls == [20]
    images, labels = make_digits(25)
    recon = grids.reconstruction_grid(vae, images, per_row=10)
    assert recon.shape == (4 * 30 + 2, 302)  # 20 images: 2 rows of originals, 2 of reconstructions
    np.testing.assert_allclose(cell(recon, 0, 3), images[3, :, :, 0])
    np.testing.assert_allclose(cell(recon, 1, 3), vae.reconstruct(images[3:4])[0, :, :, 0], atol=1e-6)
    np.testing.assert_allclose(cell(recon, 2, 0), images[10, :, :, 0])
    with pytest.raises(ValueError, match="at least 10 images"):
        grids.reconstruction_grid(vae, images[:9])
    # The CVAE gets a label per sample when none are given.
    assert grids.samples_grid(cvae, grids.prior_codes(10, LATENT, 0)).shape == (32, 302)
    assert grids.reconstruction_grid(cvae, images[:10], labels[:10]).shape == (62, 302)


def test_run_grids_names(vae, cvae):
    images, labels = make_digits(20)
    assert sorted(grids.run_grids(vae, images, labels, traverse_dim=2)) == [
        "reconstructions", "samples", "traversal_all_dims", "traversal_dim2"]
    assert sorted(grids.run_grids(cvae, images, labels, traverse_dim=0, classes=(0, 7))) == [
        "class_style", "classes_07", "reconstructions", "samples", "traversal_all_dims", "traversal_dim0"]


# ----- PNG files --------------------------------------------------------------------------------
def test_to_uint8_rounds_and_clips():
    got = to_uint8(np.array([[0.0, 0.5, 1.0, -0.2, 1.7]], dtype="float32"))
    assert got.tolist() == [[0, 128, 255, 0, 255]]
    assert to_uint8(np.zeros((2, 3)), scale=3).shape == (6, 9)


def test_save_png_reads_back_with_the_expected_size(tmp_path):
    grid = np.zeros((12, 20), dtype="float32")
    grid[0, 0] = 1.0
    grid[11, 19] = 0.5
    path = save_png(grid, tmp_path / "g.png", scale=2)
    assert path == tmp_path / "g.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "L"
        assert image.size == (40, 24)  # (width, height), scaled twice
        pixels = np.asarray(image)
    assert pixels[0:2, 0:2].tolist() == [[255, 255], [255, 255]]
    assert pixels[23, 39] == 128 and pixels[5, 5] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file left


def test_write_run_grids_writes_readable_pngs(cvae, tmp_path):
    images, labels = make_digits(20)
    written = grids.write_run_grids(cvae, images, labels, tmp_path / "out" / "grids", traverse_dim=1)
    assert len(written) == 9
    with Image.open(tmp_path / "out" / "grids" / "traversal_all_dims.gif") as gif:
        assert gif.n_frames == 2 * 11 - 2  # forward and back
    assert sorted(p.name for p in (tmp_path / "out" / "grids").iterdir()) == sorted(p.name for p in written)
    with Image.open(tmp_path / "out" / "grids" / "traversal_dim1.png") as image:
        # 8 base codes x 11 steps, doubled
        assert image.size == (2 * (11 * 30 + 2), 2 * (8 * 30 + 2))
