"""The graph steps of a fit, as functions: a :class:`~mixae_graph.state.FitState` and the evidence
the networks give (a graph, routed labels) in; a new state and a list of edits to the expert bank out.

Nothing here touches a network. The steps plan with :class:`Slots`, a ledger of the bank's slots
that hands out free slots exactly as :meth:`~mixae_graph.experts.ExpertBank.add_expert` will (the
lowest free one), and the callback (:class:`~mixae_graph.connectivity.ConnectivityCallback`)
applies the edits in order:

* :class:`AddExpert`: copy expert ``parent`` into slot ``slot`` (a split's child);
* :class:`RemoveExpert`: deactivate ``slot`` (an empty or merged expert);
* :class:`AssignClusters`: the router's table, slot -> final cluster.

The rules that decide what is one cluster live in :mod:`mixae_graph.merge_split`; these functions
put them in order and record every decision in the state's history.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .graph import PointGraph, expert_distances, expert_weights
from .merge_split import bisect_expert, join_pieces, partition, reassign_fragments, split_experts
from .state import FitState
from .tree import cut_tree


@dataclass(frozen=True)
class AddExpert:
    """Copy expert ``parent`` into the free slot ``slot`` (a split's child)."""

    parent: int
    slot: int


@dataclass(frozen=True)
class RemoveExpert:
    """Deactivate ``slot``."""

    slot: int


@dataclass(frozen=True)
class AssignClusters:
    """The final cluster of every active slot (``{slot: cluster}``); other slots route nowhere."""

    clusters: dict[int, int]


@dataclass
class Slots:
    """The bank's slots as the steps plan them: the active ones, the capacity, and the edits so far."""

    active: list[int]
    capacity: int
    edits: list = field(default_factory=list)

    @classmethod
    def of(cls, bank) -> "Slots":
        return cls(active=bank.active_slots.tolist(), capacity=bank.max_experts)

    @property
    def free(self) -> int:
        return self.capacity - len(self.active)

    def add(self, parent: int) -> int:
        """A child of ``parent`` in the lowest free slot (as the bank will place it)."""
        taken = set(self.active)
        slot = next((s for s in range(self.capacity) if s not in taken), None)
        if slot is None:
            raise RuntimeError(f"the expert bank is full ({self.capacity} slots in use); raise max_experts")
        self.active = sorted(self.active + [slot])
        self.edits.append(AddExpert(int(parent), slot))
        return slot

    def remove(self, slot: int) -> None:
        self.active.remove(int(slot))
        self.edits.append(RemoveExpert(int(slot)))


def _next(state: FitState, **changes) -> FitState:
    """A copy of ``state`` with ``changes``; the history is copied, so the old state stays as it was."""
    return dataclasses.replace(state, history=copy.deepcopy(state.history), **changes)


def first_experts(state: FitState, graph: PointGraph, slots: Slots, *, rules: dict, chains: np.ndarray,
                  n_clusters: int | None, epoch: int) -> FitState:
    """The graph's own parts (:func:`~mixae_graph.merge_split.partition`) become the first experts,
    children of the one seed expert; told ``n_clusters``, split up to that many
    (:func:`honour_n_clusters`). Parts beyond the bank's capacity go to the experts (-1)."""
    parts = partition(graph.graph, **rules, chains=chains, **_fine(graph, rules["min_size"]), confirmed=graph.confirmed)
    parts = _largest(parts, slots.capacity)
    seed = slots.active[0]
    children = [seed] + [slots.add(seed) for _ in range(parts.max())]
    labels = np.where(parts >= 0, np.asarray(children)[np.maximum(parts, 0)], -1)
    state = _next(state, graph=graph, _full=None)
    if len(children) > 1:
        state.history.record_split(seed, children, epoch, sizes=np.bincount(parts[parts >= 0]).tolist(),
                                   rule="partition")
    labels = honour_n_clusters(state, labels, slots, n_clusters, epoch, min_size=rules["min_size"])
    point_labels = graph.to_points(labels)
    return dataclasses.replace(state, labels=point_labels, initial_slots=point_labels.copy())


def expectation_step(state: FitState, routed: np.ndarray, slots: Slots, *, n_clusters: int | None,
                     min_size: int, epoch: int) -> FitState:
    """The E-step's labels of the landmarks (``routed``) become the experts' points: experts left
    without a point vanish; told ``n_clusters``, experts split until there are that many
    (:func:`honour_n_clusters`). The callback passes ``n_clusters`` only once no merge/split
    round is ahead: before that, a round restores the count, as it would without ``n_clusters``."""
    state = _next(state)
    _drop_empty(state, state.labels[state.graph.landmarks], routed, slots, epoch)
    routed = honour_n_clusters(state, routed, slots, n_clusters, epoch, min_size=min_size)
    return dataclasses.replace(state, labels=state.graph.to_points(routed))


def merge_split_round(state: FitState, slots: Slots, *, rules: dict, chains: np.ndarray, epoch: int,
                      n_clusters: int | None = None) -> tuple[FitState, list[dict], list[dict]]:
    """Stray points back to their neighbours, then splits of experts that fall apart, then the merge
    rules (which may join a split's parts again, never the other way round); told ``n_clusters``,
    experts split until there are that many (:func:`honour_n_clusters`). Returns the new state,
    the splits (children as slots) and the merges."""
    state, graph = _next(state), state.graph.graph
    labels = reassign_fragments(graph, state.labels[state.graph.landmarks], rules["min_size"])
    _drop_empty(state, state.labels[state.graph.landmarks], labels, slots, epoch)
    split_labels, splits = split_experts(graph, labels, min_size=rules["min_size"],
                                         **_fine(state.graph, rules["min_size"]))
    # A split whose parts the merge rules join again at once (a thin manifold's pieces in the fine
    # graph) is none: it would only churn the experts every round.
    joined, _ = join_pieces(graph, split_labels, min_size=rules["min_size"], chain_share=rules["chain_share"],
                            chains=chains)
    splits = [e for e in splits if len(np.unique(joined[np.isin(split_labels, e["children"])])) > 1]
    done = []
    for event in splits:
        if len(event["children"]) - 1 <= slots.free:  # else no room: the expert stays whole for now
            done.append(_apply_split(state, labels, split_labels, event, slots, epoch, event["rule"]))
    labels, merges = join_pieces(graph, labels, min_size=rules["min_size"], chain_share=rules["chain_share"],
                                 chains=chains)
    for event in merges:
        for slot in event["experts"]:
            if slot != event["into"]:
                slots.remove(slot)
        state.history.record_merge(event["experts"], event["into"], epoch, sizes=event["sizes"], rule=event["rule"])
    recorded = len(state.history.events)
    labels = honour_n_clusters(state, labels, slots, n_clusters, epoch, min_size=rules["min_size"])
    done += state.history.events[recorded:]
    return dataclasses.replace(state, labels=state.graph.to_points(labels)), done, merges


def finish(state: FitState, routed: np.ndarray, slots: Slots, codes: np.ndarray, *,
           n_clusters: int | None, epoch: int) -> FitState:
    """Every training point's most likely expert (``routed``) is its final one (an expert left
    without points is recorded as emptied, at ``epoch``); the tree over the experts is recorded
    (their graph weights, and the distances between the graph's points, ``codes`` the landmarks'
    latent codes) and cut at ``n_clusters`` when given (:class:`AssignClusters`)."""
    state = _next(state)
    _drop_empty(state, state.labels, routed, slots, epoch)
    weights, ids = expert_weights(state.full_graph, routed)
    apart, apart_ids = expert_distances(codes, routed[state.graph.landmarks])
    state = dataclasses.replace(
        state, final_slots=routed,
        tree_sizes={int(s): int(np.sum(routed == s)) for s in slots.active},
        tree_weights={  # (slot, slot): the weight inside an expert, which its volume needs
            (int(ids[i]), int(ids[j])): float(weights[i, j])
            for i in range(len(ids)) for j in range(i, len(ids)) if weights[i, j] > 0},
        tree_distances={(int(apart_ids[i]), int(apart_ids[j])): float(apart[i, j])
                        for i in range(len(apart_ids)) for j in range(i + 1, len(apart_ids))})
    clusters = {slot: column for column, slot in enumerate(slots.active)}
    if n_clusters is not None:
        if n_clusters > len(slots.active):  # honour_n_clusters and the final mixing weights rule this out
            raise RuntimeError(f"n_clusters={n_clusters}, but the fit ended with {len(slots.active)} "
                               "experts that own points")
        clusters = cut_tree(state.cluster_tree, n_clusters)
    slots.edits.append(AssignClusters({int(s): int(c) for s, c in clusters.items()}))
    return state


def honour_n_clusters(state: FitState, labels: np.ndarray, slots: Slots, n_clusters: int | None,
                      epoch: int, *, min_size: int) -> np.ndarray:
    """Told ``n_clusters=K``, add experts until there are ``K``: first the experts whose points
    fall apart (:func:`~mixae_graph.merge_split.split_experts` on ``state``'s graph, the rounds'
    own rule), largest first; then, while still short, bisect the expert with the most points
    (:func:`bisect_expert`). Each split is recorded in ``state``'s history (in place)."""
    if n_clusters is None or len(slots.active) >= n_clusters:
        return labels
    graph = state.graph.graph
    split_labels, events = split_experts(graph, labels, min_size=min_size, **_fine(state.graph, min_size))
    labels = labels.copy()
    for event in sorted(events, key=lambda e: -sum(e["sizes"])):
        if event["parent"] >= 0 and len(slots.active) < n_clusters and len(event["children"]) - 1 <= slots.free:
            _apply_split(state, labels, split_labels, event, slots, epoch, "n_clusters")
    while len(slots.active) < n_clusters:
        owners, sizes = np.unique(labels[labels >= 0], return_counts=True)
        parent = int(owners[np.argmax(sizes)])
        child = slots.add(parent)
        labels = bisect_expert(graph, labels, parent, child)
        state.history.record_split(parent, [parent, child], epoch, rule="n_clusters",
                                   sizes=[int(np.sum(labels == parent)), int(np.sum(labels == child))])
    return labels


def _apply_split(state: FitState, labels: np.ndarray, split_labels: np.ndarray, event: dict, slots: Slots,
                 epoch: int, rule: str) -> dict:
    """Carry out a split event of :func:`~mixae_graph.merge_split.split_experts` (children as
    ``split_labels`` ids): each child but the first gets a free slot and its points in ``labels``
    (in place); the split is recorded. Returns the event with the children as slots."""
    children = [event["parent"]] + [slots.add(event["parent"]) for _ in event["children"][1:]]
    for child, slot in zip(event["children"][1:], children[1:]):
        labels[split_labels == child] = slot
    state.history.record_split(event["parent"], children, epoch, sizes=event["sizes"], rule=rule)
    return {**event, "children": children, "rule": rule}


def _fine(graph: PointGraph, min_size: int) -> dict:
    """The fine graph for :func:`~mixae_graph.merge_split.split_experts`, whose parts must each
    be one point's neighbourhood in the kNN graph big (and ``min_size``)."""
    return dict(fine=graph.fine, fine_min_size=max(min_size, graph.n_neighbors))


def _drop_empty(state: FitState, before: np.ndarray, labels: np.ndarray, slots: Slots, epoch: int) -> None:
    """Experts that own no point in ``labels`` vanish. One that owned points in ``before`` (the
    same points' earlier labels) is recorded in ``state``'s history (in place) as merged, rule
    ``"emptied"``, into the expert that took most of them."""
    for slot in [s for s in slots.active if not np.any(labels == s)]:
        taken = labels[(before == slot) & (labels >= 0)]
        if len(taken):
            into = int(np.bincount(taken).argmax())
            state.history.record_merge([slot, into], into, epoch, rule="emptied",
                                       sizes=[int(np.sum(before == slot)), int(np.sum(before == into))])
        slots.remove(slot)


def _largest(parts: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest parts (``0..k-1``); points of the others (``-1``) go to the experts."""
    sizes = np.bincount(parts[parts >= 0])
    if len(sizes) <= k:
        return parts
    keep = np.argsort(-sizes, kind="stable")[:k]
    relabel = np.full(len(sizes), -1)
    relabel[np.sort(keep)] = np.arange(k)
    return np.where(parts >= 0, relabel[np.maximum(parts, 0)], -1)
