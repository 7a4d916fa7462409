"""Point-level kNN graphs (sparse) and the expert-level graph (networkx).

The point graph is UMAP's fuzzy simplicial set (McInnes et al., arXiv 1802.03426, sec. 3.1) built on
the latent codes: a symmetric, weighted kNN graph from exact nearest neighbours (:func:`nearest_neighbors`).
It is built in the latent space itself, not on a UMAP layout: a ``min_dist=0`` layout clumps points,
and a kNN graph over the clumps breaks one thin manifold into many components (measured: two moons
lifted to 50-D gave 12 components on a 10-D layout, 2 on the latent codes). The layout is kept for
pictures (:func:`embed`).

Above ``max_points`` points the graph is built on a random sample of landmarks (:func:`point_graph`),
so its cost stops growing with the data; every other point follows its nearest landmark.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import math

import networkx as nx
import numba
import numpy as np
import scipy.sparse as sp

# Louvain resolutions among which the partition is chosen by its stability (:func:`stable_communities`):
# from 0.25 to 4 in steps of sqrt(2). Below 0.25 the kNN graphs measured here gave one or two parts;
# from 8 up, the graph of structureless Gaussian noise gave partitions as reproducible as real
# clusters (fine pieces are stable because they are small), so stability stops telling structure
# from size. Steps of sqrt(2) rather than doublings: a count can live between two doublings (the
# 16x16 digits' ten classes at 0.35, nine at 0.25 and ten to twelve at 0.5).
RESOLUTIONS = tuple(0.25 * 2 ** (step / 2) for step in range(9))
# Louvain runs (seeds) per resolution whose agreement is its stability: 28 pairs, so that the
# stabilities of neighbouring resolutions on 10-class image sets, a few thousandths apart, are not
# decided by the noise of a handful of pairs (see CHANGELOG.md).
STABILITY_RUNS = 8
# Copies of the kNN graph intersected for its strong edges (:func:`strong_edges`): two leave the
# portraits' count swinging (29 / 19 / 29 clusters for 40 people over seeds 0-2), three and four
# agree there (35-38), four splits the 16x16 digits (14 and 13 for 10 on seeds 0-1).
STRONG_COPIES = 3
# The fine graph (:func:`fine_graph`) starts from each point and its two nearest neighbours, the
# sparsest kNN graph in which points along a curve (one view of an object and the next) stay linked
# on both sides.
FINEST_NEIGHBORS = 3
# Share of the nodes that would gain by moving that move in one sweep of the vectorised local moves:
# moving all at once lets two neighbours swap communities forever; a random half breaks such cycles.
MOVING_SHARE = 0.5


def neighbors_for(n_points: int) -> int:
    """Neighbours per point when ``n_neighbors`` is None: ``round(log2(n))``, at least 2.

    A kNN graph needs ``k`` of the order of ``log n`` to stay connected inside each cluster (Brito
    et al. 1997; von Luxburg, "A tutorial on spectral clustering", 2007, sec. 8), and a larger ``k``
    than a cluster has points ties every small cluster to its neighbours: 9 for 400 points
    (ten photos a person still form a cluster), 13 for 10,000, 16 for 70,000.
    """
    return max(2, round(math.log2(max(n_points, 2))))


def nearest_neighbors(codes: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``n_neighbors`` nearest neighbours of every row among ``codes`` (itself first, at
    distance 0), as UMAP takes them: ``(indices, distances)``, each ``(n, n_neighbors)``.

    Exact, from scikit-learn's trees: the codes have few dimensions (``latent_dim``) and the graph
    at most ``max_graph_points`` nodes, where an exact search takes seconds, while UMAP's own
    approximate search (pynndescent) compiles for about 50 s in every new process (its kernels
    are not cached by numba), which was most of a small fit's time.
    """
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=n_neighbors - 1).fit(codes)
    distances, indices = search.kneighbors()  # without the query point itself
    n = len(codes)
    indices = np.hstack([np.arange(n)[:, None], indices]).astype(np.int32)
    distances = np.hstack([np.zeros((n, 1)), distances]).astype(np.float32)
    return indices, distances


def latent_graph(codes: np.ndarray, n_neighbors: int | None = None) -> sp.csr_matrix:
    """Symmetric weighted kNN graph over ``codes``: UMAP's fuzzy simplicial set (McInnes et al.,
    arXiv 1802.03426, sec. 3.1) on the exact :func:`nearest_neighbors`, as a CSR matrix.

    Every point ``i`` weighs its neighbour ``j`` by ``exp(-(d_ij - rho_i) / sigma_i)``, where
    ``rho_i`` is the distance to its nearest neighbour (that edge weighs 1: no point is isolated)
    and ``sigma_i`` makes the weights sum to ``log2(n_neighbors)`` (a local unit of distance, so
    that dense and sparse clusters count alike); the two directed weights join as a fuzzy union,
    ``w_ij + w_ji - w_ij w_ji``. Written with numpy: UMAP's own numba kernels for it are not
    cached and compiled for seconds in every new process.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_dims)
    n_neighbors : int or None, default=None
        Neighbours per point, the point itself included; ``n_samples`` must exceed it. None:
        :func:`neighbors_for` the number of points.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if n_neighbors is None:
        n_neighbors = neighbors_for(codes.shape[0])
    _check_size(codes.shape[0], n_neighbors)
    return _fuzzy_union(*nearest_neighbors(codes, n_neighbors), n_neighbors)


def _check_size(n_samples: int, n_neighbors: int) -> None:
    if n_samples <= n_neighbors:
        raise ValueError(f"the kNN graph needs more samples than n_neighbors={n_neighbors}, got {n_samples}")


def _fuzzy_union(indices: np.ndarray, distances: np.ndarray, n_neighbors: int) -> sp.csr_matrix:
    """:func:`latent_graph` from the neighbour lists of :func:`nearest_neighbors`."""
    n = len(indices)
    rho, sigma = _local_scales(distances, n_neighbors)
    excess = np.maximum(distances[:, 1:] - rho[:, None], 0.0)
    weights = np.exp(-excess / np.maximum(sigma, 1e-30)[:, None])
    weights[sigma == 0] = 1.0
    directed = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(n), n_neighbors - 1), indices[:, 1:].ravel())),
                             shape=(n, n))
    transpose = directed.T.tocsr()
    graph = (directed + transpose - directed.multiply(transpose)).tocsr()
    graph.eliminate_zeros()
    return graph.astype(np.float32)


# UMAP's constants for the local scales: the search stops within this much of the target sum, and
# no scale falls below this share of the mean neighbour distance.
_SCALE_TOLERANCE = 1e-5
_MIN_SCALE_SHARE = 1e-3


def _local_scales(distances: np.ndarray, n_neighbors: int, n_iter: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``rho`` (distance to the nearest other point) and ``sigma`` of every row of ``distances``
    (itself first), by bisection on ``sigma`` for all rows at once, as UMAP's ``smooth_knn_dist``."""
    distances = distances.astype(np.float64)
    others = distances[:, 1:]
    positive = np.where(others > 0, others, np.inf)
    rho = positive.min(1)
    rho[~np.isfinite(rho)] = 0.0
    excess = others - rho[:, None]
    target = np.log2(n_neighbors)
    lo, hi, mid = np.zeros(len(others)), np.full(len(others), np.inf), np.ones(len(others))
    active = np.ones(len(others), dtype=bool)
    for _ in range(n_iter):
        total = np.where(excess > 0, np.exp(-excess / mid[:, None]), 1.0).sum(1)
        active &= np.abs(total - target) >= _SCALE_TOLERANCE
        if not active.any():
            break
        above = total > target  # too many neighbours count: a smaller scale
        hi = np.where(active & above, mid, hi)
        lo = np.where(active & ~above, mid, lo)
        mid = np.where(active, np.where(np.isinf(hi), mid * 2, (lo + hi) / 2), mid)
    floor = _MIN_SCALE_SHARE * np.where(rho > 0, distances.mean(1), distances.mean())
    return rho, np.maximum(mid, floor)


@dataclass
class PointGraph:
    """The latent kNN graph over every point, or over a sample of landmarks.

    Attributes
    ----------
    graph : csr_matrix of shape (m, m)
        The kNN graph over the landmarks (all points when ``m == n``).
    landmarks : ndarray of shape (m,)
        Row of the data of each landmark, sorted.
    nearest : ndarray of shape (n,)
        Index (into ``landmarks``) of every point's nearest landmark in the latent space; a
        landmark is its own nearest.
    n_neighbors : int
        Neighbours per point of ``graph``, the point itself included.
    fine : csr_matrix of shape (m, m) or None
        The same landmarks in the sparsest kNN graph whose parts could each be a cluster
        (:func:`fine_graph`): a community or an expert that falls apart in it splits
        (:func:`~mixae_graph.merge_split.split_experts`). None where there is no such graph.
    confirmed : csr_matrix of shape (m, m) or None
        :attr:`graph` intersected with the input's own kNN graph (:func:`intersection`): the edges
        that the codes and the input both draw keep their weight, an edge only one view draws
        fades. The first experts are its parts, as many as :attr:`graph` gives
        (:func:`~mixae_graph.merge_split.partition`). None: :attr:`graph`'s own parts.
    """

    graph: sp.csr_matrix
    landmarks: np.ndarray
    nearest: np.ndarray
    n_neighbors: int = 0
    fine: sp.csr_matrix | None = None
    confirmed: sp.csr_matrix | None = None

    @property
    def n_points(self) -> int:
        return len(self.nearest)

    def within_fine_parts(self) -> sp.csr_matrix:
        """The kNN graph without its edges between parts of :attr:`fine` (the whole graph where
        there is no fine graph): the neighbours whose assignments a point's is smoothed towards
        (:func:`~mixae_graph.routing.spread`). Objects seen from every angle trace rings that touch
        along their length in the kNN graph, yet fall apart into one ring each in the fine graph,
        as they do when an expert holding two of them splits."""
        if self.fine is None:
            return self.graph
        from scipy.sparse.csgraph import connected_components

        part = connected_components(self.fine, directed=False)[1]
        coo = self.graph.tocoo()
        keep = part[coo.row] == part[coo.col]
        if keep.all():
            return self.graph
        return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=self.graph.shape)

    def full(self) -> sp.csr_matrix:
        """The graph as ``(n, n)``: points that are not landmarks have no edges."""
        coo = self.graph.tocoo()
        rows, cols = self.landmarks[coo.row], self.landmarks[coo.col]
        return sp.csr_matrix((coo.data, (rows, cols)), shape=(self.n_points, self.n_points))

    def to_points(self, landmark_values: np.ndarray) -> np.ndarray:
        """Spread one value per landmark to every point (its nearest landmark's)."""
        return np.asarray(landmark_values)[self.nearest]

    def state_dict(self) -> dict:
        """Tensors only, so that checkpoints load with ``torch.load(weights_only=True)``."""
        import torch

        state = {**_sparse_state(self.graph),
                 "landmarks": torch.as_tensor(self.landmarks, dtype=torch.long),
                 "nearest": torch.as_tensor(self.nearest, dtype=torch.long),
                 "n_neighbors": torch.tensor(self.n_neighbors)}
        for name in ("fine", "confirmed"):
            if getattr(self, name) is not None:
                state.update({f"{name}_{key}": value for key, value in _sparse_state(getattr(self, name)).items()})
        return state

    @classmethod
    def from_state_dict(cls, state: dict) -> "PointGraph":
        m = len(state["landmarks"])
        fine, confirmed = (_sparse_from(state, m, f"{name}_") if f"{name}_indptr" in state else None
                           for name in ("fine", "confirmed"))
        n_neighbors = int(state["n_neighbors"]) if "n_neighbors" in state else 0
        return cls(_sparse_from(state, m), state["landmarks"].numpy(), state["nearest"].numpy(), n_neighbors, fine,
                   confirmed)


def _sparse_state(matrix: sp.csr_matrix) -> dict:
    import torch

    return {"indptr": torch.as_tensor(matrix.indptr, dtype=torch.long),
            "indices": torch.as_tensor(matrix.indices, dtype=torch.long),
            "data": torch.as_tensor(matrix.data, dtype=torch.float32)}


def _sparse_from(state: dict, m: int, prefix: str = "") -> sp.csr_matrix:
    return sp.csr_matrix((state[f"{prefix}data"].numpy(), state[f"{prefix}indices"].numpy(),
                          state[f"{prefix}indptr"].numpy()), shape=(m, m))


def point_graph(codes: np.ndarray, n_neighbors: int | None = None, max_points: int | None = None,
                random_state: int = 0, inputs: np.ndarray | None = None) -> PointGraph:
    """:func:`latent_graph` over all ``codes``, or over ``max_points`` landmarks drawn at random
    when there are more distinct points than that. With ``inputs`` (the same points in another
    space, one row per row of ``codes``: the input as the experts see it), also the
    :attr:`~PointGraph.confirmed` graph: the codes' graph intersected with the inputs' kNN graph
    over the same landmarks and neighbours (:func:`intersection`).

    Exact copies of a point do not enter the kNN search (copies would fill each other's neighbour
    lists and cut the graph into islands of copies): the graph is built over distinct codes, which
    are its landmarks, and every copy follows its original. With too few distinct codes for a kNN
    graph, every copy hangs on its original with weight 1 instead. ``n_neighbors=None``:
    :func:`neighbors_for` the number of points the graph is built on.
    """
    codes = np.asarray(codes, dtype=np.float32)
    n = len(codes)
    distinct, position = distinct_rows(codes)
    if n_neighbors is None:
        n_neighbors = neighbors_for(min(len(distinct), max_points or len(distinct)))
    original = distinct[position]  # the first row with the same code, for every row
    if max_points is not None and len(distinct) > max_points:
        from sklearn.neighbors import NearestNeighbors

        landmarks = np.sort(np.random.default_rng(random_state).choice(distinct, max_points, replace=False))
        nearest = NearestNeighbors(n_neighbors=1).fit(codes[landmarks]).kneighbors(
            codes, return_distance=False)[:, 0]
        nearest[landmarks] = np.arange(len(landmarks))  # a landmark is its own nearest
        return _on(codes, landmarks, nearest, n_neighbors, inputs)
    if len(distinct) == n:
        return _on(codes, np.arange(n), np.arange(n), n_neighbors, inputs)
    if len(distinct) > n_neighbors:
        # The graph is over distinct codes, as over landmarks: a copy follows its original, so
        # repeating every row changes nothing the graph decides.
        return _on(codes, distinct, position, n_neighbors, inputs)
    # Too few distinct points for a kNN graph: they stay apart, each copy hanging on its original.
    rows = cols = np.array([], dtype=np.int64)
    weights = np.array([], dtype=np.float32)
    copies = np.flatnonzero(original != np.arange(n))
    rows = np.concatenate([rows, copies, original[copies]])
    cols = np.concatenate([cols, original[copies], copies])
    weights = np.concatenate([weights, np.ones(2 * len(copies), dtype=weights.dtype)])
    graph = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    return PointGraph(graph, np.arange(n), np.arange(n), n_neighbors)


def _on(codes: np.ndarray, landmarks: np.ndarray, nearest: np.ndarray, n_neighbors: int,
        inputs: np.ndarray | None = None) -> PointGraph:
    """The kNN graph and the fine graph over ``codes[landmarks]``, from one neighbour search,
    and the confirmed graph where there are ``inputs``."""
    _check_size(len(landmarks), n_neighbors)
    indices, distances = nearest_neighbors(codes[landmarks], n_neighbors)
    graph = _fuzzy_union(indices, distances, n_neighbors)
    confirmed = None
    if inputs is not None:
        confirmed = intersection(graph, latent_graph(np.asarray(inputs)[landmarks], n_neighbors))
    return PointGraph(graph, landmarks, nearest, n_neighbors, fine_graph(indices, n_neighbors), confirmed)


def intersection(first: sp.csr_matrix, second: sp.csr_matrix) -> sp.csr_matrix:
    """The fuzzy intersection of two fuzzy kNN graphs over the same points, as UMAP composes two
    views of one data set (``model_a * model_b`` in umap-learn; ``simplicial_set_intersect`` in
    uwot, equal weights): over the edges of either graph, the product of the two memberships,
    where an edge one graph lacks counts half that graph's smallest weight; then UMAP's reset of
    the local connectivity, each point's strongest edge rescaled to 1 and the two directions
    joined as a fuzzy union (``w_ij + w_ji - w_ij w_ji``).

    An edge both views draw keeps its weight; an edge only one draws fades to a fraction of it,
    without vanishing, so a point that only one view links to its cluster stays linked.
    """
    if first.nnz == 0 or second.nnz == 0:  # no edge is drawn by both views, nor kept by the product
        return sp.csr_matrix(first.shape, dtype=np.float32)
    pattern = (first + second).tocoo()
    rows, cols = pattern.row, pattern.col
    weights = []
    for graph in (first, second):
        values = np.asarray(graph[rows, cols]).ravel()
        floor = max(float(graph.data.min()) / 2 if graph.nnz else 0.0, 1e-8)
        weights.append(np.where(values > 0, values, floor))
    product = sp.csr_matrix((weights[0] * weights[1], (rows, cols)), shape=first.shape)
    strongest = np.asarray(product.max(axis=1).todense()).ravel()
    directed = (sp.diags(1.0 / np.maximum(strongest, 1e-30)) @ product).tocsr()
    joined = (directed + directed.T - directed.multiply(directed.T)).tocsr()
    joined.eliminate_zeros()
    return joined.astype(np.float32)


def strong_edges(graph: sp.csr_matrix, copies: int = STRONG_COPIES) -> sp.csr_matrix:
    """The fuzzy intersection of ``copies`` copies of ``graph`` (:func:`intersection`): each edge's
    weight to the power ``copies``, each point's strongest edge reset to 1. A point's weak edges
    fade and its strong ones stay, mutual ones most: like fewer neighbours per point, without a
    hard cut. Ten photos of a person, each with nine neighbours, send half their kNN weight to
    other people (the portraits: 52% of the weight lies within a person); on their strong edges,
    62-66%."""
    strong = graph
    for _ in range(copies - 1):
        strong = intersection(strong, graph)
    return strong


def fine_graph(indices: np.ndarray, n_neighbors: int) -> sp.csr_matrix | None:
    """The sparsest kNN graph whose every connected part holds at least ``n_neighbors`` points:
    each point joined to its ``k - 1`` nearest (``indices``, itself first, as from
    :func:`nearest_neighbors`), for the smallest ``k`` from :data:`FINEST_NEIGHBORS` up to
    ``n_neighbors - 1`` at which no part is smaller than one neighbourhood of the kNN graph;
    None if there is none. Unweighted: only its parts count.

    Each point's two nearest neighbours keep a cluster of any dimension in one piece (measured on
    the trunk's codes: one part holding nearly every point of MNIST, Fashion-MNIST, 8x8 digits and
    touching blobs), while objects seen from every angle, whose rings touch along their length in
    the kNN graph, come apart into one ring each. Where the points are sparser (a ring with views
    missing), two neighbours leave arcs and specks, so ``k`` grows until every part could be a
    cluster (on 80% of the turntable's codes, seeds 0-2, the first partition with two neighbours
    had 37-45 clusters, with this graph 16-26; 20 objects).
    """
    from scipy.sparse.csgraph import connected_components

    n = len(indices)
    for k in range(FINEST_NEIGHBORS, n_neighbors):
        rows = np.repeat(np.arange(n), k - 1)
        edges = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, indices[:, 1:k].ravel())), shape=(n, n))
        graph = ((edges + edges.T) > 0).astype(np.float32).tocsr()
        if np.bincount(connected_components(graph, directed=False)[1]).min() >= n_neighbors:
            return graph
    return None


def distinct_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of every distinct code, in row order, and for every row the position of its
    code among them (``codes[distinct[position]] == codes``)."""
    _, first, group = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    position = np.empty(len(first), dtype=np.int64)
    position[order] = np.arange(len(first))
    return first[order], position[group.ravel()]


def embed(codes: np.ndarray, n_components: int = 2, n_neighbors: int = 15, random_state: int = 0):
    """UMAP layout of the codes (``min_dist=0``), for plots: UMAP's layout optimisation of
    :func:`latent_graph` (the same fuzzy graph UMAP would build, without compiling its search).

    As in :func:`point_graph`, copies of a point stay out of the neighbour search (they would fill
    each other's neighbour lists and lay out as islands of copies) and take their original's place.
    """
    from umap.umap_ import find_ab_params, simplicial_set_embedding

    codes = np.asarray(codes, dtype=np.float32)
    distinct, position = distinct_rows(codes)
    if len(distinct) <= n_neighbors:  # too few distinct points for a kNN graph: the codes as they are
        return codes[:, :n_components]
    a, b = find_ab_params(1.0, 0.0)  # spread 1, min_dist 0: UMAP's curve for tight clumps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layout, _ = simplicial_set_embedding(
            codes[distinct], latent_graph(codes[distinct], n_neighbors).tocoo(), n_components,
            initial_alpha=1.0, a=a, b=b, gamma=1.0, negative_sample_rate=5, n_epochs=None, init="spectral",
            random_state=np.random.RandomState(random_state), metric="euclidean", metric_kwds={},
            densmap=False, densmap_kwds={}, output_dens=False)
    return layout.astype(np.float32)[position]


def membership(labels: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """One-hot ``(n_samples, n_groups)`` matrix of ``labels`` and the sorted group ids."""
    ids, column = np.unique(labels, return_inverse=True)
    return membership_matrix(column, len(ids)), ids


def membership_matrix(column: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """One-hot ``(len(column), n_groups)`` matrix with a 1 at ``(i, column[i])``."""
    n = len(column)
    return sp.csr_matrix((np.ones(n), (np.arange(n), column)), shape=(n, n_groups))


def expert_weights(graph: sp.spmatrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total kNN weight between every pair of experts: ``(W (k, k), expert ids)``.

    ``W[a, a]`` is twice the weight inside expert ``a`` (each edge counted from both ends), so that
    ``W[a].sum()`` is the volume of ``a``.
    """
    onehot, ids = membership(labels)
    return np.asarray((onehot.T @ graph @ onehot).todense()), ids


def expert_distances(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest distance between the points of every pair of experts in the latent space (single
    linkage): ``(D (k, k), expert ids)``, zeros on the diagonal.

    It is the edge a minimum spanning tree of the points draws between two experts, what is left
    to say how far apart they are where the kNN graph links them by no edge at all (groups that
    the graph sees as separate components, as HDBSCAN's tree joins its components).
    """
    from sklearn.neighbors import NearestNeighbors

    ids, column = np.unique(labels, return_inverse=True)
    k = len(ids)
    distances = np.zeros((k, k))
    for a in range(k - 1):
        later = column > a  # every pair once: expert a against the experts after it
        nearest = NearestNeighbors(n_neighbors=1).fit(codes[column == a]).kneighbors(codes[later])[0][:, 0]
        best = np.full(k, np.inf)
        np.minimum.at(best, column[later], nearest)
        distances[a, a + 1 :] = distances[a + 1 :, a] = best[a + 1 :]
    return distances, ids


def expert_graph(graph: sp.spmatrix, labels: np.ndarray) -> nx.Graph:
    """The graph of experts: one node per expert (``size``, ``volume``), edges weighted by the
    total kNN weight between their points."""
    weights, ids = expert_weights(graph, labels)
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    experts = nx.Graph()
    for i, expert in enumerate(ids):
        experts.add_node(int(expert), size=int(sizes[i]), volume=float(weights[i].sum()))
    rows, cols = np.nonzero(np.triu(weights, k=1))
    for i, j in zip(rows, cols):
        experts.add_edge(int(ids[i]), int(ids[j]), weight=float(weights[i, j]))
    return experts


def stable_communities(graph: sp.spmatrix, resolutions=RESOLUTIONS, n_runs: int = STABILITY_RUNS,
                       random_state: int = 0):
    """Louvain communities at the resolution whose partition is most reproducible.

    Modularity at one fixed resolution cannot resolve clusters below a size set by the whole graph
    (Fortunato & Barthelemy, PNAS 2007): at resolution 0.5, forty 10-point clusters among 400
    points come out as twenty pairs. Instead every resolution of :data:`RESOLUTIONS` runs
    ``n_runs`` times with different seeds; its stability is the mean adjusted Rand index between
    the runs (the consensus view of Lancichinetti & Fortunato, Sci. Rep. 2012: a partition the
    data really have comes out the same whatever the order of the moves). The most stable
    resolution wins, and so does any finer one that is as stable within the noise of that
    estimate: within one standard error of the best (each run's mean agreement with the others,
    their standard deviation over ``sqrt(n_runs)``; the one-standard-error rule of Breiman et al.
    1984), so that clusters a coarser partition would join are kept when the runs cannot tell the
    two resolutions apart. The finest such resolution is chosen. The decision compares partitions
    of the same graph, not a size with a constant: it reads the same for 400 points as for 20,000.

    The partition returned is the chosen resolution's medoid run, the one that agrees best with the
    other runs (the largest mean adjusted Rand index, the same numbers that measure the
    stability): any one run is a random draw from the runs' spread, the medoid its central estimate.

    Returns
    -------
    labels : ndarray of shape (n_points,)
        The medoid run's communities at the chosen resolution, ``0..c-1``.
    resolution : float
    stability : ndarray of shape (len(resolutions),)
    """
    profile = _reproducibility(graph, resolutions, n_runs, random_state)
    return (*_finest_within_error(profile, resolutions), profile[1])


def _reproducibility(graph, resolutions, n_runs: int, random_state: int):
    """Every resolution's medoid run, stability (mean agreement of its runs) and standard error."""
    runs, stability, error = [], [], []
    for resolution in resolutions:
        labels = [communities(graph, resolution, random_state + run) for run in range(n_runs)]
        medoid, per_run = medoid_run(labels)
        runs.append(medoid)
        stability.append(float(per_run.mean()) if n_runs > 1 else 1.0)
        error.append(float(per_run.std(ddof=1) / np.sqrt(n_runs)) if n_runs > 2 else 0.0)
    return runs, np.asarray(stability), np.asarray(error)


def _finest_within_error(profile, resolutions) -> tuple[np.ndarray, float]:
    """The medoid run and the resolution of the finest resolution whose stability lies within one
    standard error of the most stable one's (``profile`` from :func:`_reproducibility`)."""
    runs, stability, error = profile
    most = int(np.argmax(stability))
    best = int(np.flatnonzero(stability >= stability[most] - error[most] - 1e-9).max())
    return runs[best], float(resolutions[best])


def reproducible_communities(graph: sp.spmatrix, random_state: int = 0):
    """:func:`stable_communities` of ``graph`` or of its :func:`strong_edges`, whichever is more
    reproducible: the strong edges only where their most stable partition is more stable than the
    kNN graph's most stable one by more than that one's standard error.

    The two are the same neighbourhoods weighted two ways, and the choice between them is made as
    the choice of a resolution is: by how reproducible the partition is. Where small clusters sit
    close together (ten photos a person, each with nine neighbours), half of each point's kNN
    weight goes to other clusters; Louvain's runs then disagree on the kNN graph, and agree on its
    strong edges, which split the clusters along them. Where the kNN graph's partition is as
    reproducible, it stays: the strong edges are a transform of the graph and must earn their
    place. On structureless noise the kNN graph is one community at the coarsest resolution,
    reproducible in every run (stability 1), while its strong edges, like any sparse graph, fall
    into pieces that are reproducible only in part; so noise stays one cluster. A stability of 1
    cannot be beaten, and then the strong edges are not read at all.

    Returns
    -------
    labels : ndarray of shape (n_points,)
    resolution : float
    strong : bool
        Whether the partition is that of the strong edges.
    """
    resolutions, n_runs = RESOLUTIONS, STABILITY_RUNS
    plain = _reproducibility(graph, resolutions, n_runs, random_state)
    most = int(np.argmax(plain[1]))
    bar = plain[1][most] + plain[2][most]
    if bar < 1.0:
        strong = _reproducibility(strong_edges(graph), resolutions, n_runs, random_state)
        if strong[1].max() > bar + 1e-9:
            return *_finest_within_error(strong, resolutions), True
    return *_finest_within_error(plain, resolutions), False


def medoid_run(runs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The run that agrees best with the others (the largest mean adjusted Rand index; the first of
    equals), and each run's mean agreement with the others. Labels ``-1`` count as one more part."""
    n_runs = len(runs)
    shifted = [np.asarray(run) + 1 for run in runs]
    agreement = np.eye(n_runs)
    for i in range(n_runs):
        for j in range(i + 1, n_runs):
            agreement[i, j] = agreement[j, i] = adjusted_rand(shifted[i], shifted[j])
    per_run = (agreement.sum(1) - 1) / max(n_runs - 1, 1)
    return runs[int(np.argmax(per_run))], per_run


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index of two labelings by non-negative integers, as scikit-learn's
    ``adjusted_rand_score`` computes it (the same pair counts, exact in integers), without its
    input checks: :func:`stable_communities` compares 252 pairs of partitions a fit, and the checks
    took two thirds of a small fit's time."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    n = len(a)
    _, joint = np.unique(a * (int(b.max(initial=0)) + 1) + b, return_counts=True)
    together = int((joint ** 2).sum())  # sum of squared contingency cells
    rows, cols = int((np.bincount(a) ** 2).sum()), int((np.bincount(b) ** 2).sum())
    tp, fp, fn = together - n, cols - together, rows - together
    tn = n * n - fp - fn - together
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def communities(graph: sp.spmatrix, resolution: float = 1.0, random_state: int = 0) -> np.ndarray:
    """Louvain communities of the point graph (Blondel et al. 2008), as labels ``0..c-1``.

    Parallel local moving (Lu et al. 2015): in each sweep every node finds the neighbouring
    community of best modularity gain at once (:func:`_best_moves`, one compiled pass over the
    edges, cached on disk by numba), and a random half of the nodes that would gain moves, so that
    pairs do not swap back and forth. Communities are then contracted and the moves repeat
    until nothing merges. Measured against networkx's sequential Louvain: the same modularity to
    within 0.002 on blobs, digits, moons and spirals.
    """
    graph = sp.csr_matrix(graph, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    labels = np.arange(graph.shape[0])
    while True:
        community = _local_moving(graph, resolution, rng)
        if community.max() + 1 == graph.shape[0]:
            return labels
        labels = community[labels]
        contract, _ = membership(community)
        graph = (contract.T @ graph @ contract).tocsr()


def _local_moving(graph: sp.csr_matrix, resolution: float, rng, max_sweeps: int = 100) -> np.ndarray:
    """One Louvain level: community ``0..c-1`` of every node of ``graph`` (self-loops allowed)."""
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    two_m = max(degree.sum(), 1e-300)
    loops = graph.diagonal()
    community = np.arange(n)
    total = degree.copy()  # degree summed per community
    for _ in range(max_sweeps):
        target, willing = _best_moves(graph.indptr, graph.indices, graph.data, community, total, degree, loops,
                                      float(resolution), float(two_m))
        if not willing.any():
            break
        move = willing & (rng.random(n) < MOVING_SHARE)
        community[move] = target[move]
        total = np.bincount(community, weights=degree, minlength=n)
    return np.unique(community, return_inverse=True)[1]


@numba.njit(cache=True)
def _best_moves(indptr, indices, data, community, total, degree, loops, resolution, two_m):
    """One sweep of the local moves: every node's neighbouring community of best modularity gain
    (ties to the smallest id) and whether moving there beats staying. ``(target, willing)``."""
    n = len(indptr) - 1
    target = community.copy()
    willing = np.zeros(n, dtype=np.bool_)
    link = np.zeros(n)  # weight from the node to each community it touches
    touched = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        m = 0
        for jj in range(indptr[i], indptr[i + 1]):
            c = community[indices[jj]]
            if not seen[c]:
                seen[c] = True
                touched[m] = c
                m += 1
            link[c] += data[jj]
        own = community[i]
        # Gain of joining each community, the node taken out of its own (and its self-loop aside);
        # staying is joining its own again.
        stay = -resolution * degree[i] * (total[own] - degree[i]) / two_m
        best, best_gain = own, -np.inf
        for t in range(m):
            c = touched[t]
            if c == own:
                gain = (link[c] - loops[i]) - resolution * degree[i] * (total[c] - degree[i]) / two_m
                stay = gain
            else:
                gain = link[c] - resolution * degree[i] * total[c] / two_m
            if gain > best_gain or (gain == best_gain and c < best):
                best, best_gain = c, gain
        for t in range(m):
            link[touched[t]] = 0.0
            seen[touched[t]] = False
        if m > 0 and best != own and best_gain > stay + 1e-12 * two_m:
            target[i], willing[i] = best, True
    return target, willing
