"""Components of the kNN graph at k = 3..7 on saved trunk codes, on all points and on random 80% / 60% subsamples:
how many hold a neighbourhood (round(log2 n) points) or more, and their purity. Run from the repo root on
codes saved by benchmarks/results/jackknife/save_codes.py."""
import sys, numpy as np
from scipy.sparse.csgraph import connected_components
from mixae_graph import graph as G
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split("/")[-1][:-4]
    for frac in (1.0, 0.8, 0.6):
        idx = np.sort(np.random.default_rng(0).choice(len(codes), int(frac * len(codes)), replace=False))
        c, yy = codes[idx], y[idx]; n = len(c); out = []
        for k in (3, 4, 5, 6, 7):
            g = G.point_graph(c, n_neighbors=k)
            nc, lab = connected_components(g.graph, directed=False); lab = g.to_points(lab)
            sizes = np.bincount(lab); big = sizes >= G.neighbors_for(n)
            pur = sum(np.bincount(yy[lab == q]).max() for q in np.flatnonzero(big)) / max(sizes[big].sum(), 1)
            out.append(f"k{k}: {big.sum()} big / {nc} pur {pur:.3f}")
        print(name, frac, " | ".join(out), flush=True)
