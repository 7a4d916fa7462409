import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph import merge_split as M
from mixae_graph.metrics import evaluate
rows = []
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    name = f.split('/')[-1][:-4]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    pieces, r, stab = G.stable_communities(g.graph, random_state=0)
    fm = max(5, g.n_neighbors)
    chains = M.chain_groups(g.graph, 0.8, random_state=0)
    def run(fine=True, chain=True, small=True):
        l, _ = M.split_experts(g.graph, pieces, min_size=5, fine=g.fine if fine else None, fine_min_size=fm)
        while True:
            n0 = len(np.unique(l))
            if small: l, _ = M.absorb_small(g.graph, l, 5)
            if chain: l, _ = M.merge_chains(g.graph, l, chains=chains)
            if len(np.unique(l)) == n0: break
        return l
    out = []
    for kw in [{}, {"fine": False}, {"chain": False}, {"small": False}, {"fine": False, "chain": False, "small": False}]:
        l = run(**kw); out.append(f"{len(np.unique(l))}/{evaluate(yl, l)['acc']:.3f}")
    print(f"{name:22s} louvain {len(np.unique(pieces))} r={r:.2f} | full {out[0]} | -fine {out[1]} | -chain {out[2]} | -small {out[3]} | none {out[4]}", flush=True)
