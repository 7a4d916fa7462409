"""Probe: shared-neighbour (Jaccard) reweighting of the kNN graph before the first partition."""
import sys, time
from pathlib import Path
import numpy as np, scipy.sparse as sp
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODES  # noqa: E402  (puts the checkout on the path)
from mixae_graph.graph import point_graph, nearest_neighbors, _fuzzy_union, PointGraph, fine_graph
from mixae_graph.merge_split import partition
from mixae_graph.metrics import cluster_accuracy

sets = sys.argv[1].split(",")
seeds = [int(s) for s in sys.argv[2].split(",")]
variants = sys.argv[3].split(",")
codes_dir = CODES

def jaccard(indices, n):
    k = indices.shape[1]
    A = sp.csr_matrix((np.ones(indices.size, np.float32), (np.repeat(np.arange(n), k), indices.ravel())), shape=(n, n))
    return A, (A @ A.T).tocsr()  # shared counts

def variant_graph(codes, name, seed):
    pg = point_graph(codes, random_state=seed)
    if name == "default":
        return pg
    n = len(codes)
    idx, dist = nearest_neighbors(codes[pg.landmarks], pg.n_neighbors)
    k = pg.n_neighbors
    A, shared = jaccard(idx, len(idx))
    g = pg.graph.tocoo()
    s = np.asarray(shared[g.row, g.col]).ravel()
    jac = s / (2 * k - s)
    if name == "umap*jaccard":
        w = g.data * jac
    elif name == "jaccard":
        w = jac
    elif name == "umap*sqrtjac":
        w = g.data * np.sqrt(jac)
    keep = w > 0
    G = sp.csr_matrix((w[keep].astype(np.float32), (g.row[keep], g.col[keep])), shape=g.shape)
    return PointGraph(G, pg.landmarks, pg.nearest, pg.n_neighbors, pg.fine)

from common import load  # noqa: E402

for data in load(sets):
    name, y = data.name, data.y
    for seed in seeds:
        codes = np.load(codes_dir / f"{name}-{seed}.npz")["codes"]
        for v in variants:
            t = time.time()
            pg = variant_graph(codes, v, seed)
            g = pg.graph.tocoo()
            yl = y[pg.landmarks]
            purity = g.data[yl[g.row] == yl[g.col]].sum() / g.data.sum()
            lab = pg.to_points(partition(pg.graph, min_size=5, chain_share=0.8, random_state=seed,
                                         fine=pg.fine, fine_min_size=max(5, pg.n_neighbors)))
            print(f"{name:16s} s{seed} {v:14s} purity {purity:.3f} clusters {len(np.unique(lab[lab>=0])):3d} "
                  f"acc {cluster_accuracy(y, lab):.3f} {time.time()-t:.0f}s", flush=True)
