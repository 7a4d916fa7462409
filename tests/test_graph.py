"""Tests for the point-level kNN graph and the expert-level graph (mixae_graph.graph)."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs

from graph_builders import clique_edges, graph_from_edges
from mixae_graph.graph import communities, embed, expert_graph, expert_weights, latent_graph, membership


# A small hand-made graph: 6 points, experts 4 = {0, 1}, 7 = {2, 3, 4}, 9 = {5}.
SMALL_EDGES = [
    (0, 1, 2.0),              # inside 4
    (2, 3, 1.0), (3, 4, 0.5),  # inside 7
    (1, 2, 0.25), (0, 3, 0.75),  # 4 -- 7
    (4, 5, 3.0),              # 7 -- 9
]
SMALL_LABELS = np.array([4, 4, 7, 7, 7, 9])


@pytest.fixture
def small():
    return graph_from_edges(6, SMALL_EDGES), SMALL_LABELS.copy()


def test_membership_one_hot_and_sorted_ids():
    onehot, ids = membership(np.array([7, 4, 7, 9]))
    np.testing.assert_array_equal(ids, [4, 7, 9])
    np.testing.assert_array_equal(onehot.toarray(), [[0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_expert_weights_equal_hand_sums(small):
    graph, labels = small
    weights, ids = expert_weights(graph, labels)
    np.testing.assert_array_equal(ids, [4, 7, 9])
    expected = np.array([
        # diagonal: twice the inside weight
        [2 * 2.0, 0.25 + 0.75, 0.0],
        [0.25 + 0.75, 2 * (1.0 + 0.5), 3.0],
        [0.0, 3.0, 0.0],
    ])
    np.testing.assert_allclose(weights, expected)
    np.testing.assert_allclose(weights, weights.T)
    # Row sums are the expert volumes (sum of the degrees of their points).
    degree = np.asarray(graph.sum(axis=1)).ravel()
    np.testing.assert_allclose(weights.sum(axis=1), [degree[labels == e].sum() for e in ids])


def test_expert_graph_nodes_edges(small):
    graph, labels = small
    experts = expert_graph(graph, labels)
    assert isinstance(experts, nx.Graph) and not experts.is_directed()
    assert sorted(experts.nodes) == [4, 7, 9]
    assert {e: experts.nodes[e]["size"] for e in experts} == {4: 2, 7: 3, 9: 1}
    assert experts.nodes[4]["volume"] == pytest.approx(4.0 + 1.0)
    assert experts.nodes[7]["volume"] == pytest.approx(3.0 + 1.0 + 3.0)
    assert experts.nodes[9]["volume"] == pytest.approx(3.0)
    assert sorted(tuple(sorted(e)) for e in experts.edges) == [(4, 7), (7, 9)]
    assert experts[4][7]["weight"] == pytest.approx(1.0)
    assert experts[7][4]["weight"] == pytest.approx(1.0)  # symmetric
    assert experts[7][9]["weight"] == pytest.approx(3.0)
    assert not experts.has_edge(4, 9)
    assert nx.number_of_selfloops(experts) == 0


def test_communities_two_cliques_weak_edge():
    edges = clique_edges(range(10)) + clique_edges(range(10, 20)) + [(9, 10, 0.1)]
    labels = communities(graph_from_edges(20, edges))
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, [0] * 10 + [1] * 10)


def test_communities_labels_ordered_by_smallest_point():
    # The smaller clique comes first in the node order (points 1..10); the larger one holds point 0
    # and still gets label 0.
    big = [0] + list(range(11, 30))
    edges = clique_edges(big) + clique_edges(range(1, 11))
    labels = communities(graph_from_edges(30, edges))
    expected = np.zeros(30, dtype=int)
    expected[1:11] = 1
    np.testing.assert_array_equal(labels, expected)


@pytest.fixture(scope="module")
def blob_graph():
    codes, _ = make_blobs(n_samples=300, centers=3, n_features=5, random_state=0)
    return latent_graph(codes, n_neighbors=15)


def test_latent_graph_symmetric_csr(blob_graph):
    graph = blob_graph
    assert sp.issparse(graph) and graph.format == "csr"
    assert graph.shape == (300, 300)
    assert abs(graph - graph.T).max() < 1e-6
    assert np.all(graph.diagonal() == 0)
    assert graph.nnz > 0
    assert np.all(graph.data > 0) and np.all(graph.data <= 1 + 1e-6)
    # Every point has at least one neighbour.
    assert np.all(np.diff(graph.indptr) > 0)


@pytest.mark.parametrize("n_neighbors", [4, 15])
def test_latent_graph_is_umaps_fuzzy_set_on_exact_neighbours(n_neighbors):
    """The numpy fuzzy graph against UMAP's own implementation, given the same neighbours."""
    from sklearn.neighbors import NearestNeighbors
    from umap.umap_ import fuzzy_simplicial_set

    codes, _ = make_blobs(n_samples=400, centers=[[0] * 6, [3] * 6], n_features=6, cluster_std=[0.3, 2.0],
                          random_state=1)
    codes = codes.astype(np.float32)
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(codes).kneighbors(codes)
    assert np.all(indices[:, 0] == np.arange(400))  # each point is its own first neighbour
    expected, _, _ = fuzzy_simplicial_set(codes, n_neighbors, np.random.RandomState(0), "euclidean",
                                          knn_indices=indices.astype(np.int32),
                                          knn_dists=distances.astype(np.float32))
    graph = latent_graph(codes, n_neighbors)
    assert (graph != 0).nnz == (expected.tocsr() != 0).nnz
    assert abs(graph - expected.tocsr()).max() < 1e-5


def test_latent_graph_needs_more_samples_than_neighbors():
    with pytest.raises(ValueError, match="more samples than n_neighbors"):
        latent_graph(np.zeros((15, 3)), n_neighbors=15)
    with pytest.raises(ValueError):
        latent_graph(np.zeros((5, 3)), n_neighbors=15)


def test_embed_lays_copies_on_their_original():
    codes = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    layout = embed(np.vstack([codes, codes[:20], codes[:20]]), 2, 10, random_state=0)
    np.testing.assert_array_equal(layout[60:80], layout[:20])
    np.testing.assert_array_equal(layout[80:], layout[:20])
    np.testing.assert_array_equal(layout[:60], embed(codes, 2, 10, random_state=0))  # as without copies


@pytest.mark.parametrize("max_points", [None, 60])
def test_point_graph_carries_the_sparsest_knn_graph_without_specks(max_points):
    from scipy.sparse.csgraph import connected_components

    from mixae_graph.graph import PointGraph, point_graph

    def smallest_part(graph):
        return np.bincount(connected_components(graph, directed=False)[1]).min()

    codes, _ = make_blobs(n_samples=100, centers=3, n_features=4, random_state=0)
    codes = np.concatenate([codes, codes[:5]])  # copies follow their originals
    graph = point_graph(codes, n_neighbors=6, max_points=max_points)
    m = len(graph.landmarks)
    assert graph.n_neighbors == 6 and graph.fine.shape == graph.graph.shape == (m, m)
    knn = {k: latent_graph(codes[graph.landmarks], k) > 0 for k in range(3, 6)}
    chosen = [k for k, edges in knn.items() if ((graph.fine > 0) != edges).nnz == 0]
    assert len(chosen) == 1  # the kNN graph at one k, unweighted
    assert smallest_part(graph.fine) >= 6
    assert all(smallest_part(knn[k]) < 6 for k in range(3, chosen[0]))  # and the sparsest such
    again = PointGraph.from_state_dict(graph.state_dict())
    assert again.n_neighbors == 6
    assert (again.fine != graph.fine).nnz == 0 and (again.graph != graph.graph).nnz == 0


def test_smoothing_graph_keeps_only_the_edges_within_the_fine_graphs_parts():
    from graph_builders import ring_edges

    from mixae_graph.graph import PointGraph

    # two rings of 30 points that touch along their length (point i of one beside point i of the other)
    rings = ring_edges(range(30), k=3) + ring_edges(range(30, 60), k=3)
    across = [(i, 30 + i, 0.5) for i in range(30)]
    knn = graph_from_edges(60, rings + across)
    fine = graph_from_edges(60, ring_edges(range(30), k=1) + ring_edges(range(30, 60), k=1))
    everywhere = np.arange(60)
    graph = PointGraph(knn, everywhere, everywhere, n_neighbors=7, fine=fine)
    within = graph.within_fine_parts()
    assert (within != graph_from_edges(60, rings)).nnz == 0  # every ring edge, with its weight; none across
    assert PointGraph(knn, everywhere, everywhere, n_neighbors=7).within_fine_parts() is knn  # no fine graph


@pytest.mark.parametrize("n, k", [(12, 1), (12, 12), (400, 40), (3000, 11)])
def test_adjusted_rand_equals_scikit_learns(n, k):
    from sklearn.metrics import adjusted_rand_score

    from mixae_graph.graph import adjusted_rand

    rng = np.random.default_rng(n)
    a = rng.integers(0, k, n)
    for b in (a, (a + (rng.random(n) < 0.3) * rng.integers(0, 5, n)) % (k + 3), rng.integers(0, 3, n), np.zeros(n, int)):
        assert adjusted_rand(a, b) == adjusted_rand_score(a, b)
        assert adjusted_rand(b, a) == adjusted_rand_score(b, a)


def test_intersection_keeps_the_edges_both_views_draw_and_fades_the_others():
    from mixae_graph.graph import intersection

    # codes: a path 0-1-2-3 with a shortcut 0-3; input: the same path without the shortcut, plus 1-3
    codes = graph_from_edges(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (0, 3, 1.0)])
    inputs = graph_from_edges(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (1, 3, 0.5)])
    both = intersection(codes, inputs).toarray()
    np.testing.assert_allclose(both, both.T)  # symmetric
    np.testing.assert_allclose(both.max(1), 1.0)  # each point's strongest edge weighs 1
    for i, j in [(0, 1), (1, 2), (2, 3)]:
        assert both[i, j] == pytest.approx(1.0)  # drawn by both views
    assert 0 < both[0, 3] <= 0.5 + 1e-6  # only the codes draw it: it fades without vanishing
    assert 0 < both[1, 3] <= 0.5 + 1e-6  # only the input draws it
    assert both[0, 2] == 0  # drawn by neither


def test_intersection_with_an_edgeless_graph_has_no_edges():
    from mixae_graph.graph import intersection

    path = graph_from_edges(3, [(0, 1, 1.0), (1, 2, 1.0)])
    empty = sp.csr_matrix((3, 3), dtype=np.float32)
    assert intersection(path, empty).nnz == 0 and intersection(empty, empty).shape == (3, 3)


def test_strong_edges_fade_the_weak_edges_and_keep_each_points_strongest():
    from mixae_graph.graph import strong_edges

    # a path 0-1-2-3 of strong edges, and a weak shortcut 0-3
    graph = graph_from_edges(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (0, 3, 0.2)])
    strong = strong_edges(graph).toarray()
    np.testing.assert_allclose(strong, strong.T)  # symmetric
    np.testing.assert_allclose(strong.max(1), 1.0)  # each point's strongest edge weighs 1
    for i, j in [(0, 1), (1, 2), (2, 3)]:
        assert strong[i, j] == pytest.approx(1.0)
    assert 0 < strong[0, 3] < 0.2**2  # the weak edge fades without vanishing
    assert strong[0, 3] < strong_edges(graph, copies=2)[0, 3] < 0.2  # the more copies, the more it fades
    assert strong[0, 2] == 0  # no edge appears
    assert (strong_edges(graph, copies=1) != graph).nnz == 0  # one copy: the graph itself


def test_point_graph_with_inputs_also_holds_the_confirmed_graph():
    from mixae_graph.graph import PointGraph, intersection, point_graph

    codes, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    inputs = np.random.default_rng(0).normal(size=(120, 20))  # a view that confirms little
    graph = point_graph(codes, n_neighbors=6, inputs=inputs)
    expected = intersection(graph.graph, latent_graph(inputs, 6))
    assert (abs(graph.confirmed - expected) > 1e-6).nnz == 0
    assert (point_graph(codes, n_neighbors=6).confirmed is None)
    again = PointGraph.from_state_dict(graph.state_dict())
    assert (again.confirmed != graph.confirmed).nnz == 0 and (again.graph != graph.graph).nnz == 0
    # the codes' graph, which gives the count and which the E-step smooths over, is the same with or without
    alone = point_graph(codes, n_neighbors=6)
    assert (graph.graph != alone.graph).nnz == 0
    assert (graph.within_fine_parts() != alone.within_fine_parts()).nnz == 0
