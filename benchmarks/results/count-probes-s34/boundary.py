"""Resolution choice on saved codes: ARI stability (the library's) against boundary reproducibility
(of the kNN edges any run cuts, the weighted share that every run cuts)."""
import sys, numpy as np, scipy.sparse as sp
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    coo = sp.triu(g.graph, k=1).tocoo()
    rows = []
    for r in G.RESOLUTIONS:
        labels = [G.communities(g.graph, r, seed + run) for run in range(G.STABILITY_RUNS)]
        cut = np.mean([l[coo.row] != l[coo.col] for l in labels], axis=0)
        any_ = cut > 0
        bnd = float((coo.data[any_] * cut[any_]).sum() / max(coo.data[any_].sum(), 1e-12)) if any_.any() else 1.0
        rows.append((r, bnd, int(labels[0].max() + 1), evaluate(y, labels[0])["acc"]))
    _, chosen, _ = G.stable_communities(g.graph, random_state=seed)
    best = max(rows, key=lambda t: t[1])
    cur = [t for t in rows if abs(t[0] - chosen) < 1e-9][0]
    print(f"{name:22s} classes {y.max()+1:3d} | ARI-stab r={cur[0]:.2f} k={cur[2]:3d} acc {cur[3]:.3f} | boundary r={best[0]:.2f} k={best[2]:3d} acc {best[3]:.3f} | "
          + " ".join(f"{t[1]:.2f}/{t[2]}" for t in rows), flush=True)
