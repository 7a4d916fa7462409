"""Data for mixae-graph: arrays, files, synthetic manifolds, scikit-learn's digits and MNIST.

Every loader returns a :class:`ClusterData`: a float32 matrix ``X`` (one row per sample),
optional int64 labels ``y`` (used only for scoring), the image shape when rows are images,
and a name for logs and plots.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import os
import tempfile
import urllib.request
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn import datasets as sk_datasets
from sklearn.utils import check_random_state

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_ENV = "MIXAE_GRAPH_MNIST"
CACHE_ENV = "MIXAE_GRAPH_CACHE"
# SHA-256 of the keras file above (the value keras itself checks).
_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_MNIST_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
_LABEL_COLUMNS = ("y", "label")


@dataclass(frozen=True, eq=False)
class ClusterData:
    """A data set to cluster.

    Build one with :func:`from_arrays` (or any loader here), which validates the fields.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float32
        The samples, C-contiguous. It may share memory with the array it was made from.
    y : ndarray of shape (n_samples,), dtype int64, or None
        True class labels, when known.
    image_shape : tuple of int or None
        Shape of one sample as an image, e.g. ``(28, 28)``; its product is ``n_features``.
    name : str
        A short name for logs and plots.
    """

    X: np.ndarray
    y: np.ndarray | None
    image_shape: tuple[int, ...] | None
    name: str

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def __repr__(self) -> str:
        n_classes = None if self.y is None else len(np.unique(self.y))
        return (
            f"ClusterData(name={self.name!r}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, n_classes={n_classes}, image_shape={self.image_shape})"
        )


# ----------------------------------------------------------------------------- arrays


def from_arrays(X, y=None, image_shape=None, name="array") -> ClusterData:
    """Validate arrays and wrap them in a :class:`ClusterData`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real numbers, all finite. Converted to C-contiguous float32 (no copy if already so).
    y : array-like of shape (n_samples,), default=None
        Integer class labels (floats with integral values are accepted).
    image_shape : tuple of int, default=None
        Shape of one sample as an image; its product must equal ``n_features``.
    name : str, default="array"
        Name of the data set.

    Returns
    -------
    ClusterData

    Raises
    ------
    TypeError
        If ``X`` or ``y`` does not hold numbers, or ``X`` is a sparse matrix.
    ValueError
        If ``X`` is not 2-D, is empty, has NaN or infinite values, or ``y`` or
        ``image_shape`` do not fit ``X``.

    Examples
    --------
    >>> data = from_arrays([[0, 1], [1, 0]], y=[0, 1])
    >>> data.X.dtype, data.y.dtype
    (dtype('float32'), dtype('int64'))
    """
    X = _check_X(X)
    y = None if y is None else _check_y(y, X.shape[0])
    image_shape = None if image_shape is None else check_image_shape(image_shape, X.shape[1])
    return ClusterData(X=X, y=y, image_shape=image_shape, name=str(name))


def _check_X(X) -> np.ndarray:
    if sparse.issparse(X):
        raise TypeError("X is a sparse matrix; pass a dense array (X.toarray())")
    try:
        X = np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"X could not be made into an array: {exc}") from None
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"X must hold numbers, but it holds non-numeric objects: {exc}") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        if X.ndim == 1:
            hint = "; use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        elif X.ndim > 2:
            hint = "; flatten the samples with X.reshape(len(X), -1) and pass image_shape=X.shape[1:]"
        else:
            hint = ""
        raise ValueError(f"X must be 2-D (n_samples, n_features); got {X.ndim}-D with shape {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"X has no samples (shape {X.shape})")
    if X.shape[1] == 0:
        raise ValueError(f"X has no features (shape {X.shape})")
    with np.errstate(over="ignore"):  # values beyond float32's range become inf and are reported below
        X = np.ascontiguousarray(X, dtype=np.float32)
    bad_rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad_rows.size:
        raise ValueError(
            f"X has NaN or infinite values in {bad_rows.size} of {X.shape[0]} rows "
            f"(first: row {bad_rows[0]}); drop or impute them first"
        )
    return X


def _check_y(y, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D with one label per sample; got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} labels but X has {n_samples} samples")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"y has NaN or infinite values in {int((~np.isfinite(y)).sum())} of {n_samples} entries")
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise ValueError(f"y must hold integer class labels; got non-integer values such as {fractional[0]}")
    elif y.dtype.kind not in "biu":
        raise TypeError(
            f"y must hold integer class labels; got dtype {y.dtype} "
            "(encode other labels with np.unique(y, return_inverse=True))"
        )
    return y.astype(np.int64, copy=False)


def check_image_shape(image_shape, n_features: int) -> tuple[int, ...]:
    """``image_shape`` as a tuple of ints; a ``ValueError`` names the problem when it is not one
    or does not hold ``n_features`` values."""
    shape = np.asarray(image_shape)
    if shape.ndim != 1 or shape.size == 0 or shape.dtype.kind not in "iu" or (shape <= 0).any():
        raise ValueError(f"image_shape must be a tuple of positive integers; got {image_shape!r}")
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape {shape} has {int(np.prod(shape))} pixels per sample but X has {n_features} features"
        )
    return shape


# ----------------------------------------------------------------------------- files


def load_file(path) -> ClusterData:
    """Load a data set from a ``.npy``, ``.npz`` or ``.csv`` file.

    Parameters
    ----------
    path : str or path-like
        - ``.npy``: one 2-D array, the samples.
        - ``.npz``: array ``X`` (required), optional ``y`` and ``image_shape``; other keys are ignored.
        - ``.csv``: comma-separated numbers, one sample per line. The first line is a header when none
          of its cells is a number; a column named ``y`` or ``label`` (any case) then holds the labels.

    Returns
    -------
    ClusterData
        Named after the file's stem.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is not supported, the file is truncated or corrupt, an ``.npz`` has
        no ``X``, a ``.csv`` cell is not a number, or the arrays fail :func:`from_arrays`' checks.
    """
    path = Path(path).expanduser()
    reader = _FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(
            f"unsupported file type {path.suffix or '(none)'!r} for {path}; "
            f"supported: {', '.join(sorted(_FILE_READERS))}"
        )
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a data file")
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    return reader(path)


@contextmanager
def _reading(path: Path):
    """Report a file numpy or csv cannot parse as one ValueError that names it."""
    try:
        yield
    except PermissionError:
        raise
    except (OSError, ValueError, EOFError, csv.Error, zipfile.BadZipFile, zlib.error) as exc:
        if "allow_pickle" in str(exc):  # numpy's words for a pickle, which it would have to run
            raise ValueError(
                f"could not read {path}: it holds pickled Python objects or is not a numpy file at all; "
                "pickles are refused (read with allow_pickle=False: unpickling can run code); "
                "save plain numeric arrays"
            ) from None
        raise ValueError(f"could not read {path}: {exc}") from exc


def _read_npy(path: Path) -> ClusterData:
    with _reading(path):
        X = np.load(path, allow_pickle=False)
    if not isinstance(X, np.ndarray):  # np.load goes by content, so this was an .npz archive
        X.close()
        raise ValueError(f"could not read {path}: it is an .npz archive, not a .npy array")
    return from_arrays(X, name=path.stem)


def _read_npz(path: Path) -> ClusterData:
    keys, arrays = _read_npz_members(path, ("X", "y", "image_shape"))
    if "X" not in arrays:
        raise ValueError(f"{path} has no array named 'X'; keys found: {', '.join(keys) or 'none'}")
    return from_arrays(**arrays, name=path.stem)


def _read_npz_members(path: Path, names) -> tuple[list[str], dict[str, np.ndarray]]:
    """Return the archive's keys and those of ``names`` it holds, read into memory."""
    with _reading(path):
        archive = np.load(path, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"could not read {path}: it is a single .npy array, not an .npz archive")
    with archive, _reading(path):
        keys = list(archive.files)
        return keys, {name: archive[name] for name in names if name in keys}


def _read_csv(path: Path) -> ClusterData:
    with _reading(path), open(path, newline="", encoding="utf-8-sig") as file:
        first_row = next(csv.reader(file), None)
    if first_row is None:
        raise ValueError(f"could not read {path}: the file is empty")
    has_header = not any(_is_number(cell) for cell in first_row)
    names = [cell.strip() for cell in first_row] if has_header else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data", reported below
        try:
            values = np.loadtxt(
                path, delimiter=",", skiprows=int(has_header), ndmin=2,
                comments=None, quotechar='"', encoding="utf-8-sig",
            )
        except ValueError as exc:
            # loadtxt's message names neither the column nor the line in the file: find them.
            with _reading(path):
                located = _csv_error(path, names, int(has_header))
            raise located or ValueError(f"could not read {path}: {exc}") from None
        except OSError as exc:
            raise ValueError(f"could not read {path}: {exc}") from exc
    if values.size == 0:
        raise ValueError(f"{path} has no data rows")

    y = None
    if names is not None:
        label_columns = [j for j, name in enumerate(names) if name.lower() in _LABEL_COLUMNS]
        if len(label_columns) > 1:
            raise ValueError(
                f"{path} has several label columns ({', '.join(names[j] for j in label_columns)}); keep one"
            )
        if label_columns:
            y = values[:, label_columns[0]]
            values = np.delete(values, label_columns[0], axis=1)
    return from_arrays(values, y, name=path.stem)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_error(path: Path, names, n_skipped: int) -> ValueError | None:
    """The first bad line of a csv file, as an error that names the column and line."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file)
        for _ in range(n_skipped):
            next(rows, None)
        n_columns = None
        for row in rows:
            line = rows.line_num
            if n_columns is None:
                n_columns = len(names) if names is not None else len(row)
            if len(row) != n_columns:
                return ValueError(f"{path}, line {line}: {len(row)} fields where {n_columns} were expected")
            for j, cell in enumerate(row):
                if not _is_number(cell):
                    column = repr(names[j]) if names is not None else f"{j} (0-based)"
                    problem = "missing value" if not cell.strip() else f"non-numeric value {cell!r}"
                    return ValueError(f"{path}, line {line}: {problem} in column {column}")
    return None


_FILE_READERS = {".csv": _read_csv, ".npy": _read_npy, ".npz": _read_npz}


# ----------------------------------------------------------------------------- synthetic manifolds


def lift(X, n_features: int, seed: int = 0) -> np.ndarray:
    """Embed low-dimensional points in ``n_features`` dimensions with a fixed smooth non-linear map.

    The map is ``[X A, sin(X B + c), tanh(X D + e)]`` followed by a random rotation, with all
    weights drawn from ``seed`` alone, so every data set lifted with one seed goes through the
    same map. The linear block ``X A`` has full column rank, so the lifted distance between two
    points is at least ``sigma_min(A)`` times their distance before: the map is an embedding and
    never folds one class onto another. The result is centred and scaled by one factor so that
    the features' variances average to 1.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_dims)
        Points to lift, best standardised (the frequencies are set for unit scale).
    n_features : int
        Output dimension, at least ``n_dims``.
    seed : int, default=0
        Seed of the map (not of the data).

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float32
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_dims); got shape {X.shape}")
    n_dims = X.shape[1]
    if n_features < n_dims:
        raise ValueError(f"n_features={n_features} is below the input dimension {n_dims}; a lift cannot reduce it")
    rng = np.random.default_rng(seed)
    n_linear = max(n_dims, n_features // 3)
    n_sin = (n_features - n_linear + 1) // 2
    n_tanh = n_features - n_linear - n_sin
    # A weak linear part and frequencies of about one period across unit-scale data make the
    # curvature clearly visible (the top two principal axes keep ~70% of the variance, not ~90%)
    # while a kNN graph (k=15) on the default moons, circles and spirals stays split by class.
    features = np.hstack([
        X @ rng.normal(scale=0.5, size=(n_dims, n_linear)),
        np.sin(X @ rng.normal(scale=1.5, size=(n_dims, n_sin)) + rng.uniform(0, 2 * np.pi, size=n_sin)),
        np.tanh(X @ rng.normal(scale=1.5, size=(n_dims, n_tanh)) + rng.normal(size=n_tanh)),
    ])  # (n_samples, n_features)
    features = features @ _random_rotation(n_features, rng)
    features -= features.mean(axis=0)
    scale = np.sqrt(features.var(axis=0).mean())
    if scale > 0:
        features /= scale
    return features.astype(np.float32)


def _random_rotation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian one, signs fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def _standardise(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _lifted(X2d, y, n_features: int, name: str) -> ClusterData:
    return from_arrays(lift(_standardise(X2d), n_features), y, name=name)


def make_moons(n_samples=1000, noise=0.05, n_features=50, random_state=0) -> ClusterData:
    """Two interleaving half circles, lifted into ``n_features`` dimensions.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, split evenly between the two moons.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added in 2-D (moon radius 1).
    n_features : int, default=50
        Dimension after :func:`lift`.
    random_state : int, RandomState or None, default=0
        Seed of the 2-D points; the lift is the same for every seed.

    Returns
    -------
    ClusterData
        Labels 0 and 1 in ``y``.

    See Also
    --------
    sklearn.datasets.make_moons : the 2-D data.
    """
    X2d, y = sk_datasets.make_moons(n_samples, noise=noise, random_state=random_state)
    return _lifted(X2d, y, n_features, "moons")


def make_circles(n_samples=1000, noise=0.05, factor=0.5, n_features=50, random_state=0) -> ClusterData:
    """Two concentric circles, lifted into ``n_features`` dimensions.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, split evenly between the circles.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added in 2-D (outer radius 1).
    factor : float, default=0.5
        Radius of the inner circle relative to the outer one.
    n_features : int, default=50
        Dimension after :func:`lift`.
    random_state : int, RandomState or None, default=0
        Seed of the 2-D points; the lift is the same for every seed.

    Returns
    -------
    ClusterData
        Labels 0 (outer) and 1 (inner) in ``y``.

    See Also
    --------
    sklearn.datasets.make_circles : the 2-D data.
    """
    X2d, y = sk_datasets.make_circles(n_samples, noise=noise, factor=factor, random_state=random_state)
    return _lifted(X2d, y, n_features, "circles")


def make_spirals(n_samples=1000, noise=0.05, n_turns=1.25, n_features=50, random_state=0) -> ClusterData:
    """Two interleaved Archimedean spirals, lifted into ``n_features`` dimensions.

    Each arm starts a quarter turn from the centre and winds ``n_turns`` times; the two arms are
    point reflections of each other, 0.5 apart (the gap of the moons and circles), and points
    are spread about evenly along them.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, split evenly between the spirals.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added in 2-D.
    n_turns : float, default=1.25
        Turns of each arm. More turns at a fixed ``n_samples`` thin the arms out until a kNN
        graph bridges them (with k=15 and 1000 points, from about 1.5 turns).
    n_features : int, default=50
        Dimension after :func:`lift`.
    random_state : int, RandomState or None, default=0
        Seed of the 2-D points; the lift is the same for every seed.

    Returns
    -------
    ClusterData
        Labels 0 and 1 in ``y``.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2 (one per spiral); got {n_samples}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative; got {noise}")
    if n_turns <= 0:
        raise ValueError(f"n_turns must be positive; got {n_turns}")
    rng = check_random_state(random_state)
    y = np.repeat([0, 1], [n_samples // 2, n_samples - n_samples // 2])
    start = np.pi / 2
    stop = start + 2 * np.pi * n_turns
    # Arc length grows about as angle**2, so sampling angle**2 uniformly spreads points evenly.
    angle = np.sqrt(start**2 + rng.uniform(size=n_samples) * (stop**2 - start**2))
    radius = angle / (2 * np.pi)  # arms of one spiral 1 apart, so the other spiral's arm is 0.5 away
    X2d = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X2d[y == 1] *= -1
    X2d += rng.normal(scale=noise, size=X2d.shape)
    order = rng.permutation(n_samples)
    return _lifted(X2d[order], y[order], n_features, "spirals")


# ----------------------------------------------------------------------------- real data


def make_regimes(n_samples=2000, noise=0.05, n_features=10, random_state=0):
    """A regression with regimes: four manifolds in 2-D (two interleaving half circles, a ring, a
    blob), lifted into ``n_features`` dimensions, each with its own linear function of the 2-D
    position as the target (plus Gaussian ``noise``). A clustering that follows the manifolds can
    route each point to the model of its regime; centroids cut the interleaving half circles.

    Returns
    -------
    sklearn.utils.Bunch
        ``X`` (n_samples // 4 * 4, n_features) float32, ``target`` float64, ``regime`` (0-3, the
        manifold of each point) and ``coordinates``, the 2-D positions, for pictures.
    """
    from sklearn.datasets import make_moons as _moons
    from sklearn.utils import Bunch

    rng = np.random.default_rng(random_state)
    per = n_samples // 4
    moons, side = _moons(2 * per, noise=noise, random_state=random_state)
    angle = rng.uniform(0, 2 * np.pi, per)
    ring = np.c_[4.5 + np.cos(angle), 0.25 + np.sin(angle)] + rng.normal(0, noise, (per, 2))
    blob = rng.normal([-3.0, 0.25], 0.3, (per, 2))
    coordinates = np.vstack([moons, ring, blob])
    regime = np.concatenate([side, np.full(per, 2), np.full(per, 3)])
    slopes = np.array([[3.0, 0.0], [-3.0, 1.0], [0.0, 2.0], [-1.0, -2.0]])
    offsets = np.array([0.0, 2.0, -1.0, 1.0])
    target = np.einsum("ij,ij->i", coordinates, slopes[regime]) + offsets[regime]
    target = target + rng.normal(0, noise, len(target))
    return Bunch(X=lift(_standardise(coordinates), n_features), target=target, regime=regime,
                 coordinates=coordinates)


def load_digits() -> ClusterData:
    """scikit-learn's 1797 handwritten digits (8x8 images), scaled to [0, 1].

    Returns
    -------
    ClusterData
        ``X`` of shape (1797, 64), labels 0-9, ``image_shape=(8, 8)``.
    """
    bunch = sk_datasets.load_digits()
    return from_arrays(bunch.data / 16.0, bunch.target, image_shape=(8, 8), name="digits")


def load_mnist(path=None, cache_dir=None, download=True) -> ClusterData:
    """MNIST handwritten digits (28x28), grey levels in [0, 1].

    Looks, in this order, at ``path``; the file named by the environment variable
    ``MIXAE_GRAPH_MNIST``; ``mnist.npz`` in the cache folder. If none is found and ``download``
    is true, downloads keras' ``mnist.npz`` (all 70,000 digits, training set first) into the cache
    folder, checking its SHA-256.

    Parameters
    ----------
    path : str or path-like, default=None
        An ``.npz`` holding ``X`` (n, 784) and ``y``, or keras' file with ``x_train``,
        ``y_train``, ``x_test`` and ``y_test``. Integer pixels are divided by 255.
    cache_dir : str or path-like, default=None
        Cache folder; defaults to ``$MIXAE_GRAPH_CACHE``, else ``~/.cache/mixae_graph``.
    download : bool, default=True
        Whether to download the file when no copy is found.

    Returns
    -------
    ClusterData
        ``X`` of shape (n, 784), labels 0-9, ``image_shape=(28, 28)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``$MIXAE_GRAPH_MNIST`` names a missing file, or no copy is found and
        none can be downloaded. The message says where to put the file.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no such MNIST file: {path}")
        return _read_mnist(path)
    env_path = os.environ.get(MNIST_ENV)
    if env_path:
        path = Path(env_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{MNIST_ENV}={env_path!r} does not name an existing file")
        return _read_mnist(path)
    cached = _cache_dir(cache_dir) / "mnist.npz"
    if cached.is_file():
        return _read_mnist(cached)
    where = (
        f"Put keras' mnist.npz (or an .npz with X and y) at {cached}, or set the environment "
        f"variable {MNIST_ENV} to its path, or pass path=..."
    )
    if not download:
        raise FileNotFoundError(f"MNIST not found and download=False. {where}")
    try:
        _download(MNIST_URL, cached, _MNIST_SHA256)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise FileNotFoundError(f"MNIST not found and downloading {MNIST_URL} failed ({exc}). {where}") from exc
    return _read_mnist(cached)


def _cache_dir(cache_dir) -> Path:
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "mixae_graph"
    return Path(cache_dir).expanduser()


def _download(url: str, dest: Path, sha256: str) -> None:
    """Fetch ``url`` into ``dest`` through a temporary file, so a failure leaves no partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"checksum mismatch: got SHA-256 {digest.hexdigest()}, expected {sha256}")
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _read_mnist(path: Path) -> ClusterData:
    keys, arrays = _read_npz_members(path, ("X", "y") + _MNIST_KERAS_KEYS)
    if "X" in arrays:
        X, y = arrays["X"], arrays.get("y")
    elif all(key in arrays for key in _MNIST_KERAS_KEYS):
        X = np.concatenate([arrays["x_train"], arrays["x_test"]])
        y = np.concatenate([arrays["y_train"], arrays["y_test"]])
    else:
        raise ValueError(
            f"{path} is not an MNIST file: expected arrays X and y, or {', '.join(_MNIST_KERAS_KEYS)}; "
            f"keys found: {', '.join(keys) or 'none'}"
        )
    X = X.reshape(len(X), -1)
    if X.dtype.kind in "iu":  # 0-255 grey levels
        X = X.astype(np.float32)
        X /= 255
    return from_arrays(X, y, image_shape=(28, 28), name="mnist")


# ----------------------------------------------------------------------------- by name

_NAMED_LOADERS = {
    "digits": load_digits,
    "mnist": load_mnist,
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
}


def load_dataset(source, **kwargs) -> ClusterData:
    """Load a data set by name or from a file.

    Parameters
    ----------
    source : str or path-like
        One of ``"digits"``, ``"mnist"``, ``"moons"``, ``"circles"``, ``"spirals"`` (any case),
        or the path of a file that :func:`load_file` reads.
    **kwargs
        Passed to the named loader (e.g. ``n_samples`` for ``"moons"``); none for files.

    Returns
    -------
    ClusterData

    Examples
    --------
    >>> load_dataset("moons", n_samples=200).X.shape
    (200, 50)
    """
    if isinstance(source, str) and source.lower() in _NAMED_LOADERS:
        return _NAMED_LOADERS[source.lower()](**kwargs)
    path = Path(source).expanduser()
    if path.is_file():
        if kwargs:
            raise TypeError(f"loading a file takes no options; got {', '.join(sorted(kwargs))}")
        return load_file(path)
    raise ValueError(
        f"{str(source)!r} is neither a data set name ({', '.join(_NAMED_LOADERS)}) nor an existing file"
    )
