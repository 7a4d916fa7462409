"""GatedExperts: the clustering as the gate of a supervised mixture of experts."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from mixae_graph.moe import GatedExperts
from mixae_graph.tree import build_cluster_tree


class HandGate(ClusterMixin, BaseEstimator):
    """A gate built by hand: the first three features are its probabilities of three clusters,
    and its tree joins clusters 0 and 1 first, then cluster 2 (hierarchy nodes 3 = {0, 1}, 4 = root)."""

    def fit(self, X, y=None):
        self.labels_ = self.predict(X)
        sizes = {c: int(np.sum(self.labels_ == c)) for c in range(3)}
        self.cluster_tree_ = build_cluster_tree(sizes, {(0, 1): 50.0, (1, 2): 1.0, (0, 0): 10.0, (2, 2): 10.0})
        return self

    def predict_proba(self, X):
        return np.asarray(X)[:, :3] / np.asarray(X)[:, :3].sum(1, keepdims=True)

    def predict(self, X):
        return self.predict_proba(X).argmax(1)


def hand_data(rng, n, cluster, confidence=0.9):
    """``n`` points the hand gate puts in ``cluster`` with probability ``confidence``, a fourth feature
    that the target follows, differently per cluster."""
    p = np.full((n, 3), (1 - confidence) / 2)
    p[:, cluster] = confidence
    x = rng.normal(size=(n, 1))
    y = {0: 2 * x[:, 0], 1: -3 * x[:, 0], 2: x[:, 0] + 5}[cluster]
    return np.hstack([p, x]), y


def hand_set(rng, labels_of_cluster_1=3):
    parts = [hand_data(rng, 40, 0), hand_data(rng, labels_of_cluster_1, 1), hand_data(rng, 40, 2)]
    return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.fixture
def hand_model():
    """No shrinkage: every cluster with labels is served by its own expert (the tree's mechanics)."""
    rng = np.random.default_rng(0)
    X, y = hand_set(rng)
    return GatedExperts(HandGate(), LinearRegression(), top_k=1, shrinkage=0.0).fit(X, y), rng


def test_hierarchy_follows_the_gates_tree(hand_model):
    model, _ = hand_model
    assert model.n_clusters_ == 3
    assert model.parent_ == {0: 3, 1: 3, 2: 4, 3: 4, 4: None}
    assert sorted(model.experts_) == [0, 1, 2, 3, 4]
    assert model.blend_[1] == {1: 1.0}


def test_a_cluster_without_labels_is_served_by_its_parent():
    rng = np.random.default_rng(0)
    model = GatedExperts(HandGate(), LinearRegression(), top_k=1, shrinkage=0.0).fit(*hand_set(rng, 0))
    assert sorted(model.experts_) == [0, 2, 3, 4]
    X1, _ = hand_data(rng, 10, 1)
    assert all(route == {3: 1.0} for route in model.routing(X1))
    np.testing.assert_allclose(model.predict(X1), model.experts_[3].predict(X1))


def test_shrinkage_blends_a_node_with_the_tree_above_it_by_its_labels():
    rng = np.random.default_rng(0)
    model = GatedExperts(HandGate(), LinearRegression(), top_k=1, shrinkage=5.0).fit(*hand_set(rng))
    # Cluster 1 has 3 labels: 3 / (3 + 5) of its own; node 3 above it has 43: 43 / 48 of the rest.
    expected = {1: 3 / 8, 3: 5 / 8 * 43 / 48, 4: 5 / 8 * 5 / 48}
    assert model.blend_[1] == pytest.approx(expected)
    X1, _ = hand_data(rng, 10, 1)
    mixed = sum(w * model.experts_[node].predict(X1) for node, w in expected.items())
    np.testing.assert_allclose(model.predict(X1), mixed)


def test_cross_validation_keeps_the_clusters_experts_only_where_they_carry_the_target():
    rng = np.random.default_rng(0)
    X, y = hand_set(rng, 20)  # three clusters, three different lines
    model = GatedExperts(HandGate(), LinearRegression(), top_k=1).fit(X, y)
    scores = {shrinkage: score for (_, shrinkage), score in model.cv_scores_.items()}  # no graph: one border
    assert model.border_ == 0.0 and len(scores) == len(model.cv_scores_)
    assert model.shrinkage_ == 0.0 and scores[0.0] > scores[np.inf]
    one_line = 2 * X[:, 3] + rng.normal(scale=1.0, size=len(X))  # one noisy line for every cluster
    model = GatedExperts(HandGate(), LinearRegression(), top_k=1).fit(X, one_line)
    scores = {shrinkage: score for (_, shrinkage), score in model.cv_scores_.items()}
    assert model.shrinkage_ >= 100 and scores[model.shrinkage_] > scores[0.0]


def test_an_unsure_point_goes_up_the_tree(hand_model):
    model, _ = hand_model
    X = np.array([[0.4, 0.35, 0.25, 0.0],    # unsure; clusters 0 and 1 hold 0.75: node 3
                  [0.3, 0.25, 0.45, 0.0],    # unsure of cluster 2: only the root above it holds 0.5
                  [0.8, 0.1, 0.1, 0.0]])     # sure: its own cluster
    assert model.routing(X) == [{3: 1.0}, {4: 1.0}, {0: 1.0}]


def test_top_k_mixes_the_experts_by_the_gates_probabilities(hand_model):
    model, _ = hand_model
    model.set_params(top_k=2)
    X = np.array([[0.6, 0.0, 0.4, 1.0]])
    (route,) = model.routing(X)
    assert route == pytest.approx({0: 0.6, 2: 0.4})
    expected = 0.6 * model.experts_[0].predict(X) + 0.4 * model.experts_[2].predict(X)
    np.testing.assert_allclose(model.predict(X), expected)


def test_update_retrains_only_the_experts_of_the_touched_clusters(hand_model):
    model, rng = hand_model
    before = dict(model.experts_)
    X_new, y_new = hand_data(rng, 5, 2)
    model.update(X_new, y_new + 1.0)  # cluster 2's function moved
    assert model.updated_experts_ == [2, 4]  # cluster 2 and the root above it
    assert model.experts_[0] is before[0] and model.experts_[3] is before[3]
    assert model.experts_[2] is not before[2]


def test_update_gives_a_cluster_its_own_expert_once_it_has_labels():
    rng = np.random.default_rng(0)
    model = GatedExperts(HandGate(), LinearRegression(), top_k=1, shrinkage=0.0).fit(*hand_set(rng, 0))
    X_new, y_new = hand_data(rng, 4, 1)
    model.update(X_new, y_new)
    assert model.updated_experts_ == [1, 3, 4]
    assert model.blend_[1] == {1: 1.0}
    X1, _ = hand_data(rng, 5, 1)
    np.testing.assert_allclose(model.predict(X1), model.experts_[1].predict(X1))


def test_a_prefitted_gate_must_have_seen_the_same_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    gate = KMeans(2, n_init=2, random_state=0).fit(X[:40])
    with pytest.raises(ValueError, match="pre-fitted gate"):
        GatedExperts(FrozenEstimator(gate), Ridge()).fit(X, X[:, 0])


@pytest.mark.parametrize("name, value", [("top_k", 0), ("border", -1.0), ("border", "auto"), ("shrinkage", -1.0), ("shrinkage", "auto"), ("confidence", 2.0)])
def test_bad_settings_are_refused_by_name(name, value):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match=name):
        GatedExperts(KMeans(2, n_init=1), Ridge(), **{name: value}).fit(X, X[:, 0])


def test_update_refuses_classes_it_never_saw():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = GatedExperts(KMeans(2, n_init=2, random_state=0)).fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(ValueError, match="never saw"):
        model.update(X[:3], [0, 1, 7])


@parametrize_with_checks([GatedExperts(KMeans(2, n_init=1, random_state=0), LogisticRegression()),
                          GatedExperts(KMeans(2, n_init=1, random_state=0), Ridge())])
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def moons_gated(moons):
    """GatedExperts on two moons with a small mixae-graph gate: 100 of the 1,000 points labelled."""
    from mixae_graph import MixAEGraph

    # 15 neighbours, not round(log2 1000) = 10: with them the moons' tips touch in the graph, which
    # the border and pair tests need.
    gate = MixAEGraph(trunk=dict(epochs=15), experts=dict(epochs=4), graph=dict(merge_every=2, n_neighbors=15), batch_size=256,
                      random_state=0)
    X, y = moons.X, moons.y
    return GatedExperts(gate, LogisticRegression(), pairs=True).fit(X[:100], y[:100], X_unlabeled=X[100:]), moons


def test_the_mixae_graph_gate_carries_few_labels_to_every_point(moons_gated):
    model, moons = moons_gated
    assert model.gate_.labels_.shape == (1000,)
    assert model.score(moons.X[100:], moons.y[100:]) >= 0.95
    proba = model.predict_proba(moons.X[100:110])
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert model.classes_.tolist() == [0, 1]


def test_the_border_and_pairs_come_from_the_gates_graph(moons_gated):
    model, moons = moons_gated
    # The border is tried where some labelled point has a graph neighbour in another cluster.
    assert {border for border, _ in model.cv_scores_} == ({0.0, 1.0} if model._border_of.any() else {0.0})
    best = max(model.cv_scores_.values())
    assert model.cv_scores_[(model.border_, model.shrinkage_)] == best
    assert model.n_clusters_ >= 2 and model.touching_pairs_  # the moons touch at their tips
    assert set(model.pair_experts_) <= set(model.touching_pairs_)
    assert all(a < b for a, b in model.touching_pairs_)
