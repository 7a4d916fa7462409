"""The merge and split rules: pure functions from a point graph and expert labels to decisions.

The first experts are the graph's Louvain communities at the resolution where they are most
reproducible, on the graph or on its strong edges (:func:`mixae_graph.graph.reproducible_communities`),
split where their points fall apart in the fine graph (each point's two nearest neighbours and up,
no part smaller than a neighbourhood: :func:`~mixae_graph.graph.fine_graph`), and joined by the
merge rules (:func:`partition`).
Later rounds hand stray points back to their neighbours (:func:`reassign_fragments`), split experts
whose points fall apart, in the kNN graph or in the fine graph (:func:`split_experts`), and merge
again.

* Pieces below ``min_size`` points (:func:`absorb_small`) join their best-connected neighbour.
* Chain rule (:func:`merge_chains`): where the graph, cut into small pieces, shows pieces touching
  end to end (each sends almost all of its outside weight to its two strongest neighbours, and
  they link up into a path or a cycle: :func:`chain_groups`), that run is one thin manifold cut
  arbitrarily by community detection; the experts lying on it merge. Distinct classes of image
  data touch many others instead (measured on 8x8 digits: a median of 64% of outside weight goes to
  the two strongest neighbours, against 100% for moons, circles and spirals). A piece in the
  middle of a chain must touch its two neighbours at its two ends (:func:`end_separation`):
  whole objects seen from every angle trace rings that touch their neighbours along their whole
  length, and a run of them is not a manifold.

Labels are arbitrary integer expert ids. Merges keep the largest expert's id; split children after the
first get fresh ids above the largest one. Every decision is returned as an event dict that the
cluster tree records.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from .graph import STABILITY_RUNS, communities, expert_weights, medoid_run, membership, reproducible_communities

# A piece holds together when at least this share of its kNN weight stays inside it: a community in
# the weak sense of Radicchi et al. (PNAS 2004), more weight inside than going out.
WEAK_COMMUNITY = 0.5
# The chain rule (:func:`chain_groups`) reads the graph cut into Louvain communities at this
# resolution: the modularity optimum itself (resolution 1), pieces smaller than most clusters
# whatever the experts are, so that a thin manifold shows as a run of pieces.
CHAIN_RESOLUTION = 1.0
# Fewest linked pieces that make a chain: two or three pieces that are each other's strongest
# neighbours are also what neighbouring blobs look like; four in a row make a path.
CHAIN_MIN_PIECES = 4
# A piece in the middle of a chain is a stretch of a thin manifold: it touches its two neighbours at
# its two ends. Ordered along its own Fiedler vector (0 to 1), the weighted mean positions of its
# contacts with the two lie at least this far apart (measured at seed 0: 0.34-0.99 on the links of
# moons, circles and spirals; 0.04-0.18 where whole turntable objects touch along their length).
CHAIN_END_SEPARATION = 0.25


def bisection_conductance(graph: sp.spmatrix) -> float:
    """Conductance of the best sweep cut along the Fiedler vector of ``graph`` (0 if disconnected).

    ``graph`` is a symmetric weighted adjacency matrix. Graphs too small to cut count as
    perfectly cohesive (1.0).
    """
    return sweep_cut(graph)[0]


def fiedler_sweep(graph: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sweep along the Fiedler vector of ``graph``, 4 nodes or more (Chung 1997):
    the nodes in Fiedler order, and for each of the ``n - 1`` cuts between the first ``i + 1`` of
    them and the rest, its weight and the volume (degree sum) of the first side."""
    graph = sp.csr_matrix(graph)
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
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
    return order, cut, volume


def sweep_cut(graph: sp.spmatrix) -> tuple[float, np.ndarray]:
    """The best sweep cut along the Fiedler vector of ``graph`` (Chung 1997): its conductance and
    a mask of the side that holds the lowest Fiedler values.

    Disconnected: conductance 0, the side is everything outside the largest component. Fewer
    than 4 nodes or no edges: conductance 1, the side is the second half of the nodes.
    """
    graph = sp.csr_matrix(graph)
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    if n < 4 or degree.sum() == 0:
        return 1.0, np.arange(n) >= n // 2
    n_parts, part = connected_components(graph, directed=False)
    if n_parts > 1:
        return 0.0, part != np.argmax(np.bincount(part))
    order, cut, volume = fiedler_sweep(graph)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    smaller = np.minimum(volume, degree.sum() - volume)
    conductance = cut / np.maximum(smaller, 1e-12)
    best = int(np.argmin(conductance))
    return float(conductance[best]), position <= best


def bisect_expert(graph, labels, expert: int, new_id: int) -> np.ndarray:
    """``labels`` with the points of ``expert`` on one side of its best sweep cut
    (:func:`sweep_cut` of its own subgraph) relabelled ``new_id``: the split that honours a
    number of clusters the graph does not give by itself."""
    labels = np.asarray(labels).copy()
    members = np.flatnonzero(labels == expert)
    _, side = sweep_cut(sp.csr_matrix(graph)[members][:, members])
    labels[members[side]] = new_id
    return labels


def _merge(labels: np.ndarray, experts: list[int], events: list[dict], rule: str) -> np.ndarray:
    sizes = [int(np.sum(labels == e)) for e in experts]
    into = experts[int(np.argmax(sizes))]  # the largest absorbs the rest
    labels = np.where(np.isin(labels, experts), into, labels)
    events.append({"kind": "merge", "experts": sorted(experts), "into": into, "sizes": sizes, "rule": rule})
    return labels


def _holds_together(graph: sp.csr_matrix, nodes: np.ndarray) -> np.ndarray:
    """For each part of ``nodes`` (labels ``0..p-1``, one per graph node, -1 for nodes outside
    every part): whether it keeps at least half of its kNN weight inside, a community in the weak
    sense of Radicchi et al. (PNAS 2004); the same test for a 10-point and a 7,000-point part."""
    inside_nodes = nodes >= 0
    onehot = sp.csr_matrix((np.ones(inside_nodes.sum()), (np.flatnonzero(inside_nodes), nodes[inside_nodes])),
                           shape=(graph.shape[0], nodes.max() + 1))
    volume = np.asarray((graph @ onehot).sum(0)).ravel()
    inside = (onehot.T @ graph @ onehot).diagonal()
    return inside >= WEAK_COMMUNITY * volume


def reassign_fragments(graph, labels, min_size: int) -> np.ndarray:
    """Hand each disconnected fragment of an expert that is not a cluster of its own (below
    ``min_size`` points, or more of its kNN weight going out than staying in) to the expert it is
    most connected to.

    Routing by reconstruction leaves a few stray points inside other experts' regions; they are not
    a cluster of their own, and left in place they make their expert look disconnected.
    """
    graph, labels = sp.csr_matrix(graph), np.asarray(labels).copy()
    stray = np.zeros(len(labels), dtype=bool)
    for expert in np.unique(labels):
        members = np.flatnonzero(labels == expert)
        _, part = connected_components(graph[members][:, members], directed=False)
        sizes = np.bincount(part)
        if len(sizes) > 1:
            # Every largest part stays: picking one of several equal parts would go by row order.
            nodes = np.full(graph.shape[0], -1)
            nodes[members] = part
            loose = ~_holds_together(graph, nodes)
            stray[members[(sizes[part] < sizes.max()) & ((sizes[part] < min_size) | loose[part])]] = True
    if not stray.any() or stray.all():
        return labels
    onehot, ids = membership(labels)
    votes = np.asarray((graph[stray] @ onehot[:, :]).todense())  # (n_stray, n_experts)
    votes[np.arange(stray.sum()), np.searchsorted(ids, labels[stray])] = -1  # not their own
    labels[stray] = np.where(votes.max(1) > 0, ids[votes.argmax(1)], labels[stray])
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


def chain_groups(graph, chain_share: float = 0.8, min_pieces: int = CHAIN_MIN_PIECES,
                 random_state: int = 0) -> np.ndarray:
    """Chain id of every point (``-1`` outside any chain): the thin manifolds of the graph.

    The graph is cut into Louvain communities at :data:`CHAIN_RESOLUTION` (small pieces, whatever
    the experts are). A piece is chain-like when it sends ``chain_share`` of its outside weight to
    its two strongest neighbours and, when it has two, touches them at its two ends
    (:func:`end_separation` at least :data:`CHAIN_END_SEPARATION`); chain-like pieces that are
    each other's two strongest neighbours link up, end to end, and a run of ``min_pieces`` or more
    linked pieces (a path or a cycle, by construction) is a chain. A weak bridge between two
    chains (spiral arms touching at the centre) is nobody's strongest link, so the two stay apart.
    """
    graph = sp.csr_matrix(graph)
    pieces = communities(graph, CHAIN_RESOLUTION, random_state)
    weights, _ = expert_weights(graph, pieces)
    np.fill_diagonal(weights, 0.0)
    n = len(weights)
    rows = np.arange(n)[:, None]
    strongest = np.argsort(-weights, axis=1, kind="stable")[:, :2]  # (pieces, 2)
    share = weights[rows, strongest].sum(1) / np.maximum(weights.sum(1), 1e-12)
    chainlike = share >= chain_share
    for piece in np.flatnonzero(chainlike & (weights[np.arange(n), strongest[:, 1]] > 0)):
        chainlike[piece] = end_separation(graph, pieces, piece, strongest[piece]) >= CHAIN_END_SEPARATION
    links = np.zeros_like(weights, dtype=bool)
    links[rows, strongest] = weights[rows, strongest] > 0
    links &= links.T & chainlike[:, None] & chainlike[None, :]
    _, group = connected_components(sp.csr_matrix(links), directed=False)
    long_enough = np.bincount(group)[group] >= min_pieces
    return np.where(chainlike & long_enough, group, -1)[pieces]


def end_separation(graph: sp.csr_matrix, pieces: np.ndarray, piece: int, neighbours) -> float:
    """How far apart ``piece`` touches its two ``neighbours`` (pieces): the weighted mean positions
    of its contacts with each, its points ordered along its own Fiedler vector from 0 to 1 (a
    stretch of a thin manifold: near 1, one neighbour at each end; a ring touching another along
    its length: near 0). A piece too small or too loose for a Fiedler order scores 1."""
    members = np.flatnonzero(pieces == piece)
    inside = graph[members][:, members]
    if len(members) < 4 or connected_components(inside, directed=False)[0] > 1:
        return 1.0
    order, _, _ = fiedler_sweep(inside)
    position = np.empty(len(members))
    position[order] = np.linspace(0.0, 1.0, len(members))
    contact = graph[members]
    means = []
    for neighbour in neighbours:
        weight = np.asarray(contact[:, pieces == neighbour].sum(1)).ravel()
        means.append((position * weight).sum() / weight.sum())
    return float(abs(means[0] - means[1]))


def is_chain(graph, chain_share: float = 0.8, min_pieces: int = CHAIN_MIN_PIECES, random_state: int = 0) -> bool:
    """Whether the whole graph is one thin manifold (one chain holding every point)."""
    chains = chain_groups(graph, chain_share, min_pieces, random_state)
    return bool(chains[0] >= 0 and np.all(chains == chains[0]))


def merge_chains(graph, labels, chain_share: float = 0.8, random_state: int = 0, chains=None):
    """Merge the experts that lie mostly on one chain (:func:`chain_groups`; pass ``chains`` to
    reuse them: they depend on the graph only)."""
    labels, events = np.asarray(labels).copy(), []
    if chains is None:
        chains = chain_groups(graph, chain_share, random_state=random_state)
    on_chain = {}
    for expert in np.unique(labels):
        ids, counts = np.unique(chains[labels == expert], return_counts=True)
        best = np.argmax(counts)
        if ids[best] >= 0 and 2 * counts[best] >= counts.sum():
            on_chain.setdefault(int(ids[best]), []).append(int(expert))
    for experts in on_chain.values():
        if len(experts) > 1:
            labels = _merge(labels, experts, events, "chain")
    return labels, events


def join_pieces(graph, labels, *, min_size: int, chain_share: float, random_state: int = 0,
                chains: np.ndarray | None = None):
    """Apply the merge rules in order (small pieces, chains) until nothing changes."""
    events = []
    if chains is None:  # they depend on the graph only: callers that keep the graph keep them
        chains = chain_groups(graph, chain_share, random_state=random_state)
    while True:
        before = len(events)
        labels, new = absorb_small(graph, labels, min_size)
        events += new
        labels, new = merge_chains(graph, labels, chains=chains)
        events += new
        if len(events) == before:
            return labels, events


def partition(graph, *, resolution=None, min_size=5, chain_share=0.8, random_state=0, chains=None, fine=None,
              fine_min_size=None, confirmed=None):
    """The graph's communities, split where their points fall apart in the ``fine`` graph
    (:func:`split_experts`, parts of ``fine_min_size`` points or more) and joined by the merge
    rules: labels ``0..k-1``, ``-1`` for points in isolated specks smaller than ``min_size``.

    ``resolution=None``: Louvain at the resolution of the most reproducible partition, of the
    graph or of its strong edges (:func:`~mixae_graph.graph.reproducible_communities`); a number:
    Louvain on the graph at that resolution.

    ``confirmed`` (``graph`` intersected with a second view's kNN graph,
    :func:`~mixae_graph.graph.intersection`): ``graph`` gives the count, ``confirmed`` the parts
    (:func:`parts_at_count`).
    """
    if resolution is None:
        pieces, _, _ = reproducible_communities(graph, random_state=random_state)
    else:
        pieces = communities(graph, resolution, random_state)
    rules = dict(min_size=min_size, chain_share=chain_share, random_state=random_state, chains=chains, fine=fine,
                 fine_min_size=fine_min_size)
    labels = apply_rules(graph, pieces, **rules)
    if confirmed is None or labels.max() < 1:  # one part is one part in any graph
        return labels
    sharper = parts_at_count(graph, confirmed, int(labels.max()) + 1, **rules)
    return labels if sharper is None else sharper


def parts_at_count(graph, confirmed, count: int, *, random_state=0, search_steps: int = 16, **rules):
    """``count`` parts of the ``confirmed`` graph, or None where it has no such partition.

    A second view of the points (the input beside the trunk's codes) makes a purer graph: an
    edge both views draw is likelier to join two points of one class than an edge one view draws
    alone. But its sparser weights make the stability of :func:`partition` swing (structureless
    noise breaks into dozens of reproducible pieces), so the count stays the codes' graph's, and
    ``confirmed`` only decides where the borders run. Louvain on ``confirmed`` at the resolution
    whose parts, after the rules of :func:`apply_rules` on ``graph``, number ``count`` (bisection
    on the log of the resolution, from 1/50 to 50); there, the medoid of
    :data:`~mixae_graph.graph.STABILITY_RUNS` runs that give ``count`` parts. None where no
    resolution gives ``count``: a thin manifold that the second view cuts into more pieces than
    the rules join, for one.
    """
    def parts(resolution: float, seed: int) -> np.ndarray:
        return apply_rules(graph, communities(confirmed, resolution, seed), random_state=random_state, **rules)

    def found(labels: np.ndarray) -> int:
        return int(labels.max()) + 1

    low, high = np.log(1 / 50), np.log(50.0)
    for _ in range(search_steps):
        resolution = float(np.exp((low + high) / 2))
        labels = parts(resolution, random_state)
        if found(labels) == count:
            break
        low, high = (np.log(resolution), high) if found(labels) < count else (low, np.log(resolution))
    else:
        return None
    runs = [labels for labels in (parts(resolution, random_state + run) for run in range(STABILITY_RUNS))
            if found(labels) == count]
    return medoid_run(runs)[0] if runs else labels


def apply_rules(graph, pieces, *, min_size=5, chain_share=0.8, random_state=0, chains=None, fine=None,
                fine_min_size=None):
    """The rules that follow the Louvain step of :func:`partition`, on any ``pieces`` of the graph:
    split where the ``fine`` graph falls apart, then the merge rules; labels ``0..k-1``, ``-1`` for
    points in isolated specks smaller than ``min_size``."""
    pieces, _ = split_experts(graph, pieces, min_size=min_size, fine=fine, fine_min_size=fine_min_size)
    labels, _ = join_pieces(graph, pieces, min_size=min_size, chain_share=chain_share,
                            random_state=random_state, chains=chains)
    labels = np.unique(labels, return_inverse=True)[1]
    sizes = np.bincount(labels)
    if sizes.max() < min_size:
        return np.zeros_like(labels)
    # What is still tiny is an isolated speck of the graph: left to the experts to route (-1).
    keep = np.flatnonzero(sizes >= min_size)
    relabel = np.full(len(sizes), -1)
    relabel[keep] = np.arange(len(keep))
    return relabel[labels]


def split_experts(graph, labels, *, min_size: int = 10, fine=None,
                  fine_min_size: int | None = None) -> tuple[np.ndarray, list[dict]]:
    """Split every expert whose points fall apart: into separate connected parts of the kNN
    ``graph``, each of ``min_size`` points or more that holds together (:func:`_holds_together`),
    or else, given the ``fine`` graph (the sparsest kNN graph whose parts could each be a
    cluster, :func:`~mixae_graph.graph.fine_graph`), into separate parts of that graph, each of
    ``fine_min_size`` points or more (one point's neighbourhood in ``graph``) that holds together
    in ``graph``. Other fragments stay with the largest part.

    The fine graph keeps a cluster of any dimension in one piece, while objects seen from every
    angle, whose rings touch along their length in the kNN graph, come apart into one ring each;
    a thin manifold it cuts into pieces joins again by the chain rule (:func:`merge_chains`).

    Only disconnection splits: a cut inside one connected expert is left to the first partition,
    since borders drawn by routing are ragged and would be cut again and again (measured on digits:
    cutting routed experts by community detection added an expert every round).
    The largest part keeps the expert's id, the others take fresh ids above the current largest.
    """
    graph, labels, events = sp.csr_matrix(graph), np.asarray(labels).copy(), []
    fine = None if fine is None else sp.csr_matrix(fine)
    next_id = int(labels.max()) + 1
    for expert in np.unique(labels):
        members = np.flatnonzero(labels == expert)
        part, big, rule = *_parts(graph, graph, members, min_size), "components"
        if len(big) < 2 and fine is not None:
            part, big, rule = *_parts(graph, fine, members, fine_min_size or min_size), "fine components"
        if len(big) < 2:
            continue
        children = [int(expert)] + list(range(next_id, next_id + len(big) - 1))
        next_id += len(big) - 1
        for piece, child in zip(big[1:], children[1:]):
            labels[members[part == piece]] = child
        events.append({"kind": "split", "parent": int(expert), "children": children,
                       "sizes": [int(np.sum(labels == c)) for c in children], "rule": rule})
    return labels, events


def _parts(graph: sp.csr_matrix, parts_graph: sp.csr_matrix, members: np.ndarray, min_size: int):
    """The connected parts of ``members`` in ``parts_graph`` (``graph`` or the fine graph over the
    same nodes): each member's part, and the parts of ``min_size`` points or more that hold
    together in ``graph``, largest first."""
    _, part = connected_components(parts_graph[members][:, members], directed=False)
    sizes = np.bincount(part)
    nodes = np.full(graph.shape[0], -1)
    nodes[members] = part
    big = np.flatnonzero((sizes >= min_size) & _holds_together(graph, nodes))
    return part, big[np.argsort(-sizes[big], kind="stable")]
