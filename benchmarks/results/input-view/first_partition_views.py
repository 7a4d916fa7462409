"""Partition (the library's first partition) on several representations; purity, clusters, ACC."""
import sys, time
import numpy as np, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODES  # noqa: E402  (puts the checkout on the path)
import quality
from mixae_graph.graph import point_graph
from mixae_graph.blur import gaussian_blur
from mixae_graph.merge_split import partition
from mixae_graph.metrics import cluster_accuracy
from sklearn.decomposition import PCA
quality.quiet_lightning()
sets = sys.argv[1].split(","); reps = sys.argv[2].split(",")
qargs = quality.parse_args(["--datasets", *sets])
def run(Z, y, seed):
    pg = point_graph(np.asarray(Z, np.float32), random_state=seed)
    g = pg.graph.tocoo(); yl = y[pg.landmarks]
    pur = g.data[yl[g.row] == yl[g.col]].sum() / g.data.sum()
    lab = pg.to_points(partition(pg.graph, min_size=5, chain_share=0.8, random_state=seed, fine=pg.fine,
                                 fine_min_size=max(5, pg.n_neighbors)))
    return pur, len(np.unique(lab[lab >= 0])), cluster_accuracy(y, lab)
for data in quality.load_all(qargs):
    X, y = data.X.astype(np.float32), data.y
    Xb = gaussian_blur(torch.as_tensor(X), data.image_shape, 0.036).numpy() if data.image_shape else X
    for rep in reps:
        t = time.time()
        if rep == "codes":
            res = [run(np.load(CODES / f"{data.name}-{s}.npz")["codes"], y, s) for s in range(3)]
        else:
            d = int(rep[3:]) if rep.startswith("pca") else None
            Z = PCA(min(d, X.shape[1] - 1), random_state=0).fit_transform(Xb) if d else Xb
            res = [run(Z, y, s) for s in range(3)]
        res = np.array(res)
        print(f"{data.name:16s} {rep:8s} purity {res[:,0].mean():.3f} clusters {' '.join(str(int(c)) for c in res[:,1])} "
              f"acc {' '.join(f'{a:.3f}' for a in res[:,2])} mean {res[:,2].mean():.3f} {time.time()-t:.0f}s", flush=True)
