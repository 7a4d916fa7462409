"""Tests for the stress sets (mixae_graph.stress): the shapes and labels they promise."""

import numpy as np
import pytest

from mixae_graph.stress import STRESS_SETS, make_portraits, make_small_digits, make_stress, make_turntable


def bar_images(n=3, size=12):
    """``n`` images of a 4x4 square in different corners: rotation moves their pixels."""
    images = np.zeros((n, size, size), dtype=np.float32)
    corners = [(1, 1), (1, size - 5), (size - 5, 1)]
    for i in range(n):
        r, c = corners[i]
        images[i, r:r + 4, c:c + 4] = 1.0
    return images.reshape(n, -1)


@pytest.mark.parametrize("name", STRESS_SETS)
def test_stress_sets_have_their_groups(name):
    data = make_stress(name)
    groups = {"small": 40, "unequal": 8, "hierarchy": 12, "touching": 6, "noise": 1}[name]
    assert len(np.unique(data.y)) == groups and len(data.X) == len(data.y)
    assert np.isfinite(data.X).all()


def test_turntable_views_go_round_the_circle():
    images = bar_images()
    data = make_turntable(images, (12, 12), n_views=8)
    assert data.X.shape == (24, 144) and data.image_shape == (12, 12)
    np.testing.assert_array_equal(data.y, np.repeat([0, 1, 2], 8))
    views = data.X.reshape(3, 8, 144)
    np.testing.assert_allclose(views[:, 0], images, atol=1e-6)  # angle 0 is the image itself
    # neighbouring views are closer than opposite ones (a closed curve per object)
    near = np.linalg.norm(views[:, 1] - views[:, 0], axis=1)
    far = np.linalg.norm(views[:, 2] - views[:, 0], axis=1)
    assert np.all(near < far)


def test_portraits_vary_each_person_and_keep_pixels_in_range():
    images = bar_images()
    data = make_portraits(images, (12, 12), n_photos=5, random_state=0)
    np.testing.assert_array_equal(data.y, np.repeat([0, 1, 2], 5))
    assert data.X.min() >= 0 and data.X.max() <= 1
    photos = data.X.reshape(3, 5, 144)
    assert np.all(np.linalg.norm(np.diff(photos, axis=1), axis=2) > 0)  # no two photos alike
    # a photo is nearer its own person's image than the other people's
    distance = np.linalg.norm(photos[:, :, None] - images[None, None], axis=3)  # (person, photo, image)
    assert np.all(distance.argmin(2) == np.arange(3)[:, None])
    again = make_portraits(images, (12, 12), n_photos=5, random_state=0)
    np.testing.assert_array_equal(again.X, data.X)


def test_small_digits_fill_their_frame():
    # a 4-wide, 8-tall stroke in a 28x28 frame becomes 8 wide and 16 tall, centred in 16x16
    images = np.zeros((2, 28, 28), dtype=np.float32)
    images[0, 5:13, 3:7] = 1.0
    images[1, 20:28, 20:24] = 0.5
    data = make_small_digits(images.reshape(2, -1), np.array([7, 1]), (28, 28))
    assert data.X.shape == (2, 256) and data.image_shape == (16, 16)
    np.testing.assert_array_equal(data.y, [7, 1])
    for image, ink in zip(data.X.reshape(2, 16, 16), (1.0, 0.5)):
        rows, cols = np.flatnonzero(image.max(1) > 0.1), np.flatnonzero(image.max(0) > 0.1)
        assert (rows[0], rows[-1]) == (0, 15) and (cols[0], cols[-1]) == (4, 11)  # full height, centred
        assert abs(image.max() - ink) < 1e-6 and image.min() >= 0
    # where the stroke sat in its frame no longer matters
    np.testing.assert_allclose(data.X[0] * 0.5, data.X[1], atol=1e-6)


def test_small_digits_are_deslanted():
    # a stroke leaning 45 degrees comes out upright: tall and narrow, not a filled diagonal
    image = np.zeros((28, 28), dtype=np.float32)
    for r in range(6, 22):
        image[r, 27 - r - 2: 27 - r + 1] = 1.0
    data = make_small_digits(image.reshape(1, -1), np.array([1]), (28, 28))
    small = data.X.reshape(16, 16)
    cols = np.flatnonzero(small.max(0) > 0.1)
    assert cols[-1] - cols[0] + 1 <= 6
    assert np.flatnonzero(small.max(1) > 0.1).size == 16
