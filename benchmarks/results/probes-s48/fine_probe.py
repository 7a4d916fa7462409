import sys, numpy as np
OUT = __import__("os").environ.get("OUT", "/tmp/s48")  # where the codes files go
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph.graph import nearest_neighbors, fine_graph, latent_graph, neighbors_for, FINEST_NEIGHBORS
from scipy.sparse.csgraph import connected_components
for seed in (0, 1, 2):
    d = np.load(f"{OUT}/codes80-img-turntable-{seed}.npz"); codes, y = d["codes"], d["y"]
    k = neighbors_for(len(codes))
    idx, dist = nearest_neighbors(codes, k)
    for j in range(1, 5):
        print(seed, f"neighbour {j}: same object {np.mean(y[idx[:, j]] == y):.3f}")
    f = fine_graph(idx, k)
    if f is not None:
        n, comp = connected_components(f, directed=False)
        pure = np.mean([np.bincount(y[comp == c]).max() / np.sum(comp == c) for c in range(n)])
        print(seed, "k", k, "fine parts", n, "sizes", sorted(np.bincount(comp).tolist())[::-1][:25], "purity(mean)", round(pure, 3))
print("---")
import scipy.sparse as sp
for seed in (0, 1, 2):
    d = np.load(f"{OUT}/codes80-img-turntable-{seed}.npz"); codes, y = d["codes"], d["y"]
    k = neighbors_for(len(codes)); idx, _ = nearest_neighbors(codes, k)
    f = fine_graph(idx, k).tocoo()
    deg = np.asarray(fine_graph(idx, k).sum(1)).ravel()
    cross = [(int(y[a]), int(y[b])) for a, b in zip(f.row, f.col) if a < b and y[a] != y[b]]
    print(seed, "mean degree", deg.mean().round(2), "cross edges", cross)
    for kk in range(3, 8):
        rows = np.repeat(np.arange(len(idx)), kk - 1)
        e = sp.csr_matrix((np.ones(len(rows)), (rows, idx[:, 1:kk].ravel())), shape=(len(idx),) * 2)
        g = ((e + e.T) > 0).astype(float)
        n, comp = connected_components(g, directed=False)
        print("   k", kk, "parts", n, "min size", np.bincount(comp).min(), "sizes>=10:", int(np.sum(np.bincount(comp) >= 10)))
