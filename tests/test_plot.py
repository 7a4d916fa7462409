"""The plots draw what the fitted model holds: one node per cluster, one leaf per expert, one row
per expert, a confusion matrix that counts every point once."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from conftest import FAST  # noqa: E402
from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph import plot as mplot  # noqa: E402
from mixae_graph.tree import cut_tree, leaf_slots  # noqa: E402


@pytest.fixture(scope="module")
def sample(digits):
    """600 of the 8x8 digits: the plots draw whatever a fit holds, so a short fit on a part will do
    (the quality floors are test_estimator's)."""
    return dataclasses.replace(digits, X=digits.X[:600], y=digits.y[:600])


@pytest.fixture(scope="module")
def fitted(sample):
    return MixAEGraph(**FAST, image_shape=sample.image_shape, random_state=0).fit(sample.X)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


def test_no_package_module_imports_plot():
    import ast
    from pathlib import Path

    import mixae_graph

    for path in Path(mixae_graph.__file__).parent.glob("*.py"):
        if path.name == "plot.py":
            continue
        module = ast.parse(path.read_text())
        # The command line draws its report after a fit: it may import plot there, not at the top.
        nodes = module.body if path.name == "cli.py" else ast.walk(module)
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
                assert "plot" not in names and node.module != "mixae_graph.plot", path.name
            elif isinstance(node, ast.Import):
                assert all(alias.name != "mixae_graph.plot" for alias in node.names), path.name


def test_latent_graph_data_matches_model(fitted, sample):
    data = mplot.latent_graph_data(fitted, sample.X, max_edges=500)
    n = len(sample.X)
    assert data["positions"].shape == (n, 2)
    assert fitted.embedding_ is data["positions"]  # cached on the model
    clusters, sizes = np.unique(fitted.labels_, return_counts=True)
    np.testing.assert_array_equal(data["clusters"], clusters)
    np.testing.assert_array_equal(data["sizes"], sizes)
    for c, centre in zip(clusters, data["centres"]):
        np.testing.assert_allclose(centre, np.median(data["positions"][fitted.labels_ == c], axis=0))
    assert data["knn_edges"].shape == (500, 2)
    i, j = data["knn_edges"].T
    assert np.all(i < j)
    np.testing.assert_allclose(data["knn_weights"], fitted.latent_graph_[i, j].A1)
    # Edge weights are the total kNN weight between the two clusters' points.
    a, b = data["edges"][np.argmax(data["edge_weights"])]
    block = fitted.latent_graph_[fitted.labels_ == a][:, fitted.labels_ == b]
    assert data["edge_weights"].max() == pytest.approx(block.sum())


def test_latent_graph_data_groups_by_given_labels(fitted, sample):
    halves = (np.arange(len(sample.X)) % 2).astype(int)
    data = mplot.latent_graph_data(fitted, sample.X, labels=halves)
    np.testing.assert_array_equal(data["sizes"], np.bincount(halves))
    assert data["edges"].tolist() == [[0, 1]]


def test_latent_graph_draws_one_node_per_expert(fitted, sample):
    ax = mplot.latent_graph(fitted, sample.X, max_edges=300)
    assert isinstance(ax, Axes)
    assert len(by_gid(ax, "experts").get_offsets()) == fitted.n_experts_
    assert len(by_gid(ax, "points").get_offsets()) == len(sample.X)
    assert len(by_gid(ax, "knn_edges").get_segments()) == 300
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == fitted.n_experts_


def test_latent_graph_coloured_by_classes_on_given_axes(fitted, sample):
    _, given = plt.subplots()
    ax = mplot.latent_graph(fitted, sample.X, y=sample.y, ax=given)
    assert ax is given
    assert ax.get_legend().get_title().get_text() == "class"
    assert len(ax.get_legend().get_texts()) == 10


def test_latent_graph_rejects_other_data(fitted, sample):
    with pytest.raises(ValueError, match="training data"):
        mplot.latent_graph(fitted, sample.X[:100])


def test_cluster_tree_has_one_leaf_per_expert(fitted):
    data = mplot.cluster_tree_data(fitted)
    assert data["slots"] == leaf_slots(fitted.cluster_tree_)
    assert sum(data["sizes"]) == len(fitted.labels_)
    history = fitted.cluster_tree_.graph["history"]
    assert data["n_splits"] + data["n_merges"] + len(data["first_experts"]) == len(history)
    assert data["first_experts"] == [len(history[0]["children"])]  # one first partition
    ax = mplot.cluster_tree(fitted)
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == fitted.n_experts_
    assert sorted(labels) == sorted(f"C{c} / E{s}  (n={n})" for c, s, n in
                                    zip(data["clusters"], data["slots"], data["sizes"]))
    assert len(by_gid(ax, "leaves").get_offsets()) == fitted.n_experts_


@pytest.mark.parametrize("n_clusters", [1, 3])
def test_cluster_tree_cut_separates_the_cut_clusters(fitted, n_clusters):
    data = mplot.cluster_tree_data(fitted, n_clusters=n_clusters)
    assert data["cut_clusters"] == cut_tree(fitted.cluster_tree_, n_clusters)
    heights = data["linkage"][:, 2]
    assert np.sum(heights > data["cut"]) == n_clusters - 1  # the joins undone by the cut
    ax = mplot.cluster_tree(fitted, n_clusters=n_clusters)
    cut_line = [line for line in ax.get_lines() if line.get_label() == f"cut: {n_clusters} clusters"]
    assert len(cut_line) == 1 and cut_line[0].get_ydata()[0] == data["cut"]


def test_expert_reconstructions_one_row_per_expert(fitted, sample):
    data = mplot.expert_reconstructions_data(fitted, sample.X, n_per_expert=4)
    k = fitted.n_experts_
    assert data["typical"].shape == (k, 4) and data["originals"].shape == (k, 5, 64)
    assert data["counts"].sum() == len(sample.X)
    errors = fitted.transform(sample.X)
    for e in range(k):
        members = np.flatnonzero(errors.argmin(1) == e)
        if len(members) >= 4:  # the typical ones are the expert's best, the worst its worst
            assert set(data["typical"][e]) == set(members[np.argsort(errors[members, e])[:4]])
            assert data["worst"][e] == members[np.argmax(errors[members, e])]
    # Reconstructions are in input units: close to the sample, which lie in [0, 1].
    recon = data["reconstructions"][~np.isnan(data["reconstructions"])]
    assert -0.5 < recon.min() and recon.max() < 1.5
    ax = mplot.expert_reconstructions(fitted, sample.X, (8, 8), n_per_expert=4)
    assert isinstance(ax, Axes)
    assert len(ax.get_yticks()) == k
    grid = by_gid(ax, "grid").get_array()
    assert grid.shape[0] == k * 9  # one 8-pixel row (plus a 1-pixel gap) per expert


def test_expert_reconstructions_checks_image_shape(fitted, sample):
    with pytest.raises(ValueError, match="image_shape"):
        mplot.expert_reconstructions(fitted, sample.X, (7, 7))


def test_confusion_counts_every_point_once(fitted, sample):
    data = mplot.confusion_data(fitted, sample.y)
    matrix = data["matrix"]
    assert matrix.shape == (len(np.unique(fitted.labels_)), 10)
    assert matrix.sum() == len(sample.y)
    from mixae_graph.metrics import cluster_accuracy

    # Matched pairs are on the diagonal, so its sum is the matched accuracy.
    matched = [i for i, m in enumerate(data["matched"]) if m in data["classes"]]
    diagonal = sum(matrix[i, np.searchsorted(data["classes"], data["matched"][i])] for i in matched)
    assert diagonal / len(sample.y) == pytest.approx(cluster_accuracy(sample.y, fitted.labels_))
    ax = mplot.confusion(fitted, sample.y)
    assert isinstance(ax, Axes)
    assert by_gid(ax, "confusion").get_array().shape == matrix.shape


METRICS_CSV = """epoch,experts_epoch,experts_step,step,train/seed_epoch,train/seed_step,train/total_epoch,train/total_step
0,,,0,,2.0,,
0,,,0,1.5,,,
1,,,1,,0.9,,
1,,,1,0.8,,,
2,,2.0,2,,,,3.0
2,2.0,,2,,,2.5,
3,,3.0,3,,,,1.0
3,3.0,,3,,,1.2,
"""


def test_training_curves_read_the_epoch_columns(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(METRICS_CSV)
    data = mplot.training_curves_data(path)
    assert data["source"] == "epoch" and sorted(data["losses"]) == ["seed", "total"]
    np.testing.assert_array_equal(data["losses"]["seed"][0], [0, 1])
    np.testing.assert_allclose(data["losses"]["seed"][1], [1.5, 0.8])
    np.testing.assert_allclose(data["losses"]["total"][1], [2.5, 1.2])
    np.testing.assert_allclose(data["experts"][1], [2.0, 3.0])

    ax = mplot.training_curves(path)
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    for part, (epochs, values) in data["losses"].items():
        line = by_gid(ax, f"loss/{part}")
        np.testing.assert_array_equal(line.get_xdata(), epochs)
        np.testing.assert_allclose(line.get_ydata(), values)
    assert len(ax.get_lines()) == 2  # one per loss part
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    (experts,) = twin.get_lines()
    np.testing.assert_allclose(experts.get_ydata(), [2.0, 3.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["seed", "total", "experts"]


def test_training_curves_fall_back_to_step_columns(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train/trunk,experts\n0,0,1.0,\n0,1,3.0,\n1,2,-0.5,2\n")
    data = mplot.training_curves_data(path)
    assert data["source"] == "step"
    np.testing.assert_allclose(data["losses"]["trunk"][1], [2.0, -0.5])  # mean per epoch
    np.testing.assert_allclose(data["experts"][1], [2.0])
    assert mplot.training_curves(path).get_yscale() == "linear"  # a negative value
