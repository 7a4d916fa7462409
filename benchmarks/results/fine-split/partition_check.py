"""The first partition on saved trunk codes (benchmarks/results/jackknife/save_codes.py), with the fit's own
seeds, without and with the fine graph's split. Run from the repo root: python partition_check.py codes/*.npz"""
import sys, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
def acc(y, p): return evaluate(y, np.where(p >= 0, p, p.max() + 1))["acc"]
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    chains = M.chain_groups(g.graph, 0.8, random_state=seed)
    a = g.to_points(M.partition(g.graph, min_size=5, random_state=seed, chains=chains))
    b = g.to_points(M.partition(g.graph, min_size=5, random_state=seed, chains=chains, fine=g.fine, fine_min_size=max(5, g.n_neighbors)))
    print(f"{name}: without {a.max()+1} {acc(y,a):.3f} | with fine split {b.max()+1} {acc(y,b):.3f} ({acc(y,b)-acc(y,a):+.3f})", flush=True)
