"""Tests for the merge and split rules (mixae_graph.merge_split), on hand-made sparse graphs."""

import numpy as np
import pytest
import scipy.sparse as sp

from graph_builders import blobs_edges, clique_edges, graph_from_edges, ring_edges
from mixae_graph import graph as graph_module
from mixae_graph.graph import RESOLUTIONS, communities, neighbors_for, stable_communities
from mixae_graph.merge_split import (
    absorb_small,
    bisect_expert,
    bisection_conductance,
    end_separation,
    is_chain,
    merge_chains,
    partition,
    parts_at_count,
    split_experts,
)


# --------------------------------------------------------------------------- graph builders


def dumbbell(size=10, bridge=1.0):
    edges = clique_edges(range(size)) + clique_edges(range(size, 2 * size)) + [(size - 1, size, bridge)]
    return graph_from_edges(2 * size, edges)


def assert_merge_keeps_points(old, new):
    assert new.shape == old.shape
    assert set(np.unique(new)) <= set(np.unique(old))
    # A merge only relabels whole experts: points that shared an expert still share one.
    for e in np.unique(old):
        assert len(np.unique(new[old == e])) == 1


def same_partition(a, b):
    """True when labels ``a`` and ``b`` group the points the same way (up to renaming)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# --------------------------------------------------------------------------- bisection_conductance


def test_bisect_expert_cuts_a_dumbbell_at_its_bridge():
    # Two 10-cliques joined by one edge, all one expert (7) beside a third expert (3) of 4 points.
    graph = sp.block_diag([dumbbell(10, 1.0), graph_from_edges(4, clique_edges(range(4)))]).tocsr()
    labels = np.array([7] * 20 + [3] * 4)
    split = bisect_expert(graph, labels, 7, new_id=9)
    assert sorted(set(split[:10].tolist())) != sorted(set(split[10:20].tolist()))
    assert len(set(split[:10].tolist())) == 1 and len(set(split[10:20].tolist())) == 1
    assert set(split[:20].tolist()) == {7, 9}
    assert split[20:].tolist() == [3] * 4  # other experts untouched


def test_conductance_zero_for_two_components():
    edges = clique_edges(range(6)) + clique_edges(range(6, 12))
    assert bisection_conductance(graph_from_edges(12, edges)) == 0.0


def test_conductance_dumbbell_by_hand():
    # Cut = the bridge (weight 1); the smaller side's volume = 10 * 9 clique degrees + the bridge.
    assert bisection_conductance(dumbbell(10, 1.0)) == pytest.approx(1.0 / 91.0, rel=1e-6)
    # A weighted bridge: cut w, volume 90 + w.
    assert bisection_conductance(dumbbell(10, 0.5)) == pytest.approx(0.5 / 90.5, rel=1e-6)


def test_conductance_unbalanced_dumbbell_uses_smaller_side():
    # Cliques of 6 and 12 joined by one edge: min volume side is the 6-clique, 6 * 5 + 1 = 31.
    edges = clique_edges(range(6)) + clique_edges(range(6, 18)) + [(5, 6, 1.0)]
    assert bisection_conductance(graph_from_edges(18, edges)) == pytest.approx(1.0 / 31.0, rel=1e-6)


def test_conductance_clique_is_high():
    value = bisection_conductance(graph_from_edges(10, clique_edges(range(10))))
    assert value > 0.4
    # Any cut of K_10 into 5 + 5 has 25 edges over a volume of 45.
    assert value == pytest.approx(25 / 45, rel=1e-6)


def test_conductance_ring_is_low_but_positive():
    value = bisection_conductance(graph_from_edges(200, ring_edges(range(200), k=5)))
    # Two cuts of 15 edges each (5 + 4 + ... + 1) over half the volume (100 nodes * 10).
    assert value == pytest.approx(30 / 1000, rel=0.05)


def test_conductance_tiny_graph_counts_as_cohesive():
    assert bisection_conductance(graph_from_edges(3, [(0, 1, 1.0), (1, 2, 1.0)])) == 1.0
    assert bisection_conductance(sp.csr_matrix((5, 5))) == 1.0


# --------------------------------------------------------------------------- absorb_small


def test_absorb_small_joins_attached_and_keeps_isolated():
    # Expert 0: clique of 20; expert 1: 3 points hanging on it; expert 2: 2 isolated points.
    edges = clique_edges(range(20)) + clique_edges(range(20, 23))
    edges += [(20, 0, 1.0), (21, 1, 1.0), (22, 2, 0.5)]
    edges += [(23, 24, 1.0)]
    graph = graph_from_edges(25, edges)
    labels = np.array([0] * 20 + [1] * 3 + [2] * 2)
    new, events = absorb_small(graph, labels, min_size=5)
    np.testing.assert_array_equal(new, [0] * 23 + [2] * 2)
    np.testing.assert_array_equal(labels, [0] * 20 + [1] * 3 + [2] * 2)  # input untouched
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "merge" and event["rule"] == "small"
    assert event["experts"] == [0, 1] and event["into"] == 0
    assert sorted(event["sizes"]) == [3, 20]


def test_absorb_small_picks_best_connected_neighbour():
    # Small expert 9 (3 points) touches expert 4 weakly and expert 7 strongly.
    edges = clique_edges(range(0, 10)) + clique_edges(range(10, 20)) + clique_edges(range(20, 23))
    edges += [(20, 0, 0.2), (21, 10, 1.0), (22, 11, 1.0)]
    graph = graph_from_edges(23, edges)
    labels = np.array([4] * 10 + [7] * 10 + [9] * 3)
    new, events = absorb_small(graph, labels, min_size=5)
    np.testing.assert_array_equal(new, [4] * 10 + [7] * 13)
    assert events[0]["into"] == 7
    assert_merge_keeps_points(labels, new)


def test_absorb_small_nothing_to_do():
    graph = dumbbell(10)
    labels = np.array([0] * 10 + [1] * 10)
    new, events = absorb_small(graph, labels, min_size=5)
    np.testing.assert_array_equal(new, labels)
    assert events == []


# --------------------------------------------------------------------------- stable_communities


def test_stable_communities_keeps_forty_small_cliques_apart():
    # 40 cliques of 10 in a ring, each tied to the next by one edge of weight 2: modularity at resolution
    # 0.5 pairs them up (the resolution limit); the most reproducible partition keeps all 40.
    edges = [e for c in range(40) for e in clique_edges(range(10 * c, 10 * c + 10))]
    edges += [(10 * c + 9, (10 * c + 10) % 400, 2.0) for c in range(40)]
    graph = graph_from_edges(400, edges)
    assert len(np.unique(communities(graph, 0.5))) < 40
    labels, resolution, stability = stable_communities(graph)
    assert same_partition(labels, np.repeat(np.arange(40), 10))
    assert resolution in RESOLUTIONS and stability.shape == (len(RESOLUTIONS),)
    assert stability.max() == pytest.approx(1.0)


def test_stable_communities_picks_the_finest_of_equally_stable_resolutions():
    # Two blobs: every resolution gives them apart, so the finest equally stable one is chosen.
    graph = graph_from_edges(60, blobs_edges(2, 30))
    labels, resolution, stability = stable_communities(graph, resolutions=(0.25, 0.5), n_runs=3)
    assert same_partition(labels, np.repeat([0, 1], 30))
    assert resolution == 0.5 and np.all(stability == pytest.approx(1.0))


def _scripted_communities(partitions):
    """A stand-in for Louvain: run ``seed`` at ``resolution`` returns ``partitions[resolution][seed]``."""
    return lambda graph, resolution, random_state: partitions[resolution][random_state]


def _moved(labels, points):
    labels = labels.copy()
    labels[points] = (labels[points] + 1) % (labels.max() + 1)
    return labels


def test_stable_communities_keeps_the_finer_resolution_within_the_noise(monkeypatch):
    # 0.25: two halves, a different single point moved in four of eight runs; 0.5: four quarters,
    # a single point moved in six runs. The quarters are a little less reproducible (0.899 against
    # 0.901), by less than the runs' own spread: the finer resolution is kept.
    two, four = np.repeat([0, 1], 20), np.repeat([0, 1, 2, 3], 10)
    partitions = {0.25: [_moved(two, [i]) for i in range(4)] + [two] * 4,
                  0.5: [_moved(four, [3 * i]) for i in range(6)] + [four] * 2}
    monkeypatch.setattr(graph_module, "communities", _scripted_communities(partitions))
    labels, resolution, stability = stable_communities(None, resolutions=(0.25, 0.5))
    assert stability[0] > stability[1]
    assert resolution == 0.5 and len(np.unique(labels)) == 4


def test_stable_communities_keeps_the_coarser_resolution_when_it_is_clearly_more_stable(monkeypatch):
    # 0.5: every run cuts the points into four parts at random, which no other run repeats.
    rng = np.random.default_rng(0)
    two = np.repeat([0, 1], 20)
    partitions = {0.25: [_moved(two, [i]) for i in range(4)] + [two] * 4,
                  0.5: [rng.integers(0, 4, 40) for _ in range(8)]}
    monkeypatch.setattr(graph_module, "communities", _scripted_communities(partitions))
    labels, resolution, _ = stable_communities(None, resolutions=(0.25, 0.5))
    assert resolution == 0.25 and len(np.unique(labels)) == 2


def _scripted_by_graph(partitions):
    """Louvain stand-in whose runs depend on the graph: ``partitions[graph][resolution][seed]``."""
    return lambda graph, resolution, random_state: partitions[graph][resolution][random_state]


@pytest.mark.parametrize("strong_agreement, expected", [(1.0, "strong"), (0.85, "plain")])
def test_reproducible_communities_takes_the_strong_edges_only_when_clearly_more_stable(
        monkeypatch, strong_agreement, expected):
    # The kNN graph's runs disagree on where 4 of 60 points go; the strong edges' runs agree
    # perfectly (they win), or agree less than the kNN graph's (it stays).
    two, three = np.repeat([0, 1], 30), np.repeat([0, 1, 2], 20)
    plain_runs = [_moved(two, [i]) for i in range(4)] + [two] * 4
    strong_runs = [three] * 8 if strong_agreement == 1.0 else [_moved(three, [i, i + 20, i + 40]) for i in range(8)]
    partitions = {"plain": {r: plain_runs for r in RESOLUTIONS}, "strong": {r: strong_runs for r in RESOLUTIONS}}
    monkeypatch.setattr(graph_module, "communities", _scripted_by_graph(partitions))
    monkeypatch.setattr(graph_module, "strong_edges", lambda graph: "strong")
    labels, _, strong = graph_module.reproducible_communities("plain")
    assert strong == (expected == "strong")
    assert same_partition(labels, three if expected == "strong" else two)


def test_reproducible_communities_does_not_read_the_strong_edges_of_a_perfectly_stable_graph(monkeypatch):
    two = np.repeat([0, 1], 30)
    monkeypatch.setattr(graph_module, "communities", lambda graph, resolution, random_state: two)
    monkeypatch.setattr(graph_module, "strong_edges", lambda graph: pytest.fail("strong edges read"))
    labels, _, strong = graph_module.reproducible_communities("plain")
    assert not strong and same_partition(labels, two)


def test_noise_stays_one_cluster_though_its_strong_edges_fall_into_pieces():
    from mixae_graph.graph import latent_graph, reproducible_communities, strong_edges

    noise = latent_graph(np.random.default_rng(0).normal(size=(400, 10)))
    labels, _, strong = reproducible_communities(noise)
    assert labels.max() == 0 and not strong
    assert stable_communities(strong_edges(noise))[0].max() >= 10  # read alone, the strong edges would split it
    assert partition(noise).max() == 0


def test_stable_communities_returns_the_medoid_run_not_the_first(monkeypatch):
    # One resolution, five runs: the first moves five points, two move one point each and two are the
    # halves themselves. The run that agrees best with the others is an unmoved one.
    two = np.repeat([0, 1], 20)
    runs = [_moved(two, range(5)), _moved(two, [7]), two, _moved(two, [30]), two]
    monkeypatch.setattr(graph_module, "communities", _scripted_communities({0.5: runs}))
    labels, resolution, _ = stable_communities(None, resolutions=(0.5,), n_runs=5)
    assert resolution == 0.5
    np.testing.assert_array_equal(labels, two)


def test_neighbors_for_follows_log_of_the_size():
    assert [neighbors_for(n) for n in (2, 6, 400, 10_000, 70_000)] == [2, 3, 9, 13, 16]


# --------------------------------------------------------------------------- merge_chains


@pytest.mark.parametrize("closed", [True, False], ids=["ring", "path"])
def test_merge_chains_joins_a_cut_manifold(closed):
    graph = graph_from_edges(200, ring_edges(range(200), k=5, closed=closed))
    ids = np.array([70, 10, 30, 80, 20, 60, 40, 50])  # arbitrary ids, in no order along the ring
    labels = np.repeat(ids, 25)
    new, events = merge_chains(graph, labels)
    assert len(np.unique(new)) == 1
    assert new[0] in ids
    assert_merge_keeps_points(labels, new)
    assert len(events) == 1
    assert events[0]["kind"] == "merge" and events[0]["rule"] == "chain"
    assert events[0]["experts"] == sorted(ids.tolist())
    assert sum(events[0]["sizes"]) == 200


def test_merge_chains_leaves_blobs_that_touch_many():
    graph = graph_from_edges(180, blobs_edges(6, 30))
    labels = np.repeat(np.arange(6), 30)
    new, events = merge_chains(graph, labels)
    np.testing.assert_array_equal(new, labels)
    assert events == []


def parallel_rings(n_rings=6, size=30, cross=0.1):
    """Rings of ``size`` nodes, each joined node by node to the next ring: whole objects seen from
    every angle, touching their neighbours along their whole length rather than end to end."""
    edges = []
    for r in range(n_rings):
        edges += ring_edges(range(r * size, (r + 1) * size), k=3)
    for r in range(n_rings - 1):
        edges += [(r * size + i, (r + 1) * size + i, cross) for i in range(size)]
    return graph_from_edges(n_rings * size, edges)


def test_merge_chains_leaves_rings_that_touch_along_their_length():
    graph = parallel_rings()
    labels = np.repeat(np.arange(6), 30)
    assert len(np.unique(communities(graph, 1.0, 0))) == 6  # the chain rule's pieces are the rings
    new, events = merge_chains(graph, labels)
    np.testing.assert_array_equal(new, labels)
    assert events == []


def test_end_separation_tells_a_stretch_from_a_ring():
    path = graph_from_edges(90, ring_edges(range(90), k=3, closed=False))
    pieces = np.repeat([0, 1, 2], 30)  # the middle third touches one neighbour at each end
    assert end_separation(path, pieces, 1, [0, 2]) > 0.9
    rings = parallel_rings(n_rings=3)  # the middle ring touches both along its whole length
    assert end_separation(rings, pieces, 1, [0, 2]) < 0.1


def test_merge_chains_acts_per_component():
    # A ring of 300 nodes cut in 6 pieces next to six blobs (nodes 300..479), no edge between.
    # (Louvain cuts a ring into ~sqrt(edges) pieces; a chain needs 4 or more.)
    edges = ring_edges(range(300), k=5) + [(a + 300, b + 300, w) for a, b, w in blobs_edges(6, 30)]
    graph = graph_from_edges(480, edges)
    labels = np.concatenate([np.repeat(np.arange(6), 50), np.repeat([10, 11, 12, 13, 14, 15], 30)])
    new, events = merge_chains(graph, labels)
    assert len(np.unique(new[:300])) == 1
    np.testing.assert_array_equal(new[300:], labels[300:])
    assert_merge_keeps_points(labels, new)
    assert len(events) == 1


# --------------------------------------------------------------------------- partition


def test_partition_two_rings():
    edges = ring_edges(range(150), k=5) + ring_edges(range(150, 300), k=5)
    labels = partition(graph_from_edges(300, edges), min_size=10)
    truth = np.repeat([0, 1], 150)
    assert sorted(np.unique(labels).tolist()) == [0, 1]
    assert same_partition(labels, truth)


def test_partition_six_blobs():
    labels = partition(graph_from_edges(180, blobs_edges(6, 30)), min_size=10)
    truth = np.repeat(np.arange(6), 30)
    assert sorted(np.unique(labels).tolist()) == list(range(6))
    assert same_partition(labels, truth)


def test_partition_marks_isolated_specks():
    # Two cliques of 15 and an isolated pair of points: the pair is a speck (-1).
    edges = clique_edges(range(15)) + clique_edges(range(15, 30)) + [(30, 31, 1.0)]
    labels = partition(graph_from_edges(32, edges), min_size=10)
    assert same_partition(labels[:30], np.repeat([0, 1], 15))
    assert sorted(np.unique(labels[:30]).tolist()) == [0, 1]
    np.testing.assert_array_equal(labels[30:], [-1, -1])


def test_confirmed_graph_moves_the_borders_and_keeps_the_count():
    # Three blobs of 30. In the codes' graph, points 25-29 of blob 0 sit inside blob 1; the
    # confirmed graph (the input agrees) puts them back in blob 0.
    size, moved = 30, range(25, 30)
    codes_edges = [e for e in blobs_edges(3, size) if not (e[0] in moved or e[1] in moved)]
    codes_edges += [(i, j, 1.0) for i in moved for j in range(size, 2 * size)] + clique_edges(moved)
    confirmed = graph_from_edges(3 * size, blobs_edges(3, size))
    codes = graph_from_edges(3 * size, codes_edges)
    truth = np.repeat([0, 1, 2], size)
    alone = partition(codes, min_size=5)
    both = partition(codes, min_size=5, confirmed=confirmed)
    assert len(np.unique(alone)) == len(np.unique(both)) == 3
    assert same_partition(alone[list(moved) + list(range(size, 2 * size))], np.zeros(size + 5, int))
    assert same_partition(both, truth)


def test_confirmed_graph_that_cannot_give_the_count_leaves_the_codes_parts():
    # Two rings in the codes' graph; the confirmed graph cuts each ring into three separate arcs,
    # more pieces than the count at any resolution.
    codes = graph_from_edges(300, ring_edges(range(150), k=5) + ring_edges(range(150, 300), k=5))
    arcs = [e for start in range(0, 300, 50) for e in ring_edges(range(start, start + 50), k=5, closed=False)]
    labels = partition(codes, min_size=10, confirmed=graph_from_edges(300, arcs))
    assert same_partition(labels, np.repeat([0, 1], 150)) and len(np.unique(labels)) == 2


def test_parts_at_count_gives_the_count_or_none():
    graph = graph_from_edges(180, blobs_edges(6, 30))
    labels = parts_at_count(graph, graph, 6, min_size=10, chain_share=0.8)
    assert same_partition(labels, np.repeat(np.arange(6), 30))
    # from 1/50 up, Louvain keeps the six blobs whole and apart: no resolution gives four parts
    assert parts_at_count(graph, graph, 4, min_size=10, chain_share=0.8) is None


# --------------------------------------------------------------------------- split_experts


def test_split_expert_with_two_disconnected_groups():
    # Expert 3 holds two cliques with no edge between; expert 5 is one clique on its own.
    edges = clique_edges(range(15)) + clique_edges(range(15, 30)) + clique_edges(range(30, 42))
    graph = graph_from_edges(42, edges)
    labels = np.array([3] * 30 + [5] * 12)
    new, events = split_experts(graph, labels, min_size=10)
    np.testing.assert_array_equal(new[30:], 5)
    assert len(np.unique(new[:15])) == 1 and len(np.unique(new[15:30])) == 1
    assert new[0] != new[15]
    assert set(new[:30].tolist()) == {3, 6}  # the parent keeps its id, the child is above the old max
    assert min(np.bincount(new)[np.unique(new)]) > 0  # no empty expert
    assert set(np.unique(new).tolist()) == {3, 5, 6}
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "split" and event["parent"] == 3
    assert event["children"][0] == 3 and event["children"][1] > labels.max()
    assert sorted(event["children"]) == [3, 6]
    assert event["sizes"] == [15, 15]
    for child, size in zip(event["children"], event["sizes"]):
        assert np.sum(new == child) == size


def test_split_keeps_specks_with_the_first_part():
    # Expert 0 holds two cliques of 15 and an isolated pair (a speck below min_size).
    edges = clique_edges(range(15)) + clique_edges(range(15, 30)) + [(30, 31, 1.0)]
    graph = graph_from_edges(32, edges)
    labels = np.zeros(32, dtype=int)
    new, events = split_experts(graph, labels, min_size=10)
    assert set(np.unique(new).tolist()) == {0, 1}
    np.testing.assert_array_equal(new[30:], new[0])  # the speck follows the first part
    assert new[15] != new[0]
    assert events[0]["children"] == [0, 1] and events[0]["sizes"] == [17, 15]
    assert np.sum(new == 0) == 17 and np.sum(new == 1) == 15


def test_split_expert_that_is_one_clique_stays():
    graph = graph_from_edges(40, clique_edges(range(40)))
    labels = np.zeros(40, dtype=int)
    new, events = split_experts(graph, labels, min_size=10)
    np.testing.assert_array_equal(new, labels)
    assert events == []


def test_split_expert_too_small_is_skipped():
    # Two disconnected cliques of 8: the expert (16 < 2 * min_size) is not even tried.
    edges = clique_edges(range(8)) + clique_edges(range(8, 16))
    labels = np.zeros(16, dtype=int)
    new, events = split_experts(graph_from_edges(16, edges), labels, min_size=10)
    np.testing.assert_array_equal(new, labels)
    assert events == []


def test_split_two_experts_get_distinct_fresh_ids():
    # Experts 2 and 4 each hold two disconnected cliques of 12.
    edges = []
    for start in (0, 12, 24, 36):
        edges += clique_edges(range(start, start + 12))
    graph = graph_from_edges(48, edges)
    labels = np.array([2] * 24 + [4] * 24)
    new, events = split_experts(graph, labels, min_size=10)
    assert len(np.unique(new)) == 4
    assert set(np.unique(new).tolist()) == {2, 4, 5, 6}
    assert [e["parent"] for e in events] == [2, 4]
    for block in range(4):
        assert len(np.unique(new[block * 12:(block + 1) * 12])) == 1


# --------------------------------------------------------------------------- few groups, weak links
@pytest.mark.parametrize("n_groups", [2, 3])
def test_a_few_groups_joined_by_one_weak_edge_stay_apart(n_groups):
    # Two or three experts always look like a path; the chain rule must judge the points instead.
    edges = blobs_edges(n_groups, 30, links=1, weak=0.01)
    labels = partition(graph_from_edges(30 * n_groups, edges), min_size=10)
    assert same_partition(labels, np.repeat(np.arange(n_groups), 30))


def test_is_chain_tells_a_ring_from_blobs():
    assert is_chain(graph_from_edges(300, ring_edges(range(300))))
    assert not is_chain(graph_from_edges(180, blobs_edges(6, 30)))


# --------------------------------------------------------------------------- split_experts, fine graph


def stacked_ring_codes(n=72, gap=0.15):
    """Two rings of ``n`` points, one above the other: each point's two nearest neighbours lie on
    its own ring, its ``log2(2 n)`` nearest reach the other ring."""
    angle = np.arange(n) * 2 * np.pi / n
    ring = np.c_[np.cos(angle), np.sin(angle)]
    codes = np.concatenate([np.c_[ring, np.zeros(n)], np.c_[ring, np.full(n, gap)]])
    return codes + np.random.default_rng(0).normal(scale=0.002, size=codes.shape)


def test_an_expert_of_two_rings_splits_along_the_fine_graph():
    from scipy.sparse.csgraph import connected_components

    graph = graph_module.point_graph(stacked_ring_codes())
    assert connected_components(graph.graph)[0] == 1  # the kNN graph joins the rings
    labels = np.zeros(144, dtype=int)
    same, none = split_experts(graph.graph, labels, min_size=5)
    np.testing.assert_array_equal(same, labels)
    assert none == []
    new, events = split_experts(graph.graph, labels, min_size=5, fine=graph.fine, fine_min_size=graph.n_neighbors)
    assert same_partition(new, np.repeat([0, 1], 72))
    assert [(e["rule"], e["sizes"]) for e in events] == [("fine components", [72, 72])]


def test_fine_parts_smaller_than_a_neighbourhood_stay():
    # Cliques of 25 and 6 joined by three edges in the kNN graph, apart in the fine graph: the
    # 6-point part holds together, but is smaller than fine_min_size.
    fine_edges = clique_edges(range(25)) + clique_edges(range(25, 31))
    graph = graph_from_edges(31, fine_edges + [(0, 25, 1.0), (1, 26, 1.0), (2, 27, 1.0)])
    fine = graph_from_edges(31, fine_edges)
    labels = np.zeros(31, dtype=int)
    kept, events = split_experts(graph, labels, min_size=5, fine=fine, fine_min_size=10)
    np.testing.assert_array_equal(kept, labels)
    assert events == []
    split, events = split_experts(graph, labels, min_size=5, fine=fine, fine_min_size=6)
    assert same_partition(split, np.repeat([0, 1], [25, 6]))
    assert events[0]["rule"] == "fine components"
