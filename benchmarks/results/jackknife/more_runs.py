"""First partition on cached codes with the fit's Louvain seeds: 8 runs (the fit) vs 24 runs."""
import sys, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4])
    gp = G.point_graph(codes, random_state=seed)
    out = [f.split("/")[-1][:-4]]
    for runs in (8, 24):
        lab, res, stab = G.stable_communities(gp.graph, n_runs=runs, random_state=seed)
        part = gp.to_points(M.partition(gp.graph, resolution=res, min_size=5, random_state=seed))
        acc = evaluate(y, np.where(part >= 0, part, part.max() + 1))["acc"]
        out.append(f"{runs} runs: r{res:.2f} {part.max()+1} {acc:.3f}")
    print(" | ".join(out), flush=True)
