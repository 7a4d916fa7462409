import hashlib
import io
import urllib.error
import urllib.request

import numpy as np
import pytest
from scipy import sparse
from scipy.spatial.distance import pdist
from sklearn import datasets as sk_datasets
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import kneighbors_graph

from mixae_graph import datasets
from mixae_graph.datasets import (
    ClusterData,
    from_arrays,
    lift,
    load_dataset,
    load_digits,
    load_file,
    load_mnist,
    make_circles,
    make_moons,
    make_spirals,
)


X_SMALL = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
Y_SMALL = np.array([0, 1, 1, 0])


@pytest.fixture(autouse=True)
def no_network_no_user_env(monkeypatch, tmp_path):
    """No test may reach the network, the user's MNIST setting or ~/.cache."""

    def no_urlopen(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_urlopen)
    monkeypatch.delenv(datasets.MNIST_ENV, raising=False)
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "default_cache"))


# ----------------------------------------------------------------------------- from_arrays


def test_from_arrays_converts_to_float32_c_contiguous_and_int64_labels():
    X = np.asfortranarray(X_SMALL)
    data = from_arrays(X, y=[0.0, 1.0, 1.0, 0.0], image_shape=np.array([1, 3]), name="tiny")
    assert isinstance(data, ClusterData)
    assert data.X.dtype == np.float32 and data.X.flags.c_contiguous
    np.testing.assert_allclose(data.X, X_SMALL, rtol=1e-6)
    assert data.y.dtype == np.int64
    np.testing.assert_array_equal(data.y, Y_SMALL)
    assert data.image_shape == (1, 3) and all(type(s) is int for s in data.image_shape)
    assert data.name == "tiny"
    assert (data.n_samples, data.n_features) == (4, 3)
    assert "n_samples=4" in repr(data)


def test_from_arrays_accepts_integer_lists_and_no_labels():
    data = from_arrays([[1, 2], [3, 4]])
    assert data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    assert data.y is None and data.image_shape is None and data.name == "array"


def test_cluster_data_is_frozen():
    data = from_arrays(X_SMALL)
    with pytest.raises(AttributeError):
        data.name = "other"


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([["a", "b"], ["c", "d"]], TypeError, "real numbers.*<U1"),
        (np.array([[1.0, {}]], dtype=object), TypeError, "non-numeric"),
        (np.array([[1 + 2j, 3]]), TypeError, "complex"),
        (sparse.csr_matrix(np.eye(3)), TypeError, "sparse"),
        (np.ones(5), ValueError, r"2-D.*got 1-D.*\(5,\).*reshape\(-1, 1\)"),
        (np.ones((5, 4, 4)), ValueError, r"got 3-D.*\(5, 4, 4\).*image_shape"),
        (np.ones((0, 3)), ValueError, "no samples"),
        (np.ones((3, 0)), ValueError, "no features"),
    ],
)
def test_from_arrays_rejects_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        from_arrays(X)


def test_from_arrays_counts_rows_with_nan_or_inf():
    X = np.ones((6, 3))
    X[1, 0] = np.nan
    X[1, 2] = np.inf  # same row: counted once
    X[4, 1] = -np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite values in 2 of 6 rows \(first: row 1\)"):
        from_arrays(X)


def test_from_arrays_reports_float32_overflow_as_infinite():
    with pytest.raises(ValueError, match="infinite values in 1 of 2 rows"):
        from_arrays([[1.0, 1e39], [0.0, 0.0]])


@pytest.mark.parametrize(
    "y, error, match",
    [
        ([0, 1, 1], ValueError, "y has 3 labels but X has 4 samples"),
        (np.zeros((4, 1)), ValueError, r"1-D.*\(4, 1\)"),
        ([0, 0.5, 1, 1], ValueError, "non-integer values such as 0.5"),
        ([0, np.nan, 1, 1], ValueError, "NaN or infinite values in 1 of 4"),
        (["a", "b", "a", "b"], TypeError, "integer class labels.*np.unique"),
    ],
)
def test_from_arrays_rejects_bad_y(y, error, match):
    with pytest.raises(error, match=match):
        from_arrays(X_SMALL, y=y)


@pytest.mark.parametrize(
    "image_shape, match",
    [
        ((2, 2), r"image_shape \(2, 2\) has 4 pixels per sample but X has 3 features"),
        ((3, 0), "positive integers"),
        ((1.5, 2), "positive integers"),
    ],
)
def test_from_arrays_rejects_bad_image_shape(image_shape, match):
    with pytest.raises(ValueError, match=match):
        from_arrays(X_SMALL, image_shape=image_shape)


# ----------------------------------------------------------------------------- load_file


def test_load_npy(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, X_SMALL)
    data = load_file(path)
    np.testing.assert_allclose(data.X, X_SMALL, rtol=1e-6)
    assert data.X.dtype == np.float32
    assert data.y is None and data.image_shape is None and data.name == "points"


def test_load_npz_with_labels_and_image_shape(tmp_path):
    path = tmp_path / "imgs.npz"
    np.savez(path, X=X_SMALL, y=Y_SMALL, image_shape=np.array([3, 1]), extra=np.zeros(2))
    data = load_file(str(path))
    np.testing.assert_allclose(data.X, X_SMALL, rtol=1e-6)
    np.testing.assert_array_equal(data.y, Y_SMALL)
    assert data.image_shape == (3, 1) and data.name == "imgs"


def test_load_npz_without_labels(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez_compressed(path, X=X_SMALL)
    data = load_file(path)
    np.testing.assert_allclose(data.X, X_SMALL, rtol=1e-6)
    assert data.y is None and data.image_shape is None


def test_load_csv_without_header(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1,2.5,3\n4, 5,-6e-1\n")
    data = load_file(path)
    np.testing.assert_allclose(data.X, [[1, 2.5, 3], [4, 5, -0.6]], rtol=1e-6)
    assert data.y is None and data.name == "plain"


def test_load_csv_with_header_and_no_label_column(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    data = load_file(path)
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])
    assert data.y is None


@pytest.mark.parametrize("label_name", ["y", "label", "Label"])
def test_load_csv_label_column_becomes_y(tmp_path, label_name):
    path = tmp_path / "labelled.csv"
    path.write_text(f"a,{label_name},b\n1.5,0,2\n3.5,2,4\n5.5,1,6\n")
    data = load_file(path)
    np.testing.assert_array_equal(data.X, [[1.5, 2], [3.5, 4], [5.5, 6]])
    np.testing.assert_array_equal(data.y, [0, 2, 1])
    assert data.y.dtype == np.int64


def test_load_file_missing_names_path(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_file(path)


def test_load_file_unknown_extension_lists_supported(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"whatever")
    with pytest.raises(ValueError, match=r"'\.parquet'.*supported: \.csv, \.npy, \.npz"):
        load_file(path)


def test_load_npz_without_X_lists_keys(tmp_path):
    path = tmp_path / "wrong.npz"
    np.savez(path, data=X_SMALL, labels=Y_SMALL)
    with pytest.raises(ValueError, match="no array named 'X'; keys found: data, labels"):
        load_file(path)


def test_load_truncated_npy(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((100, 10)))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"could not read .*cut\.npy: "):
        load_file(path)


def test_load_truncated_npz(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, X=np.ones((100, 10)))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"could not read .*cut\.npz: "):
        load_file(path)


def test_load_npz_with_corrupt_member(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.ones((100, 10)))
    raw = bytearray(path.read_bytes())
    raw[200:260] = bytes(60)  # inside X's data: the archive opens, the CRC check fails
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"could not read .*bad\.npz: .*CRC"):
        load_file(path)


def test_load_npy_refuses_pickled_objects(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="could not read .*allow_pickle=False"):
        load_file(path)


def test_load_npy_that_is_really_an_npz(tmp_path):
    path = tmp_path / "misnamed.npy"
    with open(path, "wb") as file:
        np.savez(file, X=X_SMALL)
    with pytest.raises(ValueError, match="could not read .*an .npz archive"):
        load_file(path)


def test_load_csv_non_numeric_cell_names_column_and_line(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("a,b,c\n1,2,3\n4,five,6\n")
    with pytest.raises(ValueError, match=r"line 3: non-numeric value 'five' in column 'b'"):
        load_file(path)


def test_load_csv_non_numeric_cell_without_header(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("1,2,3\n4,5,x\n")
    with pytest.raises(ValueError, match=r"line 2: non-numeric value 'x' in column 2 \(0-based\)"):
        load_file(path)


def test_load_csv_missing_value_and_ragged_row(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("a,b\n1,\n")
    with pytest.raises(ValueError, match=r"line 2: missing value in column 'b'"):
        load_file(path)
    path.write_text("a,b\n1,2\n3\n")  # e.g. a truncated last line
    with pytest.raises(ValueError, match=r"line 3: 1 fields where 2 were expected"):
        load_file(path)


def test_load_csv_empty_or_header_only(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValueError, match="could not read .*empty"):
        load_file(path)
    path.write_text("a,b\n")
    with pytest.raises(ValueError, match="no data rows"):
        load_file(path)


def test_load_csv_two_label_columns_is_ambiguous(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("a,y,label\n1,0,0\n")
    with pytest.raises(ValueError, match="several label columns"):
        load_file(path)


def test_load_csv_nan_rows_are_reported(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("1,2\nnan,3\n4,5\n")
    with pytest.raises(ValueError, match="NaN or infinite values in 1 of 3 rows"):
        load_file(path)


# ----------------------------------------------------------------------------- synthetic manifolds

SYNTHETIC = [make_moons, make_circles, make_spirals]


@pytest.fixture(scope="module")
def synthetic():
    return {make.__name__: make() for make in SYNTHETIC}


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_synthetic_shapes_labels_and_scale(synthetic, make):
    data = synthetic[make.__name__]
    assert data.X.shape == (1000, 50) and data.X.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(data.y), [500, 500])
    np.testing.assert_allclose(data.X.mean(axis=0), 0, atol=1e-5)
    assert data.X.var(axis=0).mean() == pytest.approx(1.0, rel=1e-4)
    assert data.image_shape is None
    assert data.name == make.__name__.removeprefix("make_")
    assert 0.3 < data.y[:100].mean() < 0.7  # classes are shuffled, not in blocks


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_knn_graph_keeps_classes_apart(synthetic, make):
    data = synthetic[make.__name__]
    graph = kneighbors_graph(data.X, 15).tocoo()
    cross = np.mean(data.y[graph.row] != data.y[graph.col])
    assert cross < 0.005


@pytest.mark.parametrize("make", [make_moons, make_circles], ids=lambda f: f.__name__)
def test_kmeans_cannot_separate_lifted_classes(synthetic, make):
    data = synthetic[make.__name__]
    labels = KMeans(2, n_init=10, random_state=0).fit_predict(data.X)
    assert adjusted_rand_score(data.y, labels) < 0.6


@pytest.mark.parametrize("make", SYNTHETIC, ids=lambda f: f.__name__)
def test_lift_is_non_linear(synthetic, make):
    # A linear map would keep all the variance in two principal axes.
    pca = PCA(2).fit(synthetic[make.__name__].X)
    assert pca.explained_variance_ratio_.sum() < 0.85


def test_lift_is_a_fixed_map_independent_of_random_state():
    for random_state in (0, 7):
        X2d, y = sk_datasets.make_moons(300, noise=0.05, random_state=random_state)
        expected = lift(datasets._standardise(X2d), 50, seed=0)
        data = make_moons(300, random_state=random_state)
        np.testing.assert_array_equal(data.X, expected)
        np.testing.assert_array_equal(data.y, y)
    X = np.random.default_rng(0).normal(size=(50, 2))
    np.testing.assert_array_equal(lift(X, 20, seed=0), lift(X, 20, seed=0))
    assert not np.allclose(lift(X, 20, seed=0), lift(X, 20, seed=1))


@pytest.mark.parametrize("n_features", [2, 3, 50, 200])
def test_lift_does_not_fold(n_features):
    # Distances may stretch by different amounts but none may collapse: the ratio of lifted to
    # original distance stays within a small band over all pairs.
    X = datasets._standardise(sk_datasets.make_moons(300, noise=0.05, random_state=0)[0])
    Z = lift(X, n_features)
    assert Z.shape == (300, n_features)
    ratio = pdist(Z) / pdist(X)
    assert ratio.max() / ratio.min() < 15


def test_lift_rejects_fewer_features_than_input_dimensions():
    with pytest.raises(ValueError, match="n_features=1 is below the input dimension 2"):
        lift(np.zeros((5, 2)), 1)


def test_make_spirals_geometry_before_lift(monkeypatch):
    captured = {}
    monkeypatch.setattr(datasets, "_lifted", lambda X2d, y, n_features, name: captured.update(X=X2d, y=y))
    make_spirals(400, noise=0.0, n_turns=1.0, random_state=0)
    X2d, y = captured["X"], captured["y"]
    radius = np.linalg.norm(X2d, axis=1)
    assert radius.min() >= 0.25 - 1e-9 and radius.max() <= 1.25 + 1e-9
    # The two spirals are point reflections of each other: reflecting class 1 lands on class 0's curve.
    angle = np.arctan2(X2d[:, 1], X2d[:, 0])
    unwrapped = 2 * np.pi * radius - angle  # a multiple of 2*pi on class 0's arm
    on_arm0 = np.abs(np.angle(np.exp(1j * unwrapped)))
    assert on_arm0[y == 0].max() < 1e-6
    assert on_arm0[y == 1].min() > np.pi - 1e-6


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_samples": 1}, "at least 2"), ({"noise": -0.1}, "non-negative"), ({"n_turns": 0}, "positive")],
)
def test_make_spirals_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_spirals(**kwargs)


# ----------------------------------------------------------------------------- digits and MNIST


def test_load_digits():
    data = load_digits()
    assert data.X.shape == (1797, 64) and data.X.dtype == np.float32
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    assert data.image_shape == (8, 8) and data.name == "digits"
    np.testing.assert_array_equal(np.unique(data.y), np.arange(10))


def _check_mnist10k(data):
    assert data.X.shape == (10000, 784) and data.X.dtype == np.float32
    assert data.X.min() == 0.0 and data.X.max() == 1.0
    assert data.image_shape == (28, 28) and data.name == "mnist"
    np.testing.assert_array_equal(np.bincount(data.y), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])


def test_load_mnist_from_path(mnist10k_path):
    _check_mnist10k(load_mnist(path=mnist10k_path))


def test_load_mnist_from_env_var(monkeypatch, mnist10k_path):
    monkeypatch.setenv(datasets.MNIST_ENV, str(mnist10k_path))
    _check_mnist10k(load_mnist(download=False))


def _write_keras_mnist(path, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    arrays["x_train"][0, 0, 0] = 255
    np.savez(path, **arrays)
    return arrays


def test_load_mnist_keras_format(tmp_path):
    arrays = _write_keras_mnist(tmp_path / "mnist.npz")
    data = load_mnist(path=tmp_path / "mnist.npz")
    assert data.X.shape == (10, 784) and data.X.dtype == np.float32
    expected = np.concatenate([arrays["x_train"], arrays["x_test"]]).reshape(10, 784) / 255
    np.testing.assert_allclose(data.X, expected, rtol=1e-6)
    assert data.X.max() == 1.0
    np.testing.assert_array_equal(data.y, np.concatenate([arrays["y_train"], arrays["y_test"]]))
    assert data.y.dtype == np.int64 and data.image_shape == (28, 28)


def test_load_mnist_from_cache_dir_and_cache_env(tmp_path, monkeypatch):
    _write_keras_mnist(tmp_path / "mnist.npz", n_train=3, n_test=2)
    assert load_mnist(cache_dir=tmp_path, download=False).X.shape == (5, 784)
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path))
    assert load_mnist(download=False).X.shape == (5, 784)


def test_load_mnist_path_wins_over_env_var(tmp_path, monkeypatch):
    _write_keras_mnist(tmp_path / "small.npz", n_train=2, n_test=1)
    _write_keras_mnist(tmp_path / "other.npz", n_train=5, n_test=5)
    monkeypatch.setenv(datasets.MNIST_ENV, str(tmp_path / "other.npz"))
    assert load_mnist(path=tmp_path / "small.npz").X.shape == (3, 784)


def test_load_mnist_missing_path_or_env_file(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no such MNIST file: .*nope.npz"):
        load_mnist(path=tmp_path / "nope.npz")
    monkeypatch.setenv(datasets.MNIST_ENV, str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError, match="MIXAE_GRAPH_MNIST=.*gone.npz.*does not name"):
        load_mnist()


def test_load_mnist_wrong_keys(tmp_path):
    np.savez(tmp_path / "other.npz", images=np.zeros((2, 784)))
    with pytest.raises(ValueError, match="not an MNIST file.*keys found: images"):
        load_mnist(path=tmp_path / "other.npz")


def test_load_mnist_download_false_never_touches_network(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("urlopen called with download=False")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(FileNotFoundError, match="download=False.*MIXAE_GRAPH_MNIST"):
        load_mnist(cache_dir=tmp_path, download=False)


def test_load_mnist_download_failure_is_clear(tmp_path):
    # The autouse fixture makes urlopen raise URLError, as when offline.
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(cache_dir=cache)
    message = str(info.value)
    assert "network disabled in tests" in message
    assert str(cache / "mnist.npz") in message and "MIXAE_GRAPH_MNIST" in message
    assert list(cache.iterdir()) == []  # no partial file left behind


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_load_mnist_downloads_into_cache(tmp_path, monkeypatch):
    _write_keras_mnist(tmp_path / "served.npz", n_train=4, n_test=3)
    payload = (tmp_path / "served.npz").read_bytes()
    requests = []

    def fake_urlopen(url, timeout):
        requests.append((url, timeout))
        return _FakeResponse(payload)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(datasets, "_MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    cache = tmp_path / "cache"
    data = load_mnist(cache_dir=cache)
    assert requests == [(datasets.MNIST_URL, 30)]
    assert data.X.shape == (7, 784)
    assert (cache / "mnist.npz").read_bytes() == payload
    assert [p.name for p in cache.iterdir()] == ["mnist.npz"]
    load_mnist(cache_dir=cache)  # second call reads the cache
    assert len(requests) == 1


def test_load_mnist_download_with_wrong_checksum_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _FakeResponse(b"not mnist"))
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match="checksum mismatch"):
        load_mnist(cache_dir=cache)
    assert list(cache.iterdir()) == []


# ----------------------------------------------------------------------------- load_dataset


def test_load_dataset_by_name_passes_options():
    data = load_dataset("Circles", n_samples=200, n_features=10)
    assert data.name == "circles" and data.X.shape == (200, 10)
    assert load_dataset("digits").X.shape == (1797, 64)
    assert load_dataset("spirals", n_samples=100).name == "spirals"
    assert load_dataset("moons", n_samples=100).name == "moons"


def test_load_dataset_mnist_and_file(tmp_path, mnist10k_path):
    assert load_dataset("mnist", path=mnist10k_path).X.shape == (10000, 784)
    path = tmp_path / "points.npy"
    np.save(path, X_SMALL)
    np.testing.assert_allclose(load_dataset(str(path)).X, X_SMALL, rtol=1e-6)
    np.testing.assert_allclose(load_dataset(path).X, X_SMALL, rtol=1e-6)
    with pytest.raises(TypeError, match="takes no options"):
        load_dataset(path, n_samples=3)


@pytest.mark.parametrize("source", ["imagenet", "missing/file.npz"])
def test_load_dataset_unknown_lists_names(source):
    with pytest.raises(ValueError, match="neither a data set name \\(digits, mnist, moons, circles, spirals\\)"):
        load_dataset(source)
