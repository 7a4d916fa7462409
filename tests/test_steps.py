"""The graph steps as functions (state in, new state and bank edits out), on hand-made graphs."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from graph_builders import clique_edges, graph_from_edges
from mixae_graph.connectivity import ConnectivityCallback
from mixae_graph.graph import PointGraph
from mixae_graph.merge_split import chain_groups
from mixae_graph.state import FitState
from mixae_graph.steps import (AddExpert, AssignClusters, RemoveExpert, Slots, expectation_step, finish,
                               first_experts, honour_n_clusters, merge_split_round)

RULES = dict(resolution=None, chain_share=0.8, min_size=5, random_state=0)


def state_on(graph, labels) -> FitState:
    n = graph.shape[0]
    return FitState(graph=PointGraph(graph, np.arange(n), np.arange(n)), labels=np.asarray(labels))


def three_cliques():
    """Cliques of 12 nodes (0-11, 12-23, 24-35), the first two joined by one weak edge."""
    edges = clique_edges(range(12)) + clique_edges(range(12, 24)) + clique_edges(range(24, 36))
    return graph_from_edges(36, edges + [(11, 12, 0.1)])


def test_slots_hand_out_the_lowest_free_slot_like_the_bank():
    slots = Slots(active=[0, 3], capacity=4)
    assert slots.add(3) == 1 and slots.add(0) == 2
    slots.remove(3)
    assert slots.add(1) == 3
    assert slots.active == [0, 1, 2, 3]
    assert slots.edits == [AddExpert(3, 1), AddExpert(0, 2), RemoveExpert(3), AddExpert(1, 3)]
    with pytest.raises(RuntimeError, match="bank is full"):
        slots.add(0)


def test_first_experts_are_the_graph_parts_as_children_of_the_seed():
    graph = three_cliques()
    slots = Slots(active=[0], capacity=8)
    empty = FitState()
    state = first_experts(empty, PointGraph(graph, np.arange(36), np.arange(36)), slots, rules=RULES,
                          chains=chain_groups(graph), n_clusters=None, epoch=4)
    assert slots.edits == [AddExpert(0, 1), AddExpert(0, 2)]
    assert [len(set(state.labels[i:i + 12])) for i in (0, 12, 24)] == [1, 1, 1]
    assert len(set(state.labels.tolist())) == 3
    np.testing.assert_array_equal(state.initial_slots, state.labels)
    event = state.history.events[0]
    assert event["rule"] == "partition" and event["children"] == [0, 1, 2] and event["epoch"] == 4
    assert empty.graph is None and len(empty.history) == 0  # the input state is left as it was


def test_first_experts_told_more_clusters_bisect_up_to_that_many():
    slots = Slots(active=[0], capacity=8)
    graph = three_cliques()
    state = first_experts(FitState(), PointGraph(graph, np.arange(36), np.arange(36)), slots, rules=RULES,
                          chains=chain_groups(graph), n_clusters=5, epoch=0)
    assert slots.active == [0, 1, 2, 3, 4] and len(set(state.labels.tolist())) == 5
    assert [e["rule"] for e in state.history.events] == ["partition", "n_clusters", "n_clusters"]


def test_merge_split_round_splits_an_expert_whose_points_fall_apart_and_merges_one_that_does_not_hold():
    # Expert 0 holds cliques 0 and 2 (no edge between them): it splits. Expert 1 holds clique 1
    # but for three of its nodes, given to expert 2: a piece of 3 < min_size joins its neighbour.
    graph = three_cliques()
    labels = np.array([0] * 12 + [1] * 9 + [2] * 3 + [0] * 12)
    before = state_on(graph, labels)
    slots = Slots(active=[0, 1, 2], capacity=8)
    state, splits, merges = merge_split_round(before, slots, rules=RULES, chains=chain_groups(graph), epoch=9)
    assert [e["parent"] for e in splits] == [0]
    assert len(set(state.labels[:12])) == 1 and len(set(state.labels[24:])) == 1
    assert state.labels[0] != state.labels[24]
    assert len(set(state.labels[12:24])) == 1  # the clique is one expert again
    assert len(set(state.labels.tolist())) == 3
    assert any(isinstance(e, AddExpert) and e.parent == 0 for e in slots.edits)
    assert set(slots.active) == set(state.labels.tolist())
    np.testing.assert_array_equal(before.labels, labels)  # the input state is left as it was
    assert len(before.history) == 0


def test_merge_split_round_waits_for_a_free_slot_before_splitting():
    graph = three_cliques()
    labels = np.array([0] * 12 + [1] * 12 + [0] * 12)
    slots = Slots(active=[0, 1], capacity=2)
    state, splits, merges = merge_split_round(state_on(graph, labels), slots, rules=RULES, chains=chain_groups(graph),
                                              epoch=3)
    assert splits == [] and merges == [] and slots.edits == []
    np.testing.assert_array_equal(state.labels, labels)


def test_expectation_step_drops_an_expert_the_router_left_empty():
    graph = three_cliques()
    state = state_on(graph, np.array([0] * 12 + [1] * 12 + [2] * 12))
    routed = np.array([0] * 24 + [2] * 12)
    slots = Slots(active=[0, 1, 2], capacity=4)
    new = expectation_step(state, routed, slots, n_clusters=None, min_size=5, epoch=5)
    assert slots.edits == [RemoveExpert(1)]
    np.testing.assert_array_equal(new.labels, routed)
    # The tree's history says where the expert's points went: all twelve to expert 0.
    (event,) = new.history.events
    assert (event["kind"], event["rule"], event["experts"], event["into"]) == ("merge", "emptied", [1, 0], 0)
    assert event["sizes"] == [12, 12] and event["epoch"] == 5
    assert len(state.history) == 0


def test_honour_n_clusters_bisects_the_largest_expert_at_its_bridge():
    # One expert over two 10-cliques joined by one edge, another over a 4-clique; told 3 clusters.
    edges = clique_edges(range(10)) + clique_edges(range(10, 20)) + [(9, 10, 1.0)] + clique_edges(range(20, 24))
    graph = graph_from_edges(24, edges)
    state, slots = state_on(graph, np.array([0] * 20 + [2] * 4)), Slots(active=[0, 2], capacity=4)
    labels = honour_n_clusters(state, state.labels, slots, n_clusters=3, epoch=7, min_size=5)
    assert slots.edits == [AddExpert(parent=0, slot=1)]  # the lowest free slot, as the bank will place it
    assert slots.active == [0, 1, 2]
    assert set(labels[:10].tolist()) == {0} and set(labels[10:20].tolist()) == {1} or \
        set(labels[:10].tolist()) == {1} and set(labels[10:20].tolist()) == {0}
    assert set(labels[20:].tolist()) == {2}
    event = state.history.events[-1]
    assert event["rule"] == "n_clusters" and event["parent"] == 0 and event["epoch"] == 7


def test_honour_n_clusters_splits_an_expert_that_falls_apart_before_bisecting_the_largest():
    # Expert 0: one 30-clique (the largest). Expert 1: two 10-cliques with no edge between them,
    # as when routing gives one expert a second object. Told 3, expert 1 comes apart; 0 stays whole.
    edges = clique_edges(range(30)) + clique_edges(range(30, 40)) + clique_edges(range(40, 50))
    graph = graph_from_edges(50, edges)
    state, slots = state_on(graph, np.array([0] * 30 + [1] * 20)), Slots(active=[0, 1], capacity=4)
    labels = honour_n_clusters(state, state.labels, slots, n_clusters=3, epoch=2, min_size=5)
    assert slots.edits == [AddExpert(parent=1, slot=2)]
    assert set(labels[:30].tolist()) == {0}
    assert {frozenset(labels[30:40].tolist()), frozenset(labels[40:].tolist())} == {frozenset({1}), frozenset({2})}
    assert state.history.events[-1]["sizes"] == [10, 10]


def test_a_round_told_n_clusters_restores_the_count_after_its_merges():
    # Cliques 0-11 and 12-23 (one weak edge between them) are one expert; told 3 clusters, the
    # round bisects it at the bridge; untold, it stays.
    graph = three_cliques()
    labels = np.array([0] * 24 + [2] * 12)
    for n_clusters, expected in [(None, labels), (3, np.array([0] * 12 + [1] * 12 + [2] * 12))]:
        slots = Slots(active=[0, 2], capacity=4)
        state, splits, merges = merge_split_round(state_on(graph, labels), slots, rules=RULES,
                                                  chains=chain_groups(graph), epoch=6, n_clusters=n_clusters)
        assert merges == []
        assert [e["rule"] for e in splits] == ([] if n_clusters is None else ["n_clusters"])
        assert adjusted_rand_score(expected, state.labels) == 1.0 and len(slots.active) == len(set(expected))


def test_the_e_step_leaves_n_clusters_to_the_rounds_while_one_is_ahead():
    module = SimpleNamespace(hparams=SimpleNamespace(trunk=SimpleNamespace(epochs=10),
                                                     graph=SimpleNamespace(merge_every=4)))
    ahead = [ConnectivityCallback._round_ahead(SimpleNamespace(current_epoch=e - 1, max_epochs=20), module)
             for e in range(11, 21)]  # rounds at the ends of epochs 14 and 18
    assert ahead == [True] * 8 + [False] * 2


def test_an_e_step_follows_every_expert_epoch_and_a_round_every_merge_every():
    callback = ConnectivityCallback()
    module = SimpleNamespace(hparams=SimpleNamespace(trunk=SimpleNamespace(epochs=10),
                                                     graph=SimpleNamespace(merge_every=4)))
    due = {e: [step.__name__ for step in callback._steps_due(SimpleNamespace(current_epoch=e - 1, max_epochs=20),
                                                            module)]
           for e in range(9, 21)}
    assert due[9] == [] and due[10] == ["_first_experts"]
    assert due[14] == due[18] == ["_expectation_step", "_merge_split_round"]
    assert all(due[e] == ["_expectation_step"] for e in (11, 12, 13, 15, 16, 17, 19))
    assert due[20] == ["_expectation_step", "_finish"]  # no round at the end: the router decides


def test_finish_records_the_tree_and_cuts_it_at_n_clusters():
    graph = three_cliques()
    routed = np.array([0] * 12 + [1] * 12 + [2] * 12)
    state = state_on(graph, routed)
    slots = Slots(active=[0, 1, 2], capacity=4)
    codes = np.repeat([[0.0], [1.0], [5.0]], 12, axis=0) + np.tile(np.linspace(0, 0.5, 12), 3)[:, None]
    new = finish(state, routed, slots, codes, n_clusters=2, epoch=20)
    assert new.tree_sizes == {0: 12, 1: 12, 2: 12}
    assert new.tree_weights[(0, 1)] == pytest.approx(0.1)  # the one weak edge, once
    # Closest points: 0.5 to 1.0, then 1.5 to 5.0 and 0.5 to 5.0.
    assert new.tree_distances == pytest.approx({(0, 1): 0.5, (0, 2): 4.5, (1, 2): 3.5})
    (assign,) = slots.edits
    assert isinstance(assign, AssignClusters)
    # Two clusters: the two joined cliques together, the third alone.
    assert assign.clusters[0] == assign.clusters[1] != assign.clusters[2]
    with pytest.raises(RuntimeError, match="n_clusters=4"):
        finish(state, routed, Slots(active=[0, 1, 2], capacity=4), codes, n_clusters=4, epoch=20)


def test_finish_records_an_expert_the_final_routing_left_empty():
    graph = three_cliques()
    before = np.array([0] * 12 + [1] * 12 + [2] * 12)
    routed = np.array([0] * 12 + [1] * 24)  # the router gives the third clique to expert 1
    slots = Slots(active=[0, 1, 2], capacity=4)
    codes = np.repeat([[0.0], [1.0], [5.0]], 12, axis=0)
    new = finish(state_on(graph, before), routed, slots, codes, n_clusters=None, epoch=30)
    assert slots.edits == [RemoveExpert(2), AssignClusters({0: 0, 1: 1})]
    (event,) = new.history.events
    assert (event["rule"], event["experts"], event["into"], event["epoch"]) == ("emptied", [2, 1], 1, 30)
    assert event["sizes"] == [12, 12] and set(new.tree_sizes) == {0, 1}


@pytest.mark.parametrize("on_one_chain", [False, True])
def test_a_round_splits_along_the_fine_graph_unless_the_merge_rules_join_the_parts_again(on_one_chain):
    # One expert over two cliques of 12 that three edges join in the kNN graph and nothing joins
    # in the fine graph; on one chain, the chain rule would merge the parts straight back.
    fine_edges = clique_edges(range(12)) + clique_edges(range(12, 24))
    graph = graph_from_edges(24, fine_edges + [(0, 12, 1.0), (1, 13, 1.0), (2, 14, 1.0)])
    points = np.arange(24)
    state = FitState(graph=PointGraph(graph, points, points, n_neighbors=6, fine=graph_from_edges(24, fine_edges)),
                     labels=np.zeros(24, dtype=int))
    slots = Slots(active=[0], capacity=4)
    chains = np.zeros(24, dtype=int) if on_one_chain else np.full(24, -1)
    after, splits, merges = merge_split_round(state, slots, rules=RULES, chains=chains, epoch=4)
    assert merges == []
    if on_one_chain:
        assert splits == [] and slots.edits == []
        np.testing.assert_array_equal(after.labels, 0)
    else:
        assert [(e["rule"], e["children"]) for e in splits] == [("fine components", [0, 1])]
        assert slots.edits == [AddExpert(0, 1)]
        np.testing.assert_array_equal(after.labels, np.repeat([0, 1], 12))
