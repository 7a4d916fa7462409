import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph import merge_split as M
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split('/')[-1][:-4]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    pieces, r, stab = G.stable_communities(g.graph, random_state=0)
    labels = [G.communities(g.graph, r, run) for run in range(8)]
    A = np.eye(8)
    for i in range(8):
        for j in range(i+1, 8): A[i,j]=A[j,i]=G.adjusted_rand(labels[i], labels[j])
    med = int(np.argmax(A.sum(1)))
    fm = max(5, g.n_neighbors)
    def finish(p):
        l, _ = M.split_experts(g.graph, p, min_size=5, fine=g.fine, fine_min_size=fm)
        l, _ = M.join_pieces(g.graph, l, min_size=5, chain_share=0.8)
        return l
    res = []
    for run in range(8):
        l = finish(labels[run]); res.append((len(np.unique(l)), evaluate(yl, l)["acc"]))
    print(f"{name:20s} r={r:.2f} run0 {res[0][0]}/{res[0][1]:.3f} medoid(run {med}) {res[med][0]}/{res[med][1]:.3f} | all runs: " + " ".join(f"{k}/{a:.3f}" for k, a in res), flush=True)
