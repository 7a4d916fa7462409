"""Hand-made sparse graphs for the graph and merge/split tests."""

import numpy as np
import scipy.sparse as sp


def graph_from_edges(n, edges):
    """Symmetric CSR adjacency from ``(i, j, weight)`` triples (each undirected edge given once)."""
    rows, cols, data = [], [], []
    for i, j, w in edges:
        rows += [i, j]
        cols += [j, i]
        data += [w, w]
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))


def clique_edges(nodes, weight=1.0):
    nodes = list(nodes)
    return [(a, b, weight) for k, a in enumerate(nodes) for b in nodes[k + 1:]]


def ring_edges(nodes, k=5, closed=True, weight=1.0):
    """Each node joined to its ``k`` nearest on each side along ``nodes`` (a ring, or a path)."""
    nodes = list(nodes)
    n = len(nodes)
    edges = []
    for i in range(n):
        for step in range(1, k + 1):
            j = i + step
            if j >= n:
                if not closed:
                    continue
                j -= n
            edges.append((nodes[i], nodes[j], weight))
    return edges


def blobs_edges(n_blobs=6, size=30, links=3, weak=0.1, seed=0):
    """``n_blobs`` cliques of ``size`` nodes, every pair of blobs joined by ``links`` weak edges."""
    rng = np.random.default_rng(seed)
    edges = []
    for b in range(n_blobs):
        edges += clique_edges(range(b * size, (b + 1) * size))
    for a in range(n_blobs):
        for b in range(a + 1, n_blobs):
            for _ in range(links):
                edges.append((a * size + int(rng.integers(size)), b * size + int(rng.integers(size)), weak))
    return edges
