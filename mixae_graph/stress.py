"""Stress sets for the number of clusters: Gaussian groups in a few latent dimensions, lifted into
a few hundred by :func:`mixae_graph.datasets.lift` (a fixed smooth non-linear embedding).

Each set stresses one way a count can go wrong: many small clusters (faces: 40 people x 10
photos), very unequal sizes, clusters of clusters (the tree must show both levels), touching
groups, and pure noise (one cluster). ``make_stress(name)`` builds one by name.
"""

from __future__ import annotations

import numpy as np

from .datasets import ClusterData, from_arrays, lift

LATENT_DIMS = 10  # the groups' own space, before the lift


def make_groups(sizes, spread: float = 1.0, centres=None, n_features: int = 200, random_state: int = 0,
                name: str = "groups") -> ClusterData:
    """Isotropic Gaussian groups of the given ``sizes`` (unit standard deviation) around
    ``centres`` in :data:`LATENT_DIMS` dimensions, lifted to ``n_features``.

    Parameters
    ----------
    sizes : sequence of int
        Points per group.
    spread : float, default=1.0
        Standard deviation of the random centres when ``centres`` is None: at 1 the groups overlap
        heavily, from about 4 they stand apart in 10 dimensions.
    centres : array of shape (n_groups, LATENT_DIMS), default=None
    n_features : int, default=200
    random_state : int, default=0
        Seed of the points and the centres; the lift is the same for every seed.
    """
    rng = np.random.default_rng(random_state)
    sizes = np.asarray(sizes, dtype=int)
    if centres is None:
        centres = rng.normal(scale=spread, size=(len(sizes), LATENT_DIMS))
    y = np.repeat(np.arange(len(sizes)), sizes)
    latent = centres[y] + rng.normal(size=(len(y), LATENT_DIMS))
    scale = latent.std()  # one factor for every dimension: the lift's frequencies expect unit scale
    return from_arrays(lift((latent - latent.mean(0)) / scale, n_features), y, name=name)


def _separated(n_groups: int, distance: float, rng: np.random.Generator) -> np.ndarray:
    """Random centres in LATENT_DIMS, rescaled so that the closest two lie ``distance`` apart."""
    centres = rng.normal(size=(n_groups, LATENT_DIMS))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    gaps[np.diag_indices(n_groups)] = np.inf
    return centres * distance / gaps.min()


def make_stress(name: str, random_state: int = 0) -> ClusterData:
    """One of :data:`STRESS_SETS` by name.

    ``small``: 40 groups of 10 points (closest centres 8 standard deviations apart); ``unequal``:
    8 groups of 10 to 2,000 points (closest 8 apart); ``hierarchy``: 4 families of 3 groups of
    100, groups 8 apart inside a family and families 40 apart (``y`` the 12 groups; the families
    are ``y // 3``); ``touching``: 6 groups of 300 whose closest centres are 4 standard
    deviations apart (their tails meet); ``noise``: 1,000 points of one Gaussian (one cluster).
    """
    rng = np.random.default_rng(1000 + random_state)
    if name == "small":
        return make_groups([10] * 40, centres=_separated(40, 8.0, rng), n_features=300,
                           random_state=random_state, name=name)
    if name == "unequal":
        sizes = [10, 30, 60, 150, 300, 600, 1200, 2000]
        return make_groups(sizes, centres=_separated(len(sizes), 8.0, rng), random_state=random_state, name=name)
    if name == "hierarchy":
        families = _separated(4, 40.0, rng)
        centres = np.concatenate([family + _separated(3, 8.0, rng) for family in families])
        return make_groups([100] * 12, centres=centres, random_state=random_state, name=name)
    if name == "touching":
        return make_groups([300] * 6, centres=_separated(6, 4.0, rng), random_state=random_state, name=name)
    if name == "noise":
        return make_groups([1000], centres=np.zeros((1, LATENT_DIMS)), random_state=random_state, name=name)
    raise ValueError(f"unknown stress set {name!r}; choose from {', '.join(STRESS_SETS)}")


STRESS_SETS = ("small", "unequal", "hierarchy", "touching", "noise")


# ----------------------------------------------------------------------------- image stress sets
# Built from source images the caller passes (e.g. MNIST digits): nothing is downloaded.


def _affine(image: np.ndarray, angle: float, shift=(0.0, 0.0), scale: float = 1.0) -> np.ndarray:
    """``image`` rotated by ``angle`` degrees about its centre, scaled and shifted (pixels)."""
    from scipy.ndimage import affine_transform

    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) / scale
    centre = (np.asarray(image.shape) - 1) / 2
    offset = centre - rotation @ (centre + np.asarray(shift))
    return affine_transform(image, rotation, offset=offset, order=1, mode="constant")


def make_turntable(images, image_shape, n_views: int = 72, name: str = "turntable"):
    """Every image seen from ``n_views`` angles, evenly round the circle: one closed curve per
    object, as COIL-20's 20 objects x 72 views on a turntable (neighbouring views nearly equal,
    opposite ones far apart). ``y`` is the object."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, *image_shape)
    angles = np.arange(n_views) * 360.0 / n_views
    X = np.stack([_affine(image, angle) for image in images for angle in angles])
    y = np.repeat(np.arange(len(images)), n_views)
    return from_arrays(X.reshape(len(X), -1), y, image_shape=image_shape, name=name)


def make_portraits(images, image_shape, n_photos: int = 10, random_state: int = 0, name: str = "portraits"):
    """``n_photos`` photos of every image (a "person"), each with its own small pose, scale, light
    and noise: as a face data set of 40 people x 10 photos, where two photos of one person can
    differ as much as photos of two people. ``y`` is the person."""
    rng = np.random.default_rng(random_state)
    images = np.asarray(images, dtype=np.float32).reshape(-1, *image_shape)
    photos = []
    for image in images:
        for _ in range(n_photos):
            photo = _affine(image, rng.uniform(-15, 15), rng.uniform(-1.5, 1.5, size=2), rng.uniform(0.9, 1.1))
            photo = rng.uniform(0.7, 1.0) * photo + rng.uniform(0.0, 0.1)  # light: contrast, brightness
            photos.append(np.clip(photo + rng.normal(scale=0.05, size=photo.shape), 0, 1))
    X = np.stack(photos).reshape(len(photos), -1)
    return from_arrays(X, np.repeat(np.arange(len(images)), n_photos), image_shape=image_shape, name=name)


def make_small_digits(images, y, image_shape, size: int = 16, name: str = "digits16"):
    """Every image deslanted, cropped to the box around its ink and resized to fill a ``size`` x
    ``size`` frame (longer side ``size``, aspect kept, centred), as the USPS zip code digits were
    made ("deslanted and size normalized, resulting in 16 x 16 grayscale images", Le Cun et al.
    1990): thick strokes on few pixels, where MNIST's digits sit slanted in a 20x20 box of a 28x28
    frame. ``y`` (the digits) is kept."""
    from scipy.ndimage import zoom

    images = np.asarray(images, dtype=np.float32).reshape(-1, *image_shape)
    out = np.zeros((len(images), size, size), dtype=np.float32)
    for i, image in enumerate(images):
        image = _deslant(image)
        rows, cols = np.flatnonzero(image.max(1) > 0.1), np.flatnonzero(image.max(0) > 0.1)
        if len(rows) == 0:
            continue
        ink = image[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
        small = np.clip(zoom(ink, size / max(ink.shape), order=1), 0, 1)[:size, :size]
        top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
        out[i, top: top + small.shape[0], left: left + small.shape[1]] = small
    return from_arrays(out.reshape(len(out), -1), np.asarray(y), image_shape=(size, size), name=name)


def _deslant(image: np.ndarray) -> np.ndarray:
    """``image`` sheared along its rows so that its ink's principal axis is vertical: each row
    moves sideways in proportion to its height above the ink's centre of mass, by the covariance
    of the ink's row and column over the variance of its row (the second moments)."""
    from scipy.ndimage import affine_transform

    total = image.sum()
    if total <= 0:
        return image
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    centre = np.array([(rows * image).sum(), (cols * image).sum()]) / total
    var_row = (((rows - centre[0]) ** 2) * image).sum() / total
    cov = ((rows - centre[0]) * (cols - centre[1]) * image).sum() / total
    slant = cov / var_row if var_row > 0 else 0.0
    shear = np.array([[1.0, 0.0], [slant, 1.0]])  # output (r, c) reads input (r, c + slant (r - r0))
    offset = centre - shear @ centre
    return affine_transform(image, shear, offset=offset, order=1, mode="constant")
