"""The fit's seeds: k in {0.8, 1} x round(log2 n), the k whose chosen resolution is most stable wins (ties: the default)."""
import sys, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4])
    k0 = G.neighbors_for(len(G.distinct_rows(codes)[0]))
    res_by_k = {}
    for k in (k0, max(3, round(0.8 * k0))):
        gp = G.point_graph(codes, n_neighbors=k, random_state=seed)
        lab, res, stab = G.stable_communities(gp.graph, random_state=seed)
        s = stab[list(G.RESOLUTIONS).index(res)]
        part = gp.to_points(M.partition(gp.graph, resolution=res, min_size=5, random_state=seed))
        acc = evaluate(y, np.where(part >= 0, part, part.max() + 1))["acc"]
        res_by_k[k] = (s, part.max() + 1, acc)
    best = max(res_by_k, key=lambda k: (res_by_k[k][0], k == k0))
    print(f.split("/")[-1][:-4], " | ".join(f"k{k}: {v[0]:.3f} -> {v[1]} {v[2]:.3f}" for k, v in res_by_k.items()),
          f"| chosen k{best}: {res_by_k[best][2] - res_by_k[k0][2]:+.3f}", flush=True)
