"""The image blur (``image_blur``): scipy's Gaussian filter, scaled to the image, applied in
the one place every path goes through (``standardize``)."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from mixae_graph.blur import gaussian_blur
from mixae_graph.module import MixAEGraphModule


@pytest.mark.parametrize("shape, fraction", [((28, 28), 1 / 28), ((8, 8), 0.036), ((16, 12), 0.1),
                                             ((10, 9, 3), 0.05)])
def test_blur_is_scipys_gaussian_filter_scaled_to_the_height(shape, fraction):
    rng = np.random.default_rng(0)
    images = rng.random((4, *shape))
    sigma = fraction * shape[0]
    radius = min(int(4 * sigma + 0.5), shape[0] - 1, shape[1] - 1)
    expected = gaussian_filter(images, sigma=(0, sigma, sigma, *[0] * (len(shape) - 2)), mode="mirror",
                               truncate=radius / sigma)
    got = gaussian_blur(torch.as_tensor(images.reshape(4, -1)), shape, fraction)
    np.testing.assert_allclose(got.numpy().reshape(images.shape), expected, atol=1e-12)


def test_blur_spreads_a_stroke_and_keeps_flat_images():
    stroke = torch.zeros(1, 28, 28)
    stroke[0, :, 14] = 1.0  # a vertical line one pixel wide
    blurred = gaussian_blur(stroke.reshape(1, -1), (28, 28), 1 / 28).reshape(28, 28)
    assert 0.3 < blurred[10, 14] < 0.5 and 0.2 < blurred[10, 13] < 0.3  # a 1-pixel Gaussian's profile
    np.testing.assert_allclose(blurred.sum(1), 1.0, rtol=1e-6)  # nothing lost across the row
    flat = torch.full((2, 64), 3.0)
    np.testing.assert_allclose(gaussian_blur(flat, (8, 8), 0.2), flat, rtol=1e-6)


@pytest.mark.parametrize("shape, fraction", [((8, 8), 0.0), ((64,), 0.5), ((1, 64), 0.5), ((8, 8), 0.01)])
def test_no_blur_when_it_cannot_reach_a_neighbour(shape, fraction):
    x = torch.rand(3, 64)
    assert gaussian_blur(x, shape, fraction) is x


def test_module_blurs_images_in_its_scaling_and_in_every_standardized_point():
    X = np.random.default_rng(0).random((50, 64)).astype(np.float32)
    module = MixAEGraphModule(n_features=64, image_shape=[8, 8], image_blur=0.1, trunk=dict(hidden=(16,)),
                              experts=dict(dims=None))
    assert module.hparams.image_shape == (8, 8)  # a YAML list becomes the checked tuple
    module.fit_scaling(X)
    blurred = gaussian_blur(torch.as_tensor(X), (8, 8), 0.1)
    np.testing.assert_allclose(module.feature_mean, blurred.mean(0), rtol=1e-5, atol=1e-6)
    expected = (blurred - module.feature_mean) / module.feature_scale
    np.testing.assert_allclose(module.standardize(torch.as_tensor(X)), expected, rtol=1e-5, atol=1e-5)
    for plain in (MixAEGraphModule(n_features=64, trunk=dict(hidden=(16,)), experts=dict(dims=None)),
                  MixAEGraphModule(n_features=64, image_shape=(8, 8), image_blur=0.0, trunk=dict(hidden=(16,)),
                                   experts=dict(dims=None))):  # not images; images, blur off
        plain.fit_scaling(X)
        np.testing.assert_allclose(plain.feature_mean, X.mean(0), rtol=1e-5)


def test_images_are_blurred_by_default():
    X = np.random.default_rng(0).random((50, 784)).astype(np.float32)
    module = MixAEGraphModule(n_features=784, image_shape=(28, 28), trunk=dict(hidden=(16,)),
                              experts=dict(dims=None))
    module.fit_scaling(X)
    blurred = gaussian_blur(torch.as_tensor(X), (28, 28), module.hparams.image_blur)
    assert module.hparams.image_blur > 0 and not torch.allclose(blurred, torch.as_tensor(X))
    np.testing.assert_allclose(module.feature_mean, blurred.mean(0), rtol=1e-5, atol=1e-6)


def test_image_shape_that_does_not_hold_the_features_is_refused():
    with pytest.raises(ValueError, match=r"image_shape \(8, 9\) has 72 pixels per sample but X has 64 features"):
        MixAEGraphModule(n_features=64, image_shape=(8, 9))


def test_blur_matrices_built_while_predicting_still_carry_gradients():
    x = torch.rand(4, 10 * 7, dtype=torch.float64)
    with torch.inference_mode():  # the banded matrices are cached here first
        first = gaussian_blur(x, (10, 7), 0.15)
    x.requires_grad_()
    blurred = gaussian_blur(x, (10, 7), 0.15)
    blurred.sum().backward()
    np.testing.assert_allclose(blurred.detach(), first)
    assert torch.all(x.grad > 0)  # every pixel reaches the blurred image
