"""The shapes set: sprite rendering, placement, downsampling, the disk cache and the DataSplit wiring."""
import time

import numpy as np
import pytest

from keras_models.data import shapes


@pytest.fixture(scope="session")
def shapes_cache(tmp_path_factory):
    """One full 28 × 28 build (about 580 MB, a few seconds), shared by the tests and deleted
    afterwards. It lies where ``XDG_CACHE_HOME=<root>`` would look for it."""
    root = tmp_path_factory.mktemp("xdg_cache")
    cache_dir = root / "vae-studio" / "shapes"
    shapes.build_shapes(28, cache_dir)
    yield cache_dir
    for path in cache_dir.iterdir():
        path.unlink()


def centroid(image: np.ndarray) -> np.ndarray:
    """(row, column) centre of mass of one grey image."""
    rows, columns = np.indices(image.shape)
    mass = image.astype("float64").sum()
    return np.array([(rows * image).sum(), (columns * image).sum()]) / mass


# ----- sprites --------------------------------------------------------------------------------------
def test_factor_grid_description():
    assert shapes.factor_names == ("shape", "scale", "orientation", "x_position", "y_position")
    assert shapes.factor_sizes == (3, 6, 40, 32, 32)
    assert shapes.NUM_IMAGES == 737_280


def test_render_sprite_is_deterministic_and_binary():
    first = shapes.render_sprite(2, 3, 17)
    assert first.shape == (shapes.SPRITE_SIDE, shapes.SPRITE_SIDE) and first.dtype == bool
    np.testing.assert_array_equal(first, shapes.render_sprite(2, 3, 17))


def test_the_three_shapes_differ_at_every_scale():
    for scale in range(6):
        sprites = [shapes.render_sprite(shape, scale, 0) for shape in range(3)]
        for a in range(3):
            for b in range(a + 1, 3):
                assert np.sum(sprites[a] != sprites[b]) > 5, (scale, a, b)


def test_scale_is_monotonic_in_pixel_count():
    for shape in range(3):
        for orientation in (0, 7, 23):
            counts = [shapes.render_sprite(shape, scale, orientation).sum() for scale in range(6)]
            assert all(a < b for a, b in zip(counts, counts[1:])), (shape, orientation, counts)


def test_orientations_span_one_symmetry_period_without_repeats():
    for shape in range(3):
        sprites = {shapes.render_sprite(shape, 5, o).tobytes() for o in range(40)}
        assert len(sprites) == 40, shapes.shape_names[shape]
    # The square's period is a quarter turn, so step 20 turns it 45°: a diamond, widest in
    # its middle row. The ellipse's period is half a turn, so step 20 turns it 90°.
    square, diamond = shapes.render_sprite(0, 5, 0), shapes.render_sprite(0, 5, 20)
    np.testing.assert_array_equal(diamond, diamond.T)
    assert diamond[16].sum() > square[16].sum() + 6
    ellipse, turned = shapes.render_sprite(1, 5, 0), shapes.render_sprite(1, 5, 20)
    np.testing.assert_array_equal(turned, ellipse.T)


def test_sprites_fit_their_box_at_every_orientation():
    # No lit pixel lies farther than 16 from the centre, so nothing reaches past the box's
    # half-width of 16.5 and no sprite is cut off at the image border at any position.
    rows, columns = np.indices((shapes.SPRITE_SIDE, shapes.SPRITE_SIDE)) - (shapes.SPRITE_SIDE - 1) / 2
    distance = np.hypot(rows, columns)
    for shape in range(3):
        farthest = max(distance[shapes.render_sprite(shape, 5, o)].max() for o in range(40))
        assert 15 < farthest <= shapes.FULL_RADIUS, shapes.shape_names[shape]


def test_render_sprite_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match="orientation index must be in 0..39, got 40"):
        shapes.render_sprite(0, 0, 40)


# ----- placing and downsampling ------------------------------------------------------------------------
def test_x_and_y_positions_move_the_centroid():
    base = np.array([[2, 4, 9, 0, 0]])
    moved_x, moved_y = base + [0, 0, 0, 5, 0], base + [0, 0, 0, 0, 3]
    images = shapes.render_images(np.concatenate([base, moved_x, moved_y]), 64)
    start, after_x, after_y = (centroid(image) for image in images)
    np.testing.assert_allclose(after_x - start, [0, 5])  # one pixel per step, columns
    np.testing.assert_allclose(after_y - start, [3, 0])  # rows, downwards
    assert (images == 0).sum() + (images == 255).sum() == images.size  # binary


def test_28_pixel_images_shift_7_pixels_for_16_position_steps():
    factors = np.array([[0, 5, 3, 2, 4], [0, 5, 3, 18, 4], [0, 5, 3, 2, 20]])
    start, right, down = shapes.render_images(factors, 28)
    np.testing.assert_array_equal(right[:, 7:], start[:, :-7])
    np.testing.assert_array_equal(down[7:], start[:-7])


def test_downsampling_keeps_the_mass():
    factors = shapes.sample_factors(50, np.random.default_rng(3))
    full, small = shapes.render_images(factors, 64), shapes.render_images(factors, 28)
    np.testing.assert_array_equal(shapes.downsample(full), small)
    full_mass = full.reshape(50, -1).sum(axis=1) / 255 / 64 ** 2
    small_mass = small.reshape(50, -1).sum(axis=1) / 255 / 28 ** 2
    # Equal but for rounding each of the 784 grey levels to 1/255.
    np.testing.assert_allclose(small_mass, full_mass, atol=0.5 / 255)
    assert small.max() == 255 and 0 < np.mean((small > 0) & (small < 255))  # edges become grey


def test_sample_factors_can_hold_one_factor_fixed():
    rng = np.random.default_rng(0)
    factors = shapes.sample_factors(200, rng, fixed_factor=2)
    assert factors.shape == (200, 5) and len(np.unique(factors[:, 2])) == 1
    assert all(len(np.unique(factors[:, i])) > 1 for i in (0, 1, 3, 4))
    assert np.all(factors < np.array(shapes.factor_sizes)) and np.all(factors >= 0)
    images = shapes.sample_images(8, rng, fixed_factor=0, size=64)
    assert images.shape == (8, 64, 64, 1) and images.dtype == np.float32 and images.max() == 1.0


def test_render_images_rejects_bad_input():
    with pytest.raises(ValueError, match="rendered at 28 or 64 pixels, got 32"):
        shapes.render_images(np.zeros((1, 5), int), 32)
    with pytest.raises(ValueError, match="out of range"):
        shapes.render_images(np.array([[3, 0, 0, 0, 0]]), 28)


# ----- the full set and its cache ---------------------------------------------------------------------
def test_build_matches_rendering_rows_in_factor_order(shapes_cache):
    images, factors = shapes.build_shapes(28, shapes_cache)
    assert images.shape == (737_280, 28, 28) and images.dtype == np.uint8
    assert factors.shape == (737_280, 5)
    # dSprites order: y position fastest, shape slowest.
    np.testing.assert_array_equal(factors[:3], [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 2]])
    np.testing.assert_array_equal(factors[-1], [2, 5, 39, 31, 31])
    rows = np.random.default_rng(0).choice(len(images), 500, replace=False)
    np.testing.assert_array_equal(images[rows], shapes.render_images(factors[rows], 28))


def test_cache_is_memory_mapped_and_reused(shapes_cache, monkeypatch):
    def no_rendering(*args):
        raise AssertionError("rendered again despite the cache")

    monkeypatch.setattr(shapes, "_render_block", no_rendering)
    start = time.perf_counter()
    images, _ = shapes.build_shapes(28, shapes_cache)
    assert time.perf_counter() - start < 2.0
    assert isinstance(images, np.memmap)
    assert [p.name for p in shapes_cache.iterdir()] == ["shapes-28x28-v1.npy"]  # no temporary left


def test_failed_build_leaves_no_cache(tmp_path, monkeypatch):
    calls = []

    def fail_on_second_sprite(sprite, size):
        calls.append(size)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return np.zeros((32, 32, size, size), dtype="uint8")

    monkeypatch.setattr(shapes, "_render_block", fail_on_second_sprite)
    with pytest.raises(KeyboardInterrupt):
        shapes.build_shapes(64, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_cache_of_the_wrong_shape_is_rebuilt(tmp_path, monkeypatch):
    class Rebuilt(Exception):
        pass

    def rebuild(*args):
        raise Rebuilt

    np.save(shapes.cache_path(28, tmp_path), np.zeros((10, 28, 28), dtype="uint8"))
    monkeypatch.setattr(shapes, "_render_block", rebuild)
    with pytest.raises(Rebuilt):
        shapes.build_shapes(28, tmp_path)


def test_default_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert shapes.default_cache_dir() == tmp_path / "xdg" / "vae-studio" / "shapes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert shapes.default_cache_dir() == tmp_path / "home" / ".cache" / "vae-studio" / "shapes"


# ----- the DataSplit ----------------------------------------------------------------------------------
def test_load_shapes_split_attaches_the_factors(shapes_cache):
    split = shapes.load_shapes_split(max_images=600, train_fraction=0.8, seed=1, cache_dir=shapes_cache)
    assert split.name == "shapes" and split.image_shape == (28, 28, 1)
    assert len(split.train_x) == 480 and len(split.val_x) == 120
    assert split.train_x.dtype == np.float32 and 0 <= split.train_x.min() and split.train_x.max() == 1
    assert split.factor_names == shapes.factor_names
    for images, labels, factors in ((split.train_x, split.train_y, split.train_factors),
                                    (split.val_x, split.val_y, split.val_factors)):
        assert factors.shape == (len(images), 5)
        np.testing.assert_array_equal(labels, factors[:, 0])  # the shape is the class label
        np.testing.assert_array_equal(images[..., 0], shapes.render_images(factors, 28) / np.float32(255))
    seen = {tuple(f) for f in split.train_factors}
    assert not any(tuple(f) in seen for f in split.val_factors)
    again = shapes.load_shapes_split(max_images=600, train_fraction=0.8, seed=1, cache_dir=shapes_cache)
    np.testing.assert_array_equal(again.val_factors, split.val_factors)
    other = shapes.load_shapes_split(max_images=600, train_fraction=0.8, seed=2, cache_dir=shapes_cache)
    assert not np.array_equal(other.val_factors, split.val_factors)
