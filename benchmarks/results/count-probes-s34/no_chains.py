"""The first partition on saved codes with and without the chain rule."""
import sys, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
def acc(y, p): return evaluate(y, np.where(p >= 0, p, p.max() + 1))["acc"]
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    fine = dict(fine=g.fine, fine_min_size=max(5, g.n_neighbors))
    chains = M.chain_groups(g.graph, 0.8, random_state=seed)
    a = M.partition(g.graph, min_size=5, random_state=seed, chains=chains, **fine)
    b = M.partition(g.graph, min_size=5, random_state=seed, chains=np.full(g.graph.shape[0], -1), **fine)
    print(f"{name:22s} chains: {a.max()+1:3d} {acc(y,a):.3f} | none: {b.max()+1:3d} {acc(y,b):.3f} | chain points {np.mean(chains>=0):.2f}", flush=True)
