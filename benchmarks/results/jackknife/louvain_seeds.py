"""Resolution choice on cached codes vs the Louvain seeds used for the stability runs (jackknife SE in place)."""
import sys, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    gp = G.point_graph(codes)
    out = [f.split("/")[-1][:-4]]
    for runs, start in ((8, 0), (8, 2), (8, 100), (24, 0)):
        lab, res, stab = G.stable_communities(gp.graph, n_runs=runs, random_state=start)
        part = gp.to_points(M.partition(gp.graph, resolution=res, min_size=5, random_state=start))
        acc = evaluate(y, np.where(part >= 0, part, part.max() + 1))["acc"]
        out.append(f"{runs}@{start}: r{res:.2f} {part.max()+1} {acc:.3f}")
    print(" | ".join(out), flush=True)
