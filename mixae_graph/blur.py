"""Gaussian blur of flattened images: ``image_blur``, on by default for image data.

Thin strokes (a digit 1 written at two slants) share few pixels, so their codes and their kNN
links stay apart; blurred by about a pixel at MNIST's scale, they overlap. The width is a fraction
of the image's height, so that every image size gets the same smoothing relative to its content.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, image_shape: tuple[int, ...], fraction: float) -> torch.Tensor:
    """Rows ``x`` of flattened images blurred over their first two axes (height, width; any
    further axes are channels, last) by a Gaussian ``fraction`` of the height wide, borders
    mirrored. ``x`` itself when the blur or the image is too small to reach a neighbouring pixel,
    or the shape has one axis."""
    if len(image_shape) < 2:
        return x
    height, width = image_shape[:2]
    channels = math.prod(image_shape[2:])
    sigma = fraction * height
    radius = min(int(4 * sigma + 0.5), height - 1, width - 1)  # scipy's reach: 4 widths
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = (kernel / kernel.sum()).repeat(channels, 1, 1, 1)  # (channels, 1, 1, taps)
    images = x.reshape(len(x), height, width, channels).permute(0, 3, 1, 2)
    images = F.pad(images, (radius,) * 4, mode="reflect")
    images = F.conv2d(images, kernel, groups=channels)  # along rows
    images = F.conv2d(images, kernel.transpose(2, 3), groups=channels)  # along columns
    return images.permute(0, 2, 3, 1).reshape(len(x), -1)
