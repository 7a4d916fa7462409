"""The clustering as the gate of a supervised mixture of experts: :class:`GatedExperts`.

input -> gate (a clustering, fitted without labels) -> router -> trainable experts -> output.
The gate is :class:`~mixae_graph.MixAEGraph` (or any clusterer with ``fit``/``predict``);
its clusters route the work, its cluster tree is the hierarchy of gates, and each expert is a
clone of one scikit-learn estimator, trained on its cluster's labelled points and, where the
cross-validation below finds that it helps, the graph neighbours just outside it.

Routing of a point ``x`` with the gate's probabilities ``p_c(x)`` over clusters:

- each of the ``top_k`` most likely clusters ``c`` adds ``p_c(x) out(c)`` (weights renormalised
  over the ``top_k``), where ``out(c)`` is the cluster's expert shrunk towards the tree above it
  (below); the root's expert is the global model, fitted on every labelled point;
- a point the gate is unsure of (``max_c p_c(x) < confidence``) goes up the tree instead: it is
  served by the lowest node whose clusters together hold ``p >= confidence`` and that has labels;
- with ``pairs=True``, when the two most likely clusters touch in the graph, their pair expert
  (trained on both) replaces their two experts, with weight ``p_a + p_b``.

Hierarchical shrinkage: a node's output blends its own expert with the output above it,
``out(v) = w_v f_v + (1 - w_v) out(parent(v))``, ``w_v = n_v / (n_v + shrinkage)``, where ``n_v``
counts the node's labelled points and the root's output is its own expert. A cluster rich in labels
speaks for itself; one with a few is pulled towards its parent, and one with none is its parent's,
as the m-estimate smooths a decision tree's leaves towards their parents (Cestnik 1990; hierarchical
shrinkage, Agarwal et al., ICML 2022). ``shrinkage="cv"`` picks the strength by cross-validation
on the labelled points (``FOLDS`` folds, each point through its own cluster's path): small where
the clusters carry the target, large (up to the global model alone) where they do not. With
``border="cv"`` the same folds decide whether the experts learn from the border.
"""

from __future__ import annotations

import inspect

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .routing import spread
from .settings import Graph
from .tree import cut_tree, leaf_slots

FLOATS = (np.float64, np.float32)  # the experts see the data as given; the gate converts for itself
# Folds of the cross-validation that picks the shrinkage (``shrinkage="cv"``).
FOLDS = 5
# The shrinkage strengths it picks from, in labelled points; inf: the global model alone.
SHRINKAGE_GRID = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, np.inf)
# The border weights it picks from (``border="cv"``): none, or the border as the gate weighs it.
BORDER_GRID = (0.0, 1.0)


class _Constant:
    """The expert of a node whose labelled points all share one class (classifiers refuse to fit
    on one class): it predicts that class."""

    def __init__(self, label):
        self.classes_ = np.array([label])

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def predict_proba(self, X):
        return np.ones((len(X), 1))


def _hierarchy(gate, n_clusters: int):
    """The gate's clusters as the leaves of a tree of gates.

    Returns ``(parent, clusters)``: ``parent[node]`` is a node's parent (None at the root),
    ``clusters[node]`` the sorted tuple of clusters under it; nodes ``0..K-1`` are the clusters,
    the joins above them follow in the order the tree made them. From a MixAEGraph gate: its
    cluster tree above the clusters (the tree's cut at K, as the gate cut it); from any other
    gate: one root over all clusters.
    """
    if n_clusters == 1:
        return {0: None}, {0: (0,)}
    tree = getattr(gate, "cluster_tree_", None)
    if tree is None:
        parent = dict.fromkeys(range(n_clusters), n_clusters) | {n_clusters: None}
        return parent, {c: (c,) for c in range(n_clusters)} | {n_clusters: tuple(range(n_clusters))}
    slots = leaf_slots(tree)
    cluster_of_slot = cut_tree(tree, n_clusters) if n_clusters < len(slots) else {s: c for c, s in enumerate(slots)}
    under = {n: tuple(sorted({cluster_of_slot[s] for s in tree.nodes[n]["leaves"]})) for n in tree}
    above = {n: next(iter(tree.predecessors(n)), None) for n in tree}
    heads = [n for n in tree if len(under[n]) == 1 and (above[n] is None or len(under[above[n]]) > 1)]
    name = {n: under[n][0] for n in heads}
    joins = sorted((n for n in tree if len(under[n]) > 1), key=lambda n: tree.nodes[n]["height"])
    name.update({n: n_clusters + i for i, n in enumerate(joins)})
    parent = {name[n]: (None if above[n] is None else name[above[n]]) for n in name}
    return parent, {name[n]: under[n] for n in name}


def _accepts_weights(estimator) -> bool:
    return "sample_weight" in inspect.signature(estimator.fit).parameters


class GatedExperts(MetaEstimatorMixin, BaseEstimator):
    """A supervised mixture of experts whose gate is a clustering fitted without labels.

    Parameters
    ----------
    gate : estimator, default=None
        The clusterer: ``fit(X)`` sets ``labels_``; ``predict_proba(X)`` (soft) or ``predict(X)``
        (hard) routes; ``latent_graph_`` (a kNN graph over the fitted points) gives the borders and
        ``cluster_tree_`` the hierarchy, where the gate has them. None: ``MixAEGraph()``.
    expert : estimator, default=None
        Any scikit-learn classifier or regressor; one clone per cluster, tree node and pair.
        None: ``LogisticRegression(max_iter=1000)``. Its kind decides the meta-estimator's.
    top_k : int, default=2
        Experts mixed per point: its most likely clusters'.
    border : "cv" or float, default="cv"
        Weight of the border: each expert also trains on the labelled graph neighbours just
        outside its clusters, each weighted by ``border`` times its graph-smoothed gate
        probability of the expert's clusters (plain, unweighted, for an expert without
        ``sample_weight``). 0: no border. ``"cv"``: 0 or 1 (``BORDER_GRID``), whichever the
        cross-validation of ``shrinkage`` finds better (ties go to the border).
    pairs : bool, default=False
        Also an expert for each pair of clusters that touch in the graph, trained on both.
    shrinkage : "cv" or float, default="cv"
        Labelled points at which a tree node's own expert and the output above it have an equal
        say (see the module's text): 0, each cluster's expert alone; ``inf``, the global model
        alone. ``"cv"``: the value of ``SHRINKAGE_GRID`` that predicts the labelled points best
        out of fold (``FOLDS`` folds; ties go to the larger, the simpler model), chosen together
        with ``border`` where that is ``"cv"`` too.
    confidence : float, default=0.5
        Below this top probability a point is served higher in the tree (see the module's text).

    Attributes
    ----------
    gate_ : the fitted gate.
    n_clusters_ : int
    experts_ : dict
        Tree node -> fitted expert, for every node with labelled points; nodes
        ``0..n_clusters_-1`` are the clusters, the others their joins up to the root (the global
        expert).
    shrinkage_, border_ : float
        The shrinkage and border used: as given, or as the cross-validation picked them.
    cv_scores_ : dict
        Where anything is ``"cv"``: ``(border, shrinkage)`` -> its out-of-fold score (accuracy,
        or minus the mean squared error).
    blend_ : dict
        Tree node -> ``{expert node: weight}``, the node's output as a blend of the experts on its
        path to the root.
    pair_experts_ : dict
        ``(a, b)`` -> fitted expert, with ``pairs=True``.
    touching_pairs_ : list of tuple
        With ``pairs=True``, the pairs of clusters joined by edges of the gate's graph.
    parent_ : dict
        Tree node -> its parent node (None at the root).
    node_clusters_ : dict
        Tree node -> the sorted tuple of clusters under it.
    classes_ : ndarray, for classifiers.
    updated_experts_ : list
        After :meth:`update`, the nodes and pairs whose experts were retrained.
    """

    def __init__(self, gate=None, expert=None, *, top_k=2, border="cv", pairs=False, shrinkage="cv",
                 confidence=0.5):
        self.gate = gate
        self.expert = expert
        self.top_k = top_k
        self.border = border
        self.pairs = pairs
        self.shrinkage = shrinkage
        self.confidence = confidence

    # ------------------------------------------------------------------ kind of estimator
    def _expert(self):
        if self.expert is not None:
            return self.expert
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000)

    def _is_classifier(self) -> bool:
        return get_tags(self._expert()).estimator_type == "classifier"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        expert = get_tags(self._expert())
        tags.estimator_type = expert.estimator_type
        tags.classifier_tags = expert.classifier_tags
        tags.regressor_tags = expert.regressor_tags
        tags.input_tags.sparse = False
        return tags

    # ------------------------------------------------------------------ fit
    def _check_settings(self):
        def refuse(name, rule):
            raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")

        if not (isinstance(self.top_k, (int, np.integer)) and self.top_k >= 1):
            refuse("top_k", "a positive integer")
        def cv_or_at_least_zero(value, finite):
            if isinstance(value, str):
                return value == "cv"
            return np.isscalar(value) and value >= 0 and (np.isfinite(value) or not finite)

        if not cv_or_at_least_zero(self.shrinkage, finite=False):  # inf: the global model alone
            refuse("shrinkage", '"cv" or a non-negative number')
        if not cv_or_at_least_zero(self.border, finite=True):
            refuse("border", '"cv" or a non-negative number')
        if not (np.isscalar(self.confidence) and 0 <= self.confidence <= 1):
            refuse("confidence", "a number in [0, 1]")

    def fit(self, X, y, X_unlabeled=None):
        """Fit the gate on ``X`` and ``X_unlabeled`` together (no labels), then the experts on
        the labelled points ``X, y``."""
        self._check_settings()
        X, y = validate_data(self, X, y, dtype=FLOATS, y_numeric=not self._is_classifier())
        if self._is_classifier():
            check_classification_targets(y)
            self.classes_ = np.unique(y)
        everything = X
        if X_unlabeled is not None:
            X_unlabeled = validate_data(self, X_unlabeled, dtype=FLOATS, reset=False)
            everything = np.vstack([X, X_unlabeled])
        self.gate_ = clone(self.gate) if self.gate is not None else self._default_gate()
        self.gate_.fit(everything.astype(np.float32), None)  # the gate sees float32, as it routes
        labels = np.asarray(self.gate_.labels_)
        if labels.min() < 0:
            raise ValueError("the gate left points without a cluster (label -1); GatedExperts needs a gate "
                             "that puts every point in one of clusters 0..K-1")
        if len(labels) != len(everything):  # e.g. a FrozenEstimator of a gate fitted elsewhere
            raise ValueError(
                f"the gate labels {len(labels)} points but was given {len(everything)}: a pre-fitted gate "
                "must have been fitted on X followed by X_unlabeled, in that order"
            )
        self.n_clusters_ = int(labels.max()) + 1
        self.parent_, self.node_clusters_ = _hierarchy(self.gate_, self.n_clusters_)
        membership = self._smoothed(self._probabilities(everything))
        self._X, self._y = X, y
        self._labels, self._weights_of = labels[: len(X)], membership[: len(X)]
        self._border_of = self._border_points(len(X))
        self._choose_border_and_shrinkage()
        self.experts_, self._n_labelled, self.pair_experts_ = {}, {}, {}
        for node in self.node_clusters_:
            self._fit_node(node)
        self.touching_pairs_ = self._touching_pairs() if self.pairs else []
        for pair in self.touching_pairs_:
            self._fit_pair(pair)
        self._blend()
        return self

    def _choose_border_and_shrinkage(self):
        """``border_`` and ``shrinkage_``: as given, or the pair with the best out-of-fold score
        (``cv_scores_``); ties go to the larger shrinkage, then to the border."""
        borders = BORDER_GRID if self.border == "cv" else (float(self.border),)
        if self.border == "cv" and not self._border_of.any():
            borders = (0.0,)  # no graph, no border points: both would be the same model
        shrinkages = SHRINKAGE_GRID if self.shrinkage == "cv" else (float(self.shrinkage),)
        if len(borders) * len(shrinkages) == 1:
            self.border_, self.shrinkage_ = borders[0], shrinkages[0]
            return
        self.cv_scores_ = {}
        for border in borders:
            self.border_ = border
            self.cv_scores_.update({(border, s): score for s, score in self._cross_validate(shrinkages).items()})
        self.border_, self.shrinkage_ = max(self.cv_scores_, key=lambda k: (self.cv_scores_[k], k[1], k[0]))

    @staticmethod
    def _default_gate():
        from .estimator import MixAEGraph

        return MixAEGraph()

    def _probabilities(self, X) -> np.ndarray:
        """The gate's probabilities of the clusters, ``(n, n_clusters_)``."""
        X = np.asarray(X, dtype=np.float32)
        if hasattr(self.gate_, "predict_proba"):
            p = np.asarray(self.gate_.predict_proba(X), dtype=np.float64)
            if p.shape[1] < self.n_clusters_:
                p = np.hstack([p, np.zeros((len(p), self.n_clusters_ - p.shape[1]))])
            return p
        return np.eye(self.n_clusters_)[np.asarray(self.gate_.predict(X))]

    def _smoothed(self, probabilities):
        """Soft membership of the fitted points: the gate's probabilities smoothed over its kNN
        graph (``latent_graph_``), or the probabilities where it has no graph."""
        graph = getattr(self.gate_, "latent_graph_", None)
        if graph is None:
            return probabilities
        module = getattr(self.gate_, "module_", None)  # a MixAEGraph gate smooths as it was set to
        alpha = module.hparams.graph.smoothing if module is not None else Graph().smoothing
        return spread(probabilities, sparse.csr_matrix(graph), alpha)

    def _border_points(self, n_labelled: int):
        """Labelled points with a graph neighbour in each cluster, ``(n_labelled, n_clusters_)`` bool."""
        graph = getattr(self.gate_, "latent_graph_", None)
        if graph is None:
            return np.zeros((n_labelled, self.n_clusters_), bool)
        graph = sparse.csr_matrix(graph)
        everyone = np.asarray(self.gate_.labels_)
        onehot = sparse.csr_matrix(np.eye(self.n_clusters_)[everyone])
        touches = (graph[:n_labelled] @ onehot).toarray() > 0
        return touches & (self._labels[:, None] != np.arange(self.n_clusters_))

    def _training_set(self, clusters):
        inside = np.isin(self._labels, clusters)
        outside = self._border_of[:, list(clusters)].any(1) & ~inside
        if self.border_ == 0:
            outside[:] = False
        weight = np.where(inside, 1.0, self.border_ * self._weights_of[:, list(clusters)].sum(1))
        keep = inside | outside
        return keep, weight[keep], int(inside.sum())

    def _train(self, keep, weight):
        X, y = self._X[keep], self._y[keep]
        if self._is_classifier() and len(np.unique(y)) == 1:
            return _Constant(y[0])
        expert = clone(self._expert())
        if _accepts_weights(expert):
            return expert.fit(X, y, sample_weight=weight)
        return expert.fit(X, y)

    def _fit_node(self, node):
        keep, weight, n_inside = self._training_set(self.node_clusters_[node])
        if self.parent_[node] is None and n_inside == 0:
            raise ValueError("no labelled points: GatedExperts needs some labelled X, y")
        self._n_labelled[node] = n_inside
        if n_inside:
            self.experts_[node] = self._train(keep, weight)
        else:
            self.experts_.pop(node, None)

    def _path(self, node) -> list:
        """``node`` and its ancestors up to the root."""
        path = [node]
        while self.parent_[path[-1]] is not None:
            path.append(self.parent_[path[-1]])
        return path

    def _path_weights(self, path, n_labelled, shrinkage) -> np.ndarray:
        """Weight of each node's expert on ``path`` (up to the root) in the blend of the first node:
        ``w_v = n_v / (n_v + shrinkage)`` of what the nodes below leave, the root takes the rest."""
        weights, rest = np.zeros(len(path)), 1.0
        for i, node in enumerate(path):
            n = n_labelled[node]
            share = 1.0 if i == len(path) - 1 else (0.0 if n == 0 else n / (n + shrinkage))
            weights[i], rest = rest * share, rest * (1.0 - share)
        return weights

    def _blend(self):
        """Each node's output as a blend of the experts on its path (``blend_``)."""
        self.blend_ = {}
        for node in self.node_clusters_:
            path = self._path(node)
            weights = self._path_weights(path, self._n_labelled, self.shrinkage_)
            self.blend_[node] = {v: float(w) for v, w in zip(path, weights) if w > 0}

    def _cross_validate(self, shrinkages) -> dict:
        """Out-of-fold score of every strength in ``shrinkages``: each node's expert is
        trained on ``FOLDS - 1`` folds of the labelled points and predicts the held-out points under
        it; each held-out point gets its own cluster's blend, with the training folds' counts."""
        n = len(self._y)
        if n < FOLDS:
            return {s: 0.0 for s in shrinkages}  # too few labels to hold any out: the largest wins
        folds = list(KFold(FOLDS, shuffle=True, random_state=0).split(np.arange(n)))
        width = (n, len(self.classes_)) if self._is_classifier() else (n,)
        held_out = {node: np.zeros(width) for node in self.node_clusters_}  # node -> out-of-fold outputs
        training = {node: self._training_set(clusters) for node, clusters in self.node_clusters_.items()}
        inside = {node: np.isin(self._labels, clusters) for node, clusters in self.node_clusters_.items()}
        counts = []  # per fold: node -> labelled points inside it in the training folds
        for train, test in folds:
            in_train = np.zeros(n, bool)
            in_train[train] = True
            count = {node: int((inside[node] & in_train).sum()) for node in self.node_clusters_}
            for node, (keep, weight, _) in training.items():
                rows = test[inside[node][test]]
                if count[node] and len(rows):
                    expert = self._train(keep & in_train, weight[in_train[keep]])
                    held_out[node][rows] = self._expert_output(expert, self._X[rows])
            counts.append(count)
        scores = {}
        for shrinkage in shrinkages:
            blended = np.zeros(width)
            for (_, test), count in zip(folds, counts):
                for cluster in np.unique(self._labels[test]):
                    rows = test[self._labels[test] == cluster]
                    path = self._path(int(cluster))
                    for node, w in zip(path, self._path_weights(path, count, shrinkage)):
                        blended[rows] += w * held_out[node][rows]
            if self._is_classifier():
                scores[shrinkage] = float(np.mean(self.classes_[blended.argmax(1)] == self._y))
            else:
                scores[shrinkage] = -float(np.mean((blended - self._y) ** 2))
        return scores

    def _fit_pair(self, pair):
        keep, weight, n_inside = self._training_set(pair)
        if n_inside:
            self.pair_experts_[pair] = self._train(keep, weight)

    def _touching_pairs(self):
        """Pairs of clusters joined by kNN edges in the gate's graph."""
        graph = getattr(self.gate_, "latent_graph_", None)
        if graph is None:
            return []
        labels = np.asarray(self.gate_.labels_)
        onehot = sparse.csr_matrix(np.eye(self.n_clusters_)[labels])
        between = (onehot.T @ sparse.csr_matrix(graph) @ onehot).toarray()
        return [(a, b) for a in range(self.n_clusters_) for b in range(a + 1, self.n_clusters_) if between[a, b] > 0]

    # ------------------------------------------------------------------ predict
    def _expert_output(self, expert, X) -> np.ndarray:
        if not self._is_classifier():
            return np.asarray(expert.predict(X), dtype=np.float64)
        out = np.zeros((len(X), len(self.classes_)))
        columns = np.searchsorted(self.classes_, expert.classes_)
        if hasattr(expert, "predict_proba"):
            out[:, columns] = expert.predict_proba(X)
        else:
            out[np.arange(len(X)), np.searchsorted(self.classes_, expert.predict(X))] = 1.0
        return out

    def routing(self, X) -> list[dict]:
        """Which experts serve each point, with their weights: a list of ``{expert: weight}``,
        an expert being a tree node or, with ``pairs``, a pair of clusters."""
        check_is_fitted(self, "experts_")
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        return self._route(self._probabilities(X))

    def _route(self, p) -> list[dict]:
        order = np.argsort(-p, axis=1, kind="stable")
        routes = []
        for row, ranks in zip(p, order):
            top = ranks[: self.top_k]
            chosen = {}  # a node or a pair -> its share of the point
            if row[top[0]] < self.confidence:
                chosen[self._unsure_node(row, top[0])] = 1.0
            else:
                if self.pairs and len(top) >= 2 and tuple(sorted(top[:2])) in self.pair_experts_:
                    chosen[tuple(sorted(top[:2]))] = row[top[0]] + row[top[1]]
                    top = top[2:]
                chosen.update({int(c): row[c] for c in top})
            total = sum(chosen.values())
            weights = {}
            for key, share in chosen.items():
                share = share / total if total > 0 else 1.0 / len(chosen)
                for expert, w in ({key: 1.0} if isinstance(key, tuple) else self.blend_[key]).items():
                    weights[expert] = weights.get(expert, 0.0) + share * w
            routes.append(weights)
        return routes

    def _unsure_node(self, row, top):
        node = top
        while self.parent_[node] is not None and (
            node not in self.experts_ or row[list(self.node_clusters_[node])].sum() < self.confidence
        ):
            node = self.parent_[node]
        return int(node)

    def _mix(self, X) -> np.ndarray:
        routes = self._route(self._probabilities(X))
        width = len(self.classes_) if self._is_classifier() else None
        out = np.zeros((len(X), width) if width else len(X))
        used = {}
        for i, route in enumerate(routes):
            for key in route:
                used.setdefault(key, []).append(i)
        for key, rows in used.items():
            rows = np.array(rows)
            expert = self.pair_experts_[key] if isinstance(key, tuple) else self.experts_[key]
            w = np.array([routes[i][key] for i in rows])
            prediction = self._expert_output(expert, X[rows])
            out[rows] += (w[:, None] * prediction) if width else w * prediction
        return out

    def predict(self, X) -> np.ndarray:
        """The mixture of the experts that the gate picks for each point."""
        check_is_fitted(self, "experts_")
        X = validate_data(self, X, dtype=FLOATS, reset=False)
        out = self._mix(X)
        if self._is_classifier():
            return self.classes_[out.argmax(1)]
        return out

    @available_if(lambda self: self._is_classifier())
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: the experts' (one-hot for one without ``predict_proba``), mixed by
        the gate's probabilities."""
        check_is_fitted(self, "experts_")
        return self._mix(validate_data(self, X, dtype=FLOATS, reset=False))

    def score(self, X, y, sample_weight=None):
        """Accuracy for a classifier, R^2 for a regressor (scikit-learn's conventions)."""
        metric = accuracy_score if self._is_classifier() else r2_score
        return metric(y, self.predict(X), sample_weight=sample_weight)

    # ------------------------------------------------------------------ update
    def update(self, X_new, y_new):
        """Add labelled points without refitting the gate: they are routed to their clusters, and
        only the experts of those clusters, of the tree nodes above them and of the pairs that
        hold them are retrained (``updated_experts_`` lists them); the shrinkage stays
        ``shrinkage_``."""
        check_is_fitted(self, "experts_")
        X_new, y_new = validate_data(self, X_new, y_new, dtype=FLOATS, reset=False,
                                     y_numeric=not self._is_classifier())
        if self._is_classifier():
            unknown = np.setdiff1d(np.unique(y_new), self.classes_)
            if unknown.size:
                raise ValueError(f"y_new has classes the fit never saw: {unknown.tolist()}; refit instead")
        p = self._probabilities(X_new)
        labels = p.argmax(1)
        touched = set(labels.tolist())
        self._X = np.vstack([self._X, X_new])
        self._y = np.concatenate([self._y, y_new])
        self._labels = np.concatenate([self._labels, labels])
        self._weights_of = np.vstack([self._weights_of, p])
        self._border_of = np.vstack([self._border_of, np.zeros((len(X_new), self.n_clusters_), bool)])
        updated = [node for node, cs in self.node_clusters_.items() if touched & set(cs)]
        for node in updated:
            self._fit_node(node)
        pairs = [pair for pair in self.touching_pairs_ if touched & set(pair)]
        for pair in pairs:
            self._fit_pair(pair)
        self._blend()
        self.updated_experts_ = sorted(updated) + sorted(pairs)
        return self
