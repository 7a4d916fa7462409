"""On saved codes (all points, and random 80% / 60% subsamples of the turntable, moons and portraits): the first
partition without the fine split, with the fine graph fixed at three neighbours, and with the sparsest kNN graph
without specks (the library's rule, written out here). Run from the repo root."""
import sys, numpy as np
from scipy.sparse.csgraph import connected_components
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
def acc(y, p): return evaluate(y, np.where(p >= 0, p, p.max() + 1))["acc"]
for f in sys.argv[1:]:
    z = np.load(f); codes0, y0 = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    fracs = (1.0, 0.8, 0.6) if "turntable" in name or "moons" in name or "portraits" in name else (1.0,)
    for frac in fracs:
        idx = np.sort(np.random.default_rng(0).choice(len(codes0), int(frac * len(codes0)), replace=False))
        codes, y = codes0[idx], y0[idx]
        g = G.point_graph(codes, random_state=seed)
        lm = codes[g.landmarks]; kf = None
        for k in range(3, g.n_neighbors):
            fine = G.latent_graph(lm, k)
            sizes = np.bincount(connected_components(fine, directed=False)[1])
            if sizes.min() >= g.n_neighbors:
                kf = k; break
        chains = M.chain_groups(g.graph, 0.8, random_state=seed)
        a = g.to_points(M.partition(g.graph, min_size=5, random_state=seed, chains=chains))
        b = a if kf is None else g.to_points(M.partition(g.graph, min_size=5, random_state=seed, chains=chains, fine=fine, fine_min_size=g.n_neighbors))
        c = g.to_points(M.partition(g.graph, min_size=5, random_state=seed, chains=chains, fine=G.latent_graph(lm, 3), fine_min_size=g.n_neighbors))
        print(f"{name} {frac}: without {a.max()+1} {acc(y,a):.3f} | k3 {c.max()+1} {acc(y,c):.3f} | adaptive k{kf} {b.max()+1} {acc(y,b):.3f} ({acc(y,b)-acc(y,a):+.3f})", flush=True)
