"""Graph from two views (trunk codes, PCA-50 of blurred pixels): product on shared edges, fuzzy union."""
import sys, time
import numpy as np, torch, scipy.sparse as sp
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODES, intersection, reset  # noqa: E402  (puts the checkout on the path)
import quality
from mixae_graph.graph import point_graph, PointGraph
from mixae_graph.blur import gaussian_blur
from mixae_graph.merge_split import partition
from mixae_graph.metrics import cluster_accuracy
from sklearn.decomposition import PCA
quality.quiet_lightning()
sets = sys.argv[1].split(","); modes = sys.argv[2].split(",")
qargs = quality.parse_args(["--datasets", *sets])
for data in quality.load_all(qargs):
    X, y = data.X.astype(np.float32), data.y
    Xb = gaussian_blur(torch.as_tensor(X), data.image_shape, 0.036).numpy() if data.image_shape else X
    dims = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    P = PCA(min(dims, X.shape[1], len(X) - 1), random_state=0).fit_transform(Xb).astype(np.float32)
    gp = point_graph(P).graph
    from mixae_graph.graph import nearest_neighbors, neighbors_for
    k = neighbors_for(len(P))
    wide = {}
    for f in (2, 3):
        idx, _ = nearest_neighbors(P, f * k)
        M = sp.csr_matrix((np.ones(idx.size, np.float32), (np.repeat(np.arange(len(P)), idx.shape[1]), idx.ravel())), shape=(len(P), len(P)))
        wide[f] = ((M + M.T) > 0).astype(np.float32)
    for mode in modes:
        res = []
        t = time.time()
        for s in range(3):
            pg = point_graph(np.load(CODES / f"{data.name}-{s}.npz")["codes"], random_state=s)
            gc = pg.graph
            assert len(pg.landmarks) == len(X)
            if mode == "product":
                G = gc.multiply(gp).tocsr()
            elif mode == "union":
                G = (gc + gp - gc.multiply(gp)).tocsr()
            elif mode == "geo":
                G = gc.multiply(gp).sqrt().tocsr()
            elif mode.startswith("mask"):
                G = gc.multiply(wide[int(mode[4:])]).tocsr()
            elif mode == "prodreset":  # edges in both only, then UMAP's reset
                G = reset(gc.multiply(gp).tocsr())
            elif mode == "umapx":  # UMAP's intersection, the two views weighted equally
                G = intersection(gc, gp, 0.5)
            elif mode.startswith("mix"):  # UMAP's intersection, the input weighted mix
                G = intersection(gc, gp, float(mode[3:]))
            elif mode == "mean":
                G = ((gc + gp) / 2).tocsr()
            G.eliminate_zeros()
            g = G.tocoo()
            pur = g.data[y[g.row] == y[g.col]].sum() / g.data.sum()
            lab = partition(G, min_size=5, chain_share=0.8, random_state=s, fine=pg.fine, fine_min_size=max(5, pg.n_neighbors))
            res.append((pur, len(np.unique(lab[lab >= 0])), cluster_accuracy(y, lab)))
        res = np.array(res)
        print(f"{data.name:16s} {mode:8s} purity {res[:,0].mean():.3f} clusters {' '.join(str(int(c)) for c in res[:,1])} "
              f"acc {' '.join(f'{a:.3f}' for a in res[:,2])} mean {res[:,2].mean():.3f} {time.time()-t:.0f}s", flush=True)
