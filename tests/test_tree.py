import json

import networkx as nx
import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, is_valid_linkage

from mixae_graph.tree import (
    TreeRecorder,
    build_cluster_tree,
    cut_tree,
    leaf_slots,
    to_linkage,
    tree_table,
)

# Two triangles of experts, strongly linked inside and weakly between; the slots are not 0..K-1,
# as after merges in a fixed-slot bank.
LEFT, RIGHT = (0, 1, 2), (5, 7, 9)
SIZES = {0: 100, 1: 80, 2: 120, 5: 90, 7: 110, 9: 60}
WEIGHTS = {
    (0, 1): 300.0, (1, 2): 250.0, (2, 0): 280.0,
    (5, 7): 260.0, (9, 7): 240.0, (5, 9): 200.0,
    (2, 5): 3.0,
}


@pytest.fixture(scope="module")
def tree():
    return build_cluster_tree(SIZES, WEIGHTS)


def groups(cut):
    """A cut as a set of frozensets of slots, so that cluster ids do not matter."""
    by_id = {}
    for slot, k in cut.items():
        by_id.setdefault(k, set()).add(slot)
    return {frozenset(g) for g in by_id.values()}


def test_cut_at_two_gives_the_triangles(tree):
    cut = cut_tree(tree, 2)
    assert groups(cut) == {frozenset(LEFT), frozenset(RIGHT)}
    assert cut[0] == 0  # clusters are numbered by their smallest slot


@pytest.mark.parametrize("n_clusters", range(1, len(SIZES) + 1))
def test_cut_at_k_gives_k_nested_clusters(tree, n_clusters):
    cut = cut_tree(tree, n_clusters)
    assert sorted(cut) == sorted(SIZES)
    assert sorted(set(cut.values())) == list(range(n_clusters))
    if n_clusters > 1:  # one more cluster splits exactly one cluster of the coarser cut
        coarser = groups(cut_tree(tree, n_clusters - 1))
        finer = groups(cut)
        assert len(coarser - finer) == 1 and len(finer - coarser) == 2
        assert frozenset.union(*(finer - coarser)) in coarser - finer


def test_tree_structure(tree):
    k = len(SIZES)
    assert tree.number_of_nodes() == 2 * k - 1
    assert nx.is_tree(tree)
    roots = [n for n in tree if tree.in_degree(n) == 0]
    assert roots == [tree.graph["root"]]
    assert tree.nodes[tree.graph["root"]]["size"] == sum(SIZES.values())
    assert tree.nodes[tree.graph["root"]]["leaves"] == tuple(sorted(SIZES))
    assert leaf_slots(tree) == sorted(SIZES)
    for i, slot in enumerate(sorted(SIZES)):
        leaf = {"expert": slot, "size": SIZES[slot], "height": 0, "leaves": (slot,)}
        assert tree.nodes[i] == leaf
    for n in tree:
        children = list(tree.successors(n))
        if not children:
            continue
        assert len(children) == 2
        assert tree.nodes[n]["size"] == sum(tree.nodes[c]["size"] for c in children)
        below = sum((tree.nodes[c]["leaves"] for c in children), ())
        assert tree.nodes[n]["leaves"] == tuple(sorted(below))
        assert all(tree.nodes[n]["height"] > tree.nodes[c]["height"] for c in children)
    heights = sorted(tree.nodes[n]["height"] for n in tree if tree.out_degree(n))
    assert heights == list(range(1, k))


def test_gain_is_the_modularity_gained():
    # volumes 6, 5 and 9 (2 holds 6 inside) of 20; 0-1 gains the most, then {0, 1} joins 2
    tree = build_cluster_tree({0: 1, 1: 1, 2: 2}, {(0, 1): 4.0, (0, 2): 2.0, (1, 2): 1.0, (2, 2): 6.0})
    first, root = tree_table(tree)
    assert first["leaves"] == (0, 1) and first["gain"] == pytest.approx(2 * (4 / 20 - 6 * 5 / 20**2))
    assert root["gain"] == pytest.approx(2 * (3 / 20 - 11 * 9 / 20**2))


def test_a_small_group_joins_its_neighbour_before_two_classes_that_touch():
    # The digits case: 27 points (slot 11) linked only a little, to 6s (slot 6), and 3s and 8s
    # sharing 3% of their volume. Per point pair (average linkage) 3-8 is the stronger link
    # (31 / (170 * 180) > 3 / (27 * 180)); modularity joins the small group first, since little
    # weight is expected between it and anything.
    sizes = {3: 170, 8: 180, 6: 180, 11: 27}
    weights = {(3, 3): 950.0, (8, 8): 1000.0, (6, 6): 1050.0, (11, 11): 155.0, (3, 8): 31.0, (6, 11): 3.0}
    tree = build_cluster_tree(sizes, weights)
    assert tree_table(tree)[0]["leaves"] == (6, 11)
    assert groups(cut_tree(tree, 3)) == {frozenset({3}), frozenset({8}), frozenset({6, 11})}


def test_both_orders_of_a_pair_add_up_and_self_pairs_are_the_weight_inside():
    one = build_cluster_tree({0: 2, 1: 2, 2: 2}, {(0, 1): 2.0, (1, 2): 3.0})
    split_pair = build_cluster_tree({0: 2, 1: 2, 2: 2}, {(0, 1): 1.0, (1, 0): 1.0, (1, 2): 3.0})
    assert tree_table(one) == tree_table(split_pair)
    # 2 holds itself together: its volume grows, so 0-1 joins first instead
    inside = build_cluster_tree({0: 2, 1: 2, 2: 2}, {(0, 1): 2.0, (1, 2): 3.0, (2, 2): 99.0})
    assert tree_table(one)[0]["leaves"] == (1, 2) and tree_table(inside)[0]["leaves"] == (0, 1)


def test_disconnected_groups_still_get_one_root():
    sizes = {0: 10, 1: 10, 2: 30, 3: 30, 4: 5}
    tree = build_cluster_tree(sizes, {(0, 1): 5.0, (2, 3): 5.0})
    assert [n for n in tree if tree.in_degree(n) == 0] == [tree.graph["root"]]
    assert tree.nodes[tree.graph["root"]]["size"] == 85
    assert groups(cut_tree(tree, 3)) == {frozenset({0, 1}), frozenset({2, 3}), frozenset({4})}
    rows = tree_table(tree)
    # no weight between them, only what their volumes (4 has none; 10 each of 20) expect
    assert [row["gain"] for row in rows[2:]] == pytest.approx([0.0, -2 * 10 * 10 / 20**2])
    assert rows[2]["leaves"] == (0, 1, 4)  # unconnected: the smallest volumes join first


def test_unconnected_groups_join_nearest_first_by_single_linkage():
    # Four pairs the graph links, with no edge between the pairs: two families of two pairs.
    sizes = dict.fromkeys(range(8), 10)
    weights = {(0, 1): 5.0, (2, 3): 5.0, (4, 5): 5.0, (6, 7): 5.0}
    near = {(0, 2): 3.0, (5, 7): 2.5}  # a family is its closest pair of experts
    distances = {(a, b): near.get((a, b), 9.0) for a in range(8) for b in range(a + 1, 8)}
    distances[(6, 1)] = distances.pop((1, 6))  # either order of a pair
    tree = build_cluster_tree(sizes, weights, distances=distances)
    assert groups(cut_tree(tree, 4)) == {frozenset({0, 1}), frozenset({2, 3}), frozenset({4, 5}), frozenset({6, 7})}
    assert groups(cut_tree(tree, 2)) == {frozenset({0, 1, 2, 3}), frozenset({4, 5, 6, 7})}
    # The graph decides first: a linked pair joins before any nearer unconnected one.
    linked_far = build_cluster_tree({0: 10, 1: 10, 2: 10}, {(0, 1): 0.1}, distances={(0, 1): 9.0, (1, 2): 1.0})
    assert tree_table(linked_far)[0]["leaves"] == (0, 1)


def test_one_leaf():
    tree = build_cluster_tree({4: 10}, {})
    assert tree.number_of_nodes() == 1 and tree.graph["root"] == 0
    assert cut_tree(tree, 1) == {4: 0}
    assert tree_table(tree) == []
    with pytest.raises(ValueError, match=r"between 1 and the number of experts \(1\)"):
        cut_tree(tree, 2)


@pytest.mark.parametrize("n_clusters", [0, -1, 7])
def test_bad_n_clusters(tree, n_clusters):
    message = rf"between 1 and the number of experts \(6\), got {n_clusters}"
    with pytest.raises(ValueError, match=message):
        cut_tree(tree, n_clusters)


def test_bad_tree_input():
    with pytest.raises(ValueError, match="sizes is empty"):
        build_cluster_tree({}, {})
    with pytest.raises(ValueError, match=r"pair \(0, 3\)"):
        build_cluster_tree({0: 1, 1: 1}, {(0, 3): 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        build_cluster_tree({0: 1, 1: 1}, {(0, 1): -1.0})


def test_linkage_matches_scipy_cuts(tree):
    z = to_linkage(tree)
    assert is_valid_linkage(z)
    slots = leaf_slots(tree)
    for k in range(1, len(slots) + 1):
        scipy_groups = {}
        for slot, label in zip(slots, fcluster(z, k, criterion="maxclust")):
            scipy_groups.setdefault(label, set()).add(slot)
        assert groups(cut_tree(tree, k)) == {frozenset(g) for g in scipy_groups.values()}


def test_history_round_trip():
    rec = TreeRecorder()
    rec.record_split(parent=np.int64(0), children=[0, 3], epoch=5, sizes=np.array([120, 80]))
    rec.record_merge(
        experts=[1, 2], into=1, epoch=10, conductance=np.float32(0.25), rule="components"
    )
    assert [e["index"] for e in rec.events] == [0, 1]
    assert rec.events[0] == {
        "index": 0, "kind": "split", "epoch": 5,
        "sizes": [120, 80], "parent": 0, "children": [0, 3],
    }
    assert rec.events[1]["conductance"] == 0.25 and type(rec.events[1]["conductance"]) is float

    state = json.loads(json.dumps(rec.state_dict()))  # a checkpoint holds only plain values
    restored = TreeRecorder()
    restored.load_state_dict(state)
    assert restored.events == rec.events
    restored.record_merge(experts=[0, 3], into=0, epoch=12)
    assert restored.events[-1]["index"] == 2 and len(rec) == 2  # the original is untouched

    tree = build_cluster_tree({0: 150, 1: 150}, {(0, 1): 1.0}, history=restored.events)
    assert tree.graph["history"] == restored.events


def test_recorder_rejects_bad_events():
    rec = TreeRecorder()
    with pytest.raises(ValueError, match="at least 2 children"):
        rec.record_split(parent=0, children=[0], epoch=1)
    with pytest.raises(ValueError, match="at least 2 experts"):
        rec.record_merge(experts=[3], into=3, epoch=1)
    with pytest.raises(ValueError, match="3 sizes given for 2 children"):
        rec.record_split(parent=0, children=[0, 1], epoch=1, sizes=[1, 2, 3])
    with pytest.raises(TypeError, match="cannot record"):
        rec.record_merge(experts=[0, 1], into=0, epoch=1, model=object())
    assert len(rec) == 0
    with pytest.raises(ValueError, match="unknown kind 'grow'"):
        rec.load_state_dict({"events": [{"index": 0, "kind": "grow", "epoch": 1}]})
