"""The UMAP kernel raised to a power before the fuzzy union (exp(-p (d - rho) / sigma)) against
the plain graph. Usage: kernel_power.py CODEDIR DATASETS SEEDS POWERS"""
import sys
from pathlib import Path
import numpy as np, scipy.sparse as sp
sys.path[:0] = [str(Path(__file__).resolve().parents[3]), str(Path(__file__).parent)]
import mixae_graph.graph as G
from ensemble_report import report
def powered(codes, p):
    k = G.neighbors_for(len(codes))
    idx, dist = G.nearest_neighbors(codes.astype(np.float32), k)
    rho, sigma = G._local_scales(dist, k)
    n = len(idx)
    w = np.exp(-p * np.maximum(dist[:, 1:] - rho[:, None], 0) / sigma[:, None])
    d = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k - 1), idx[:, 1:].ravel())), shape=(n, n))
    t = d.T.tocsr(); g = (d + t - d.multiply(t)).tocsr(); g.eliminate_zeros(); return g
folder = Path(sys.argv[1])
for data in sys.argv[2].split(","):
    for seed in sys.argv[3].split(","):
        d = np.load(folder / f"{data}-{seed}.npz"); y = d["y"]
        print(data, seed, flush=True)
        for p in [float(x) for x in sys.argv[4].split(",")]:
            report(f"power {p}", powered(d["codes"], p), y)
