"""`FitState`: everything a fit knows besides the networks' weights and the mixture's scalars.

One object, held by the module (``module.state``): the graph steps of :mod:`mixae_graph.steps`
take it and return a new one, the data module draws
its batches from it, a checkpoint saves it (:meth:`FitState.state_dict`) and a resumed or
data-parallel run loads it back (:meth:`FitState.from_state_dict`), so nothing else needs to be
glued together again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from .graph import PointGraph
from .tree import TreeRecorder, build_cluster_tree


@dataclass
class FitState:
    """The graph, the points' experts, the tree's inputs and the merge/split history of a fit.

    Attributes
    ----------
    graph : PointGraph or None
        The latent kNN graph (over landmarks above ``graph.max_points``); None before the trunk
        has trained.
    labels : ndarray of shape (n,) or None
        Expert slot of every training point that the experts train on this epoch (the last
        E-step's), -1 for a point without an expert.
    initial_slots : ndarray of shape (n,) or None
        The graph's first partition, before any expert trained.
    final_slots : ndarray of shape (n,) or None
        Expert slot of every training point after the fit: its most likely expert.
    history : TreeRecorder
        Every split and merge, in order.
    tree_sizes : dict
        Points of every expert at the end (slot -> count).
    tree_weights : dict
        Graph weight between (and, on the diagonal, within) the experts at the end.
    tree_distances : dict
        Smallest latent distance between the points of two experts at the end (single linkage).
    """

    graph: PointGraph | None = None
    labels: np.ndarray | None = None
    initial_slots: np.ndarray | None = None
    final_slots: np.ndarray | None = None
    history: TreeRecorder = field(default_factory=TreeRecorder)
    tree_sizes: dict[int, int] = field(default_factory=dict)
    tree_weights: dict[tuple[int, int], float] = field(default_factory=dict)
    tree_distances: dict[tuple[int, int], float] = field(default_factory=dict)
    _full: sp.csr_matrix | None = field(default=None, repr=False, compare=False)

    @property
    def full_graph(self) -> sp.csr_matrix | None:
        """The graph over every point, ``(n, n)`` (points that are not landmarks have no edges)."""
        if self.graph is None:
            return None
        if self._full is None or self._full.shape[0] != self.graph.n_points:
            self._full = self.graph.full()
        return self._full

    @property
    def cluster_tree(self):
        """The cluster tree (a networkx DiGraph) over the final experts and the history."""
        return build_cluster_tree(self.tree_sizes, self.tree_weights, self.history.events, self.tree_distances)

    def set_graph(self, graph: PointGraph | None) -> None:
        self.graph, self._full = graph, None

    def state_dict(self) -> dict:
        """Tensors and plain values only, so that checkpoints load with ``weights_only=True``."""
        state = {
            "history": self.history.state_dict(),
            "tree_sizes": {int(k): int(v) for k, v in self.tree_sizes.items()},
            "tree_weights": [[int(a), int(b), float(w)] for (a, b), w in self.tree_weights.items()],
            "tree_distances": [[int(a), int(b), float(d)] for (a, b), d in self.tree_distances.items()],
        }
        if self.graph is not None:
            state["graph"] = self.graph.state_dict()
        for name in ("labels", "initial_slots", "final_slots"):
            value = getattr(self, name)
            if value is not None:
                state[name] = torch.as_tensor(value, dtype=torch.long)
        return state

    @classmethod
    def from_state_dict(cls, state: dict) -> "FitState":
        history = TreeRecorder()
        history.load_state_dict(state["history"])
        out = cls(
            history=history,
            tree_sizes={int(k): int(v) for k, v in state["tree_sizes"].items()},
            tree_weights={(int(a), int(b)): float(w) for a, b, w in state["tree_weights"]},
            tree_distances={(int(a), int(b)): float(d) for a, b, d in state.get("tree_distances", [])},
        )
        if "graph" in state:
            out.set_graph(PointGraph.from_state_dict(state["graph"]))
        for name in ("labels", "initial_slots", "final_slots"):
            if name in state:
                setattr(out, name, state[name].numpy())
        return out
