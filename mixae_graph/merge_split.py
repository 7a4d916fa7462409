"""The merge and split rules: pure functions from a point graph and expert labels to decisions.

One criterion serves both directions. A set of points is one cluster when the rules below join its
Louvain pieces back together; an expert splits when they do not (:func:`split_experts` runs
:func:`partition` on the expert's own subgraph).

* Tiny pieces join their best-connected neighbour (:func:`absorb_small`).
* Conductance rule (:func:`merge_connected`): two experts merge when the kNN graph connects them
  about as strongly as each holds itself together, i.e. the conductance of the cut between them is
  at least ``threshold`` times the best bisection conductance inside each
  (Shi & Malik 2000; spectral sweep cut, Chung 1997).
* Chain rule (:func:`merge_chains`): a connected component whose experts touch end to end (each sends
  almost all of its outside weight to at most two neighbours: a path or a cycle) is one thin
  manifold, cut arbitrarily by community detection; all of it merges. Distinct classes of image
  data touch many others instead (measured on 8x8 digits: a median of 64% of outside weight goes to
  the two strongest neighbours, against 100% for moons, circles and spirals).

Labels are arbitrary integer expert ids. Merges keep the largest expert's id; split children after the
first get fresh ids above the largest one. Every decision is returned as an event dict that the
cluster tree records.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from .graph import communities, expert_weights


def bisection_conductance(graph: sp.spmatrix) -> float:
    """Conductance of the best sweep cut along the Fiedler vector of ``graph`` (0 if disconnected).

    ``graph`` is a symmetric weighted adjacency matrix. Graphs too small to cut count as
    perfectly cohesive (1.0).
    """
    graph = sp.csr_matrix(graph)
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    if n < 4 or degree.sum() == 0:
        return 1.0
    if connected_components(graph, directed=False)[0] > 1:
        return 0.0
    inv_sqrt = 1.0 / np.sqrt(degree)
    normalized = sp.diags(inv_sqrt) @ graph @ sp.diags(inv_sqrt)
    try:
        values, vectors = eigsh(normalized, k=2, which="LA", tol=1e-4, v0=np.sqrt(degree))
    except (ArpackNoConvergence, ValueError):
        values, vectors = np.linalg.eigh(normalized.toarray())
        values, vectors = values[-2:], vectors[:, -2:]
    fiedler = vectors[:, np.argmin(values)] * inv_sqrt
    order = np.argsort(fiedler, kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    edges = sp.triu(graph, k=1).tocoo()
    first = np.minimum(position[edges.row], position[edges.col])
    last = np.maximum(position[edges.row], position[edges.col])
    # An edge crosses every sweep cut between its two ends: a difference array, then a cumsum.
    change = np.bincount(first, edges.data, n + 1) - np.bincount(last, edges.data, n + 1)
    cut = np.cumsum(change)[: n - 1]
    volume = np.cumsum(degree[order])[: n - 1]
    smaller = np.minimum(volume, degree.sum() - volume)
    return float(np.min(cut / np.maximum(smaller, 1e-12)))


def _cohesion(graph: sp.csr_matrix, labels: np.ndarray, expert: int) -> float:
    members = np.flatnonzero(labels == expert)
    return bisection_conductance(graph[members][:, members])


def _merge(labels: np.ndarray, experts: list[int], events: list[dict], rule: str) -> np.ndarray:
    sizes = [int(np.sum(labels == e)) for e in experts]
    into = experts[int(np.argmax(sizes))]  # the largest absorbs the rest
    labels = np.where(np.isin(labels, experts), into, labels)
    events.append({"kind": "merge", "experts": sorted(experts), "into": into, "sizes": sizes, "rule": rule})
    return labels


def absorb_small(graph, labels, min_size: int) -> tuple[np.ndarray, list[dict]]:
    """Join every expert smaller than ``min_size`` to its best-connected neighbour, smallest first.

    An isolated small expert (no edge out) stays: the caller decides what a tiny component is.
    """
    graph, labels, events = sp.csr_matrix(graph), np.asarray(labels).copy(), []
    while True:
        ids, sizes = np.unique(labels, return_counts=True)
        weights, _ = expert_weights(graph, labels)
        np.fill_diagonal(weights, 0.0)
        small = [i for i in np.argsort(sizes, kind="stable") if sizes[i] < min_size and weights[i].any()]
        if not small:
            return labels, events
        i = small[0]
        labels = _merge(labels, [int(ids[i]), int(ids[np.argmax(weights[i])])], events, "small")


def merge_connected(graph, labels, threshold: float = 0.7) -> tuple[np.ndarray, list[dict]]:
    """Merge, strongest pair first, experts whose cut conductance is at least ``threshold`` times
    the bisection conductance of each of the two."""
    graph, labels, events = sp.csr_matrix(graph), np.asarray(labels).copy(), []
    cohesion = {int(e): _cohesion(graph, labels, e) for e in np.unique(labels)}
    while len(cohesion) > 1:
        weights, ids = expert_weights(graph, labels)
        inside = np.diag(weights)
        best, pair = threshold, None
        for i, j in zip(*np.nonzero(np.triu(weights, k=1))):
            between = weights[i, j]
            cut = between / min(inside[i] + between, inside[j] + between)
            # Against the tighter of the two: a loose expert must not swallow its neighbours one by
            # one (the chaining of single linkage).
            ratio = cut / max(cohesion[int(ids[i])], cohesion[int(ids[j])], 1e-12)
            if ratio >= best:
                best, pair = ratio, [int(ids[i]), int(ids[j])]
        if pair is None:
            break
        labels = _merge(labels, pair, events, "conductance")
        into = events[-1]["into"]
        del cohesion[pair[0] if pair[1] == into else pair[1]]
        cohesion[into] = _cohesion(graph, labels, into)
    return labels, events


def merge_chains(graph, labels, chain_share: float = 0.9) -> tuple[np.ndarray, list[dict]]:
    """Merge every connected component whose experts form a chain (path or cycle)."""
    graph, labels, events = sp.csr_matrix(graph), np.asarray(labels).copy(), []
    weights, ids = expert_weights(graph, labels)
    np.fill_diagonal(weights, 0.0)
    n_parts, component = connected_components(sp.csr_matrix(weights > 0), directed=False)
    strongest_two = -np.sort(-weights, axis=1)[:, :2].sum(axis=1)
    share = strongest_two / np.maximum(weights.sum(axis=1), 1e-12)
    for part in range(n_parts):
        members = np.flatnonzero(component == part)
        if len(members) > 1 and np.median(share[members]) >= chain_share:
            labels = _merge(labels, [int(ids[m]) for m in members], events, "chain")
    return labels, events


def join_pieces(graph, labels, *, min_size: int, threshold: float, chain_share: float):
    """Apply the merge rules in order (small pieces, conductance, chains) until nothing changes."""
    events = []
    while True:
        before = len(events)
        labels, new = absorb_small(graph, labels, min_size)
        events += new
        labels, new = merge_connected(graph, labels, threshold)
        events += new
        labels, new = merge_chains(graph, labels, chain_share)
        events += new
        if len(events) == before:
            return labels, events


def partition(graph, *, resolution=1.0, min_size=10, threshold=0.7, chain_share=0.9, random_state=0):
    """Louvain pieces of ``graph`` joined by the merge rules: labels ``0..k-1``, ``-1`` for points in
    isolated specks smaller than ``min_size``."""
    pieces = communities(graph, resolution, random_state)
    labels, _ = join_pieces(graph, pieces, min_size=min_size, threshold=threshold, chain_share=chain_share)
    labels = np.unique(labels, return_inverse=True)[1]
    sizes = np.bincount(labels)
    if sizes.max() < min_size:
        return np.zeros_like(labels)
    # What is still tiny is an isolated speck of the graph: left to the experts to route (-1).
    keep = np.flatnonzero(sizes >= min_size)
    relabel = np.full(len(sizes), -1)
    relabel[keep] = np.arange(len(keep))
    return relabel[labels]


def split_experts(graph, labels, *, resolution=1.0, min_size=10, threshold=0.7, chain_share=0.9,
                  random_state=0) -> tuple[np.ndarray, list[dict]]:
    """Split every expert whose own subgraph :func:`partition` cuts into parts of ``min_size`` or more.

    The subgraph's Louvain resolution is scaled by its share of the graph's volume, so that modularity
    keeps the whole graph's null model: a split finds only parts that the first partition would find
    too (without it, any large expert falls apart into pieces of its own size).
    The first part keeps the expert's id, the others take fresh ids above the current largest.
    """
    graph, labels, events = sp.csr_matrix(graph), np.asarray(labels).copy(), []
    total_volume = graph.sum()
    next_id = int(labels.max()) + 1
    for expert in np.unique(labels):
        members = np.flatnonzero(labels == expert)
        if len(members) < 2 * min_size:
            continue
        subgraph = graph[members][:, members]
        parts = partition(subgraph, resolution=resolution * subgraph.sum() / total_volume, min_size=min_size,
                          threshold=threshold, chain_share=chain_share, random_state=random_state)
        sizes = np.bincount(parts[parts >= 0])
        if len(sizes) < 2:
            continue
        parts = np.where(parts >= 0, parts, 0)  # specks stay with the first part
        sizes = np.bincount(parts)
        children = [int(expert)] + list(range(next_id, next_id + len(sizes) - 1))
        next_id += len(sizes) - 1
        labels[members] = np.asarray(children)[parts]
        events.append({"kind": "split", "parent": int(expert), "children": children,
                       "sizes": sizes.tolist(), "rule": "partition"})
    return labels, events
