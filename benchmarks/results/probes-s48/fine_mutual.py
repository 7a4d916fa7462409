import sys, numpy as np, scipy.sparse as sp
OUT = __import__("os").environ.get("OUT", "/tmp/s48")  # where the codes files go
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph.graph import nearest_neighbors, neighbors_for
from scipy.sparse.csgraph import connected_components
import glob
for path in sorted(glob.glob(f"{OUT}/codes80-*.npz")):
    d = np.load(path); codes, y = d["codes"], d["y"]
    k = neighbors_for(len(codes)); idx, _ = nearest_neighbors(codes, 12)
    n = len(idx)
    for kk in range(3, 10):
        rows = np.repeat(np.arange(n), kk - 1)
        e = sp.csr_matrix((np.ones(len(rows)), (rows, idx[:, 1:kk].ravel())), shape=(n, n))
        for name, g in (("union", ((e + e.T) > 0)), ("mutual", (e.multiply(e.T) > 0))):
            g = g.astype(float).tocsr()
            m, comp = connected_components(g, directed=False)
            sizes = np.bincount(comp)
            coo = sp.triu(g).tocoo()
            cross = int(np.sum(y[coo.row] != y[coo.col]))
            big = sizes >= k
            covered = sizes[big].sum() / n
            pure = sum(np.bincount(y[comp == c]).max() for c in np.flatnonzero(big)) / max(sizes[big].sum(), 1)
            print(path[-14:], kk, name, "parts", m, "parts>=k", int(big.sum()), "covered %.3f" % covered, "purity %.3f" % pure, "cross", cross)
