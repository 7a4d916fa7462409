"""Property-based tests (hypothesis) for the pure functions: routing, the merge/split rules, the cluster tree.

Graphs are random sparse symmetric matrices of 10-80 nodes with planted blocks (so that merges, splits and
stray fragments all happen). Hypothesis draws the sizes, densities and a seed; numpy builds the matrix from
them, which keeps each example cheap. Integer edge weights are drawn half of the time so that sums are exact
and ties really tie.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import adjusted_rand_score

from mixae_graph.merge_split import (
    _holds_together,
    absorb_small,
    bisection_conductance,
    join_pieces,
    partition,
    reassign_fragments,
    split_experts,
)
from mixae_graph.routing import hard_assignment, soft_assignment
from mixae_graph.tree import build_cluster_tree, cut_tree, leaf_slots, to_linkage

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------------- strategies
@st.composite
def graphs(draw, min_nodes=10, max_nodes=80):
    """``(graph, blocks)``: a symmetric sparse graph with planted blocks, and each node's block."""
    n = draw(st.integers(min_nodes, max_nodes))
    n_blocks = draw(st.integers(1, 6))
    p_in = draw(st.floats(0.05, 0.6))
    p_out = draw(st.sampled_from([0.0, 0.0, 0.005, 0.02, 0.08]))
    integer_weights = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    blocks = rng.integers(n_blocks, size=n)
    edge = np.triu(rng.random((n, n)) < np.where(blocks[:, None] == blocks[None, :], p_in, p_out), k=1)
    weight = rng.integers(1, 4, size=(n, n)).astype(float) if integer_weights else rng.uniform(0.05, 1.0, (n, n))
    upper = np.where(edge, weight, 0.0)
    return sp.csr_matrix(upper + upper.T), blocks


@st.composite
def labelled_graphs(draw):
    """``(graph, labels, rng)``: a graph and arbitrary integer expert ids (not 0..k-1), sometimes the planted
    blocks, sometimes blocks cut at random, sometimes random."""
    graph, blocks = draw(graphs())
    n = graph.shape[0]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["blocks", "cut blocks", "random"]))
    if kind == "blocks":
        groups = blocks
    elif kind == "cut blocks":
        groups = blocks * 3 + rng.integers(3, size=n)
    else:
        groups = rng.integers(draw(st.integers(1, 8)), size=n)
    ids = rng.choice(1000, size=groups.max() + 1, replace=False)  # arbitrary, unsorted expert ids
    return graph, ids[groups], rng


def permuted(graph, labels, rng):
    """The same graph and labels with the rows (and columns) in another order, and that order."""
    order = rng.permutation(graph.shape[0])
    return graph[order][:, order], labels[order], order


def same_partition(a, b) -> bool:
    return adjusted_rand_score(a, b) == 1.0 if len(a) > 1 else True


def assert_merge_keeps_every_point(old, new):
    assert new.shape == old.shape
    assert set(np.unique(new)) <= set(np.unique(old))  # no new id, in particular no -1 that was not there
    for expert in np.unique(old):  # a merge moves whole experts: points together stay together
        assert len(np.unique(new[old == expert])) == 1


def check_merge_rule(rule, graph, labels, rng):
    """A merge rule keeps every point, makes one merge per event, and ignores the row order."""
    merged, events = rule(graph, labels)
    assert_merge_keeps_every_point(labels, merged)
    assert len(np.unique(merged)) == len(np.unique(labels)) - len(events)
    graph2, labels2, order = permuted(graph, labels, rng)
    assert same_partition(rule(graph2, labels2)[0], merged[order])
    return merged


# ----------------------------------------------------------------------------------------------- routing
errors = st.integers(1, 20).flatmap(lambda n: st.integers(1, 8).flatmap(lambda k: st.lists(
    st.floats(-1e4, 1e4, allow_nan=False), min_size=n * k, max_size=n * k).map(lambda v: np.reshape(v, (n, k)))))
temperatures = st.floats(1e-3, 1e3)


@FEW
@given(errors, temperatures, st.sampled_from([torch.float32, torch.float64]))
def test_soft_assignment_stays_on_the_simplex(e, temperature, dtype):
    p = soft_assignment(torch.tensor(e, dtype=dtype), temperature)
    assert p.shape == e.shape and p.dtype == dtype
    assert torch.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(p.sum(1), torch.ones(len(e), dtype=dtype), rtol=0, atol=tolerance)


@FEW
@given(errors, temperatures, st.randoms(use_true_random=False))
def test_routing_follows_the_rows(e, temperature, random):
    """Permuting the points permutes their assignments; the hard label has the largest probability."""
    order = np.array(random.sample(range(len(e)), len(e)))
    x = torch.tensor(e, dtype=torch.float64)
    p = soft_assignment(x, temperature)
    # Exact, up to subnormals: a row moved between the vectorised body and the scalar tail of exp
    # may give 0 where the other path gives 2e-308 (seen once in CI).
    tiny = torch.finfo(torch.float64).tiny
    torch.testing.assert_close(soft_assignment(x[order], temperature), p[order], rtol=0, atol=tiny)
    hard = hard_assignment(x)
    assert torch.equal(hard_assignment(x[order]), hard[order])
    assert (p[torch.arange(len(e)), hard] == p.max(1).values).all()


# ----------------------------------------------------------------------------------------------- merges
@FEW
@given(labelled_graphs(), st.integers(1, 15))
def test_absorb_small_keeps_every_point_and_follows_the_rows(case, min_size):
    graph, labels, rng = case
    merged = check_merge_rule(lambda g, l: absorb_small(g, l, min_size), graph, labels, rng)
    # What is still small has no edge out (an isolated speck, left to the caller).
    ids, sizes = np.unique(merged, return_counts=True)
    for expert in ids[sizes < min_size]:
        inside = merged == expert
        assert graph[inside][:, ~inside].nnz == 0


@SOME
@given(labelled_graphs(), st.integers(1, 12))
def test_join_pieces_keeps_every_point(case, min_size):
    graph, labels, _ = case
    merged, events = join_pieces(graph, labels, min_size=min_size, chain_share=0.8)
    assert_merge_keeps_every_point(labels, merged)
    assert all(e["kind"] == "merge" and e["into"] in e["experts"] for e in events)


@SOME
@given(graphs(), st.integers(1, 15))
def test_partition_labels_every_point(case, min_size):
    graph, _ = case
    labels = partition(graph, min_size=min_size)
    assert labels.shape == (graph.shape[0],) and labels.min() >= -1
    kept = labels[labels >= 0]
    assert kept.size and np.array_equal(np.unique(kept), np.arange(kept.max() + 1))  # 0..k-1, no gap
    sizes = np.bincount(kept)
    assert len(sizes) == 1 or sizes.min() >= min_size  # what is smaller is an isolated speck (-1)


@FEW
@given(labelled_graphs(), st.integers(1, 15))
def test_reassign_fragments_keeps_every_point_and_follows_the_rows(case, min_size):
    graph, labels, rng = case
    moved = reassign_fragments(graph, labels, min_size)
    assert moved.shape == labels.shape and set(np.unique(moved)) <= set(np.unique(labels))
    graph2, labels2, order = permuted(graph, labels, rng)
    assert same_partition(reassign_fragments(graph2, labels2, min_size), moved[order])


# ----------------------------------------------------------------------------------------------- splits
@FEW
@given(labelled_graphs(), st.integers(1, 15))
def test_split_never_makes_an_empty_expert(case, min_size):
    graph, labels, rng = case
    split, events = split_experts(graph, labels, min_size=min_size)
    assert split.shape == labels.shape
    ids = np.unique(split)
    assert set(np.unique(labels)) <= set(ids)  # every expert keeps its id, with points
    for event in events:
        assert event["children"][0] == event["parent"]
        assert len(event["children"]) >= 2
        assert event["sizes"] == [int(np.sum(split == c)) for c in event["children"]]
        assert min(event["sizes"]) >= min_size >= 1  # no child is empty, none is smaller than min_size
    new_ids = set(ids) - set(np.unique(labels))
    assert new_ids == {c for e in events for c in e["children"][1:]}
    # A split refines: points of different experts stay apart, and each new expert lies inside one old one.
    for expert in ids:
        assert len(np.unique(labels[split == expert])) == 1
    if not _tied_largest_part_with_fragments(graph, labels, min_size):
        graph2, labels2, order = permuted(graph, labels, rng)
        assert same_partition(split_experts(graph2, labels2, min_size=min_size)[0], split[order])


def _tied_largest_part_with_fragments(graph, labels, min_size) -> bool:
    """Whether an expert has two largest qualifying parts (``min_size`` points or more, holding
    together) of equal size and also fragments that do not qualify: the
    fragments stay with "the largest part", and which of two equal parts that is goes by row order (no
    rule on the graph alone can tell two mirror-image parts apart). The only case where the partition a
    split makes depends on the row order."""
    for expert in np.unique(labels):
        members = np.flatnonzero(labels == expert)
        part = connected_components(graph[members][:, members], directed=False)[1]
        sizes = np.bincount(part)
        nodes = np.full(graph.shape[0], -1)
        nodes[members] = part
        qualifies = (sizes >= min_size) & _holds_together(graph, nodes)  # the parts that may split off
        big = sizes[qualifies]
        if len(big) >= 2 and np.sum(big == big.max()) >= 2 and np.any(~qualifies):
            return True
    return False


@FEW
@given(labelled_graphs())
def test_split_pieces_are_connected_components_that_hold_together(case):
    """With ``min_size=1`` every piece split off is one connected component of its expert that keeps
    at least half of its kNN weight inside."""
    graph, labels, _ = case
    split, events = split_experts(graph, labels, min_size=1)
    for event in events:
        for child in event["children"][1:]:
            members = np.flatnonzero(split == child)
            assert connected_components(graph[members][:, members], directed=False)[0] == 1
            assert graph[members][:, members].sum() >= 0.5 * graph[members].sum() - 1e-9


@FEW
@given(graphs(), st.randoms(use_true_random=False))
def test_bisection_conductance_ignores_the_row_order(case, random):
    graph, _ = case
    order = np.array(random.sample(range(graph.shape[0]), graph.shape[0]))
    value = bisection_conductance(graph)
    assert 0.0 <= value <= 1.0 + 1e-9
    assert bisection_conductance(graph[order][:, order]) == pytest.approx(value, abs=1e-6)


# ----------------------------------------------------------------------------------------------- the tree
@st.composite
def expert_links(draw):
    """``(sizes, weights)``: 1-12 experts with arbitrary slot ids; sizes may be 0 (an expert with no point,
    then with no weight either); weights between some pairs, in either order, sometimes given twice."""
    k = draw(st.integers(1, 12))
    slots = draw(st.lists(st.integers(0, 63), min_size=k, max_size=k, unique=True))
    sizes = {s: draw(st.integers(0, 500)) for s in slots}
    weights = {}
    for _ in range(draw(st.integers(0, 2 * k * k))):
        a, b = draw(st.sampled_from(slots)), draw(st.sampled_from(slots))
        if sizes[a] and sizes[b]:
            weights[(a, b)] = draw(st.floats(0.0, 100.0))
    return sizes, weights


@FEW
@given(expert_links())
def test_cluster_tree_has_one_root_over_every_point(links):
    sizes, weights = links
    tree = build_cluster_tree(sizes, weights)
    k = len(sizes)
    assert nx.is_arborescence(tree)
    roots = [n for n in tree if tree.in_degree(n) == 0]
    assert roots == [tree.graph["root"]]
    assert tree.nodes[roots[0]]["size"] == sum(sizes.values())
    leaves = [n for n in tree if tree.out_degree(n) == 0]
    assert sorted(leaf_slots(tree)) == sorted(sizes) and len(leaves) == k
    assert sum(tree.nodes[n]["size"] for n in leaves) == sum(sizes.values())
    for node in tree:
        children = list(tree.successors(node))
        assert len(children) in (0, 2)
        if children:
            assert tree.nodes[node]["size"] == sum(tree.nodes[c]["size"] for c in children)
            assert tree.nodes[node]["leaves"] == tuple(sorted(sum((tree.nodes[c]["leaves"] for c in children), ())))
    assert to_linkage(tree).shape == (k - 1, 4)


@FEW
@given(expert_links())
def test_join_gains_are_the_modularity_gained(links):
    """Each join's gain is the modularity (networkx's) of the cut below it minus the cut above."""
    sizes, weights = links
    graph = nx.Graph()
    graph.add_nodes_from(sizes)
    for (a, b), w in weights.items():
        previous = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
        graph.add_edge(a, b, weight=previous + (w / 2 if a == b else w))
    assume(graph.size(weight="weight") > 1e-6)  # networkx squares the total weight: none, or 1e-165, fails
    tree = build_cluster_tree(sizes, weights)
    cuts = [cut_tree(tree, k) for k in range(len(sizes), 0, -1)]
    scores = [nx.community.modularity(graph, [{s for s in cut if cut[s] == c} for c in set(cut.values())],
                                      weight="weight") for cut in cuts]
    gains = [tree.nodes[n]["gain"] for n in sorted((n for n in tree if tree.out_degree(n)),
                                                     key=lambda n: tree.nodes[n]["height"])]
    np.testing.assert_allclose(gains, np.diff(scores), atol=1e-9)


@FEW
@given(expert_links(), st.data())
def test_cut_tree_gives_k_clusters_covering_every_expert(links, data):
    sizes, weights = links
    tree = build_cluster_tree(sizes, weights)
    k = data.draw(st.integers(1, len(sizes)))
    cut = cut_tree(tree, k)
    assert sorted(cut) == sorted(sizes)
    assert sorted(set(cut.values())) == list(range(k))
    # Clusters are numbered in the order of the smallest slot they hold.
    firsts = [min(s for s, c in cut.items() if c == cluster) for cluster in range(k)]
    assert firsts == sorted(firsts)
    # Cutting at k + 1 splits exactly one cluster of the k-cut in two.
    if k < len(sizes):
        finer = cut_tree(tree, k + 1)
        pairs = {(cut[s], finer[s]) for s in sizes}
        assert len(pairs) == k + 1 and len({c for c, _ in pairs}) == k


@FEW
@given(expert_links(), st.randoms(use_true_random=False))
def test_cluster_tree_ignores_the_order_of_its_inputs(links, random):
    sizes, weights = links
    tree = build_cluster_tree(sizes, weights)
    shuffled_sizes = dict(random.sample(list(sizes.items()), len(sizes)))
    shuffled_weights = {(b, a) if (b, a) not in weights and random.random() < 0.5 else (a, b): w
                        for (a, b), w in random.sample(list(weights.items()), len(weights))}
    other = build_cluster_tree(shuffled_sizes, shuffled_weights)
    assert tree.graph["root"] == other.graph["root"]
    assert [tree.nodes[n]["leaves"] for n in sorted(tree)] == [other.nodes[n]["leaves"] for n in sorted(other)]
