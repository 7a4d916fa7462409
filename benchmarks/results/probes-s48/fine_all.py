import sys, numpy as np, scipy.sparse as sp, glob
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph.graph import nearest_neighbors, neighbors_for, fine_graph
from scipy.sparse.csgraph import connected_components
files = sys.argv[1:]
for path in files:
    d = np.load(path); codes, y = d["codes"], d["y"]
    k = neighbors_for(len(codes)); idx, _ = nearest_neighbors(codes, k)
    n = len(idx)
    f = fine_graph(idx, k)
    m, comp = connected_components(f, directed=False) if f is not None else (1, np.zeros(n, int))
    sizes = np.bincount(comp)
    print(path.split("/")[-1], "n", n, "k", k, "| union fine parts", m, "largest share %.2f" % (sizes.max() / n))
    for kk in range(3, k):
        rows = np.repeat(np.arange(n), kk - 1)
        e = sp.csr_matrix((np.ones(len(rows)), (rows, idx[:, 1:kk].ravel())), shape=(n, n))
        g = (e.multiply(e.T) > 0).astype(float).tocsr()
        m, comp = connected_components(g, directed=False)
        sizes = np.bincount(comp)
        big = sizes >= k
        left = n - sizes[big].sum()
        pure = sum(np.bincount(y[comp == c]).max() for c in np.flatnonzero(big)) / max(sizes[big].sum(), 1)
        print("   mutual k=%d parts>=k %d left %d purity %.3f sizes %s" % (kk, big.sum(), left, pure, sorted(sizes[big].tolist())[::-1][:12]))
        if left < k:
            break
