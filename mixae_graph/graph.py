"""Point-level kNN graphs (sparse) and the expert-level graph (networkx).

The point graph is UMAP's fuzzy simplicial set (McInnes et al., arXiv 1802.03426, sec. 3.1) built on
the latent codes: a symmetric, weighted kNN graph from approximate nearest neighbours (pynndescent).
It is built in the latent space itself, not on a UMAP layout: a ``min_dist=0`` layout clumps points,
and a kNN graph over the clumps breaks one thin manifold into many components (measured: two moons
lifted to 50-D gave 12 components on a 10-D layout, 2 on the latent codes). The layout is kept for
pictures (:func:`embed`).
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import scipy.sparse as sp


def latent_graph(codes: np.ndarray, n_neighbors: int = 15, random_state: int = 0) -> sp.csr_matrix:
    """Symmetric weighted kNN graph over ``codes`` (UMAP's fuzzy graph), as a CSR matrix.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_dims)
    n_neighbors : int, default=15
        Neighbours per point; ``n_samples`` must exceed it.
    random_state : int, default=0
    """
    from umap.umap_ import fuzzy_simplicial_set

    codes = np.asarray(codes, dtype=np.float32)
    if codes.shape[0] <= n_neighbors:
        raise ValueError(
            f"the kNN graph needs more samples than n_neighbors={n_neighbors}, got {codes.shape[0]}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph, _, _ = fuzzy_simplicial_set(
            codes, n_neighbors, np.random.RandomState(random_state), "euclidean"
        )
    graph = graph.tocsr()
    graph.eliminate_zeros()
    return graph


def embed(codes: np.ndarray, n_components: int = 2, n_neighbors: int = 15, random_state: int = 0):
    """UMAP layout of the codes (``min_dist=0``), for plots."""
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(
            n_components=n_components,
            n_neighbors=min(n_neighbors, len(codes) - 1),
            min_dist=0.0,
            random_state=random_state,
        )
        return reducer.fit_transform(np.asarray(codes, dtype=np.float32))


def membership(labels: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """One-hot ``(n_samples, n_groups)`` matrix of ``labels`` and the sorted group ids."""
    ids, column = np.unique(labels, return_inverse=True)
    onehot = sp.csr_matrix(
        (np.ones(len(labels)), (np.arange(len(labels)), column)), shape=(len(labels), len(ids))
    )
    return onehot, ids


def expert_weights(graph: sp.spmatrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total kNN weight between every pair of experts: ``(W (k, k), expert ids)``.

    ``W[a, a]`` is twice the weight inside expert ``a`` (each edge counted from both ends), so that
    ``W[a].sum()`` is the volume of ``a``.
    """
    onehot, ids = membership(labels)
    return np.asarray((onehot.T @ graph @ onehot).todense()), ids


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


def communities(graph: sp.spmatrix, resolution: float = 1.0, random_state: int = 0) -> np.ndarray:
    """Louvain communities of the point graph (Blondel et al. 2008), as labels ``0..c-1``."""
    network = nx.from_scipy_sparse_array(graph)
    parts = nx.community.louvain_communities(
        network, weight="weight", resolution=resolution, seed=random_state
    )
    labels = np.empty(graph.shape[0], dtype=np.int64)
    for label, part in enumerate(sorted(parts, key=min)):
        labels[list(part)] = label
    return labels
