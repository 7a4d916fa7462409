"""The cluster tree: the merge/split history of the experts, and a hierarchy over the final ones.

During training :class:`TreeRecorder` logs every merge and split as a plain dict, so the history
goes into checkpoints as it is. At the end :func:`build_cluster_tree` joins the final experts
bottom-up by their connectivity in the expert graph (greedy modularity, as Louvain's pieces are
drawn) up to one root, and :func:`cut_tree` undoes the last joins to get exactly K clusters.

Tree layout (the same as scipy's linkage matrices, see :func:`to_linkage`): with K final experts,
nodes ``0..K-1`` are the leaves, one per expert in the order of their sorted slot ids, and node
``K + j`` is the ``j``-th join. Edges go parent -> child.
"""

import networkx as nx
import numpy as np

_PLAIN = (bool, int, float, str, type(None))


def _plain(value):
    """``value`` as plain Python (numbers, strings, lists, dicts), for checkpoints and JSON."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, torch tensors
        return _plain(value.tolist())
    raise TypeError(f"cannot record a value of type {type(value).__name__}: {value!r}")


class TreeRecorder:
    """Log of the merges and splits made during training.

    Each event is a dict of plain Python values with keys ``index`` (running event number: expert
    slots are reused after a merge, so the slot alone does not say which expert is meant),
    ``kind`` (``"split"`` or ``"merge"``), ``epoch``, ``sizes`` and, for a split, ``parent`` and
    ``children``; for a merge, ``experts`` and ``into``. Extra keyword arguments (a score, the
    rule that fired) are stored as given. A fit's events name their ``rule``: ``"partition"``
    (the first experts), ``"n_clusters"``, the merge and split rules of
    :mod:`mixae_graph.merge_split`, or ``"emptied"``: an expert that an E-step, a round's stray
    points or the final routing left without points, merged into the expert that took most of them.

    Attributes
    ----------
    events : list of dict
        The events, oldest first.

    Examples
    --------
    >>> rec = TreeRecorder()
    >>> rec.record_split(parent=0, children=[0, 3], epoch=5, sizes=[120, 80])
    >>> rec.record_merge(experts=[1, 2], into=1, epoch=10, conductance=0.21)
    >>> [e["kind"] for e in rec.events]
    ['split', 'merge']
    """

    def __init__(self):
        self.events = []

    def __len__(self):
        return len(self.events)

    def _record(self, kind, epoch, sizes, **fields):
        event = {"index": len(self.events), "kind": kind, "epoch": int(epoch)}
        event["sizes"] = None if sizes is None else [int(s) for s in sizes]
        event.update(_plain(fields))
        self.events.append(event)

    def record_split(self, parent, children, epoch, sizes=None, **info):
        """Record that expert ``parent`` was split into ``children``.

        Parameters
        ----------
        parent : int
            Slot of the expert that was split.
        children : list of int
            Slots of the new experts (the parent's own slot may be among them).
        epoch : int
            Epoch at which the split happened.
        sizes : list of int, optional
            Number of points of each child, in the order of ``children``.
        **info
            Anything else worth keeping, as plain values.
        """
        children = [int(c) for c in children]
        if len(children) < 2:
            raise ValueError(f"a split needs at least 2 children, got {children}")
        if sizes is not None and len(sizes) != len(children):
            raise ValueError(f"{len(sizes)} sizes given for {len(children)} children")
        self._record("split", epoch, sizes, parent=int(parent), children=children, **info)

    def record_merge(self, experts, into, epoch, sizes=None, **info):
        """Record that ``experts`` were merged into the expert in slot ``into``.

        Parameters
        ----------
        experts : list of int
            Slots of the merged experts.
        into : int
            Slot of the expert that holds the union.
        epoch : int
            Epoch at which the merge happened.
        sizes : list of int, optional
            Number of points of each merged expert, in the order of ``experts``.
        **info
            Anything else worth keeping, as plain values.
        """
        experts = [int(e) for e in experts]
        if len(experts) < 2:
            raise ValueError(f"a merge needs at least 2 experts, got {experts}")
        if sizes is not None and len(sizes) != len(experts):
            raise ValueError(f"{len(sizes)} sizes given for {len(experts)} experts")
        self._record("merge", epoch, sizes, experts=experts, into=int(into), **info)

    def state_dict(self):
        """The log as plain Python, for a checkpoint: ``{"events": [dict, ...]}``."""
        return {"events": [dict(e) for e in self.events]}

    def load_state_dict(self, state):
        """Replace the log with one saved by :meth:`state_dict`."""
        events = [_plain(e) for e in state["events"]]
        for i, event in enumerate(events):
            if event.get("kind") not in ("split", "merge"):
                raise ValueError(f"event {i} has unknown kind {event.get('kind')!r}")
        self.events = events


def build_cluster_tree(sizes, weights, history=(), distances=None):
    """Join the experts bottom-up by their connectivity, up to one root.

    At each step the two current clusters ``A``, ``B`` whose join gains the most modularity are
    joined: ``gain = 2 (W(A, B) / 2m - vol(A) vol(B) / (2m)^2)``, the kNN weight between them
    against what their volumes would share at random (Clauset, Newman & Moore 2004; the
    Louvain pieces the experts start from optimise the same quantity). ``W`` is the total kNN
    weight between two clusters' points, ``vol`` the total weight of a cluster's points (inside
    and out) and ``2m`` that of all points. The expectation makes a small group that the graph
    links to nothing else join its neighbour before two large classes that touch: on 8x8
    digits, a 27-point group of 1s written with a foot before 3s and 8s (average linkage,
    ``W / (size_A size_B)``, joined the 3s and 8s first). Clusters with no connection at all
    are joined last, where the graph has nothing to say: the nearest first, by ``distances``
    (single linkage: the distance of two clusters is that of their closest experts, as a minimum
    spanning tree joins components), so that groups of groups the kNN graph sees as separate
    components still form the tree's upper level; without ``distances``, the smallest volumes
    first. Ties go to the smaller union, then to the clusters holding the smallest slot ids.

    Parameters
    ----------
    sizes : dict of int to int
        Number of points of each final expert, keyed by slot.
    weights : dict of (int, int) to float
        Total kNN weight between the points of two experts, keyed by a pair of slots; a slot
        paired with itself is the weight inside the expert (counted over both orders of every
        edge, as ``expert_weights`` returns it). Both orders of a pair of two slots add up.
    history : sequence of dict, default=()
        Merge/split events (:attr:`TreeRecorder.events`), stored in the tree.
    distances : dict of (int, int) to float, default=None
        Smallest distance between the points of two experts (:func:`mixae_graph.graph.expert_distances`),
        keyed by a pair of slots in either order; it orders the joins of unconnected clusters.

    Returns
    -------
    tree : networkx.DiGraph
        Edges parent -> child. Leaves ``0..K-1`` are the experts in sorted slot order, with
        attribute ``expert`` (the slot); internal node ``K + j`` is the ``j``-th join. Every
        node has ``size`` (points under it), ``height`` (0 for leaves, ``j + 1`` for the
        ``j``-th join) and ``leaves`` (sorted tuple of the slots under it); internal nodes also
        have ``gain``, the modularity the join gained (usually negative: the experts are
        already the graph's communities). ``tree.graph`` holds ``root`` and ``history``.

    Examples
    --------
    >>> tree = build_cluster_tree({0: 50, 1: 50, 2: 40}, {(0, 1): 30.0, (1, 2): 2.0})
    >>> cut_tree(tree, 2)
    {0: 0, 1: 0, 2: 1}
    """
    if not sizes:
        raise ValueError("sizes is empty: a cluster tree needs at least one expert")
    slots = sorted(int(s) for s in sizes)
    if any(sizes[s] < 0 for s in slots):
        raise ValueError(f"sizes must be non-negative, got {sizes}")
    node_of = {slot: i for i, slot in enumerate(slots)}

    tree = nx.DiGraph(history=[dict(e) for e in history])
    for slot, node in node_of.items():
        tree.add_node(node, expert=slot, size=int(sizes[slot]), height=0, leaves=(slot,))

    link = {}  # frozenset({node, node}) -> total weight between the two current clusters
    volume = dict.fromkeys(node_of.values(), 0.0)
    for (a, b), w in weights.items():
        if a not in node_of or b not in node_of:
            raise ValueError(f"weights name the pair ({a}, {b}), but sizes has no such expert")
        if w < 0:
            raise ValueError(f"weights must be non-negative, got {w} for ({a}, {b})")
        if a == b:
            volume[node_of[a]] += float(w)
        else:
            pair = frozenset((node_of[a], node_of[b]))
            link[pair] = link.get(pair, 0.0) + float(w)
            volume[node_of[a]] += float(w)
            volume[node_of[b]] += float(w)
    total = sum(volume.values()) or 1.0  # 2m (no weight at all: every gain is 0)

    def gain(a, b):
        return 2 * (link.get(frozenset((a, b)), 0.0) / total - (volume[a] / total) * (volume[b] / total))

    apart = {}  # frozenset({node, node}) -> single-linkage distance between the two clusters
    for (a, b), d in (distances or {}).items():
        if a != b and a in node_of and b in node_of:
            apart[frozenset((node_of[a], node_of[b]))] = float(d)

    def join_order(pair):  # smallest first: connected, largest gain (else nearest), smaller union, slot ids
        a, b = pair
        firsts = sorted((tree.nodes[a]["leaves"][0], tree.nodes[b]["leaves"][0]))
        unconnected = link.get(frozenset(pair), 0.0) <= 0
        closeness = apart.get(frozenset(pair), np.inf) if unconnected and apart else -gain(a, b)
        return unconnected, closeness, tree.nodes[a]["size"] + tree.nodes[b]["size"], firsts

    active = list(node_of.values())
    for height in range(1, len(slots)):
        pairs = [(a, b) for i, a in enumerate(active) for b in active[i + 1 :]]
        a, b = min(pairs, key=join_order)
        new = len(slots) - 1 + height
        tree.add_node(
            new,
            size=tree.nodes[a]["size"] + tree.nodes[b]["size"],
            height=height,
            leaves=tuple(sorted(tree.nodes[a]["leaves"] + tree.nodes[b]["leaves"])),
            gain=float(gain(a, b)),
        )
        tree.add_edges_from([(new, a), (new, b)])
        active = [c for c in active if c not in (a, b)]
        volume[new] = volume.pop(a) + volume.pop(b)
        for c in active:  # W(A u B, C) = W(A, C) + W(B, C)
            w = link.pop(frozenset((a, c)), 0.0) + link.pop(frozenset((b, c)), 0.0)
            if w > 0:
                link[frozenset((new, c))] = w
            d = min(apart.pop(frozenset((a, c)), np.inf), apart.pop(frozenset((b, c)), np.inf))
            if np.isfinite(d):
                apart[frozenset((new, c))] = d
        link.pop(frozenset((a, b)), None)
        active.append(new)

    tree.graph["root"] = active[0]
    return tree


def leaf_slots(tree):
    """Expert slots of the leaves, in leaf order (which is sorted slot order)."""
    return [tree.nodes[n]["expert"] for n in sorted(n for n in tree if tree.out_degree(n) == 0)]


def cut_tree(tree, n_clusters):
    """Cut the tree into ``n_clusters`` clusters by undoing its last ``n_clusters - 1`` joins.

    Parameters
    ----------
    tree : networkx.DiGraph
        A tree from :func:`build_cluster_tree`.
    n_clusters : int
        Number of clusters, from 1 to the number of experts.

    Returns
    -------
    dict of int to int
        Expert slot -> cluster id in ``0..n_clusters-1``; clusters are numbered in the order of
        the smallest slot they hold.
    """
    n_leaves = len(leaf_slots(tree))
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}")
    if not 1 <= n_clusters <= n_leaves:
        raise ValueError(
            f"n_clusters must be between 1 and the number of experts ({n_leaves}), "
            f"got {n_clusters}"
        )
    heads = [tree.graph["root"]]
    for _ in range(n_clusters - 1):  # the highest head is always the latest join left
        top = max(heads, key=lambda n: tree.nodes[n]["height"])
        heads.remove(top)
        heads.extend(tree.successors(top))
    heads.sort(key=lambda n: tree.nodes[n]["leaves"][0])
    return {slot: k for k, head in enumerate(heads) for slot in tree.nodes[head]["leaves"]}


def tree_table(tree):
    """One row per join, lowest first, for printing or export.

    Returns
    -------
    list of dict
        Keys ``node``, ``height``, ``size``, ``gain``, ``children`` (tuple of node ids) and
        ``leaves`` (tuple of expert slots).
    """
    internal = [n for n in tree if tree.out_degree(n) > 0]
    internal.sort(key=lambda n: tree.nodes[n]["height"])
    return [
        {
            "node": n,
            "height": tree.nodes[n]["height"],
            "size": tree.nodes[n]["size"],
            "gain": tree.nodes[n]["gain"],
            "children": tuple(sorted(tree.successors(n))),
            "leaves": tree.nodes[n]["leaves"],
        }
        for n in internal
    ]


def to_linkage(tree):
    """The tree as a scipy linkage matrix, for ``scipy.cluster.hierarchy.dendrogram``.

    Row ``j`` joins nodes ``Z[j, 0]`` and ``Z[j, 1]`` at distance ``Z[j, 2]`` (the join's
    height) into a cluster of ``Z[j, 3]`` experts; leaf ``i`` is ``leaf_slots(tree)[i]``.
    """
    rows = tree_table(tree)
    return np.array(
        [[*row["children"], row["height"], len(row["leaves"])] for row in rows], dtype=float
    ).reshape(len(rows), 4)
