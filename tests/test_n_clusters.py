"""Told ``n_clusters=K``: exactly K clusters, from cutting the tree or splitting experts, and a K the
data cannot give refused before training."""

import numpy as np
import pytest

from conftest import FAST
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy


def test_n_clusters_cuts_the_tree(blobs):
    X, y = blobs
    model = MixAEGraph(n_clusters=2, **FAST, random_state=0).fit(X)
    assert model.n_experts_ >= 2
    assert len(np.unique(model.labels_)) == 2
    assert len(np.unique(model.predict(X))) == 2


def test_n_clusters_below_the_graphs_count_keeps_its_parts_and_cuts_the_tree(digits):
    model = MixAEGraph(n_clusters=10, **FAST, random_state=0).fit(digits.X)
    first = model.cluster_tree_.graph["history"][0]
    assert first["kind"] == "split" and first["rule"] == "partition"  # the graph's own parts
    assert model.n_experts_ >= 10  # the tree cut joins the experts down to 10
    assert len(np.unique(model.labels_)) == 10
    assert cluster_accuracy(digits.y, model.labels_) >= 0.8


def test_n_clusters_above_the_number_of_blobs_cuts_a_blob(blobs):
    X, y = blobs  # 4 blobs, of which we keep 2
    X, y = X[y < 2], y[y < 2]
    # The default batches (32 steps an epoch), not FAST's one step: halves of a blob take training
    # to tell apart. A small trunk: two 20-D blobs need no DEC-sized one (10 s instead of 31 s).
    model = MixAEGraph(n_clusters=3, **{**FAST, "batch_size": None, "trunk": dict(epochs=30, hidden=(64, 64))},
                       random_state=0).fit(X)
    assert len(np.unique(model.labels_)) == 3 and model.n_experts_ >= 3
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    # each cluster holds one blob: the extra part cuts a blob, never joins two
    assert all(len(np.unique(y[model.labels_ == c])) == 1 for c in np.unique(model.labels_))


def test_n_clusters_far_above_the_structure_gives_exactly_k(blobs):
    # 40 clusters in 4 round blobs: bisected experts of one blob reconstruct each other's points
    # alike; the final mixing weights still give every expert points, and predict agrees.
    X, y = blobs
    model = MixAEGraph(n_clusters=40, **FAST, random_state=0).fit(X)
    assert len(np.unique(model.labels_)) == 40 and model.n_experts_ >= 40
    assert np.bincount(model.labels_).min() >= 5  # min_cluster_size points each (400 // 40 allows 10)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    # The experts are pieces of one blob each: the last E-step's labels never mix two. The final
    # router, with forty experts of ten points, may send a point in a hundred to an expert of the
    # blob next door (measured over model seeds 0-3: 0 or 1 point of 400).
    assert _strays(y, model.module_.state.labels) == 0
    assert _strays(y, model.labels_) <= len(X) // 100


def _strays(classes, labels):
    """Points outside their cluster's majority class."""
    return sum(int(np.sum(labels == c) - np.bincount(classes[labels == c]).max()) for c in np.unique(labels))


def test_n_clusters_above_half_the_samples_is_refused_before_training(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"n_clusters=201 is more than half of the 400 samples.*at most n_clusters=200"):
        MixAEGraph(n_clusters=201, **FAST).fit(X)
