"""Stability curve per resolution on saved codes: mean ARI, its standard error, and counts/ACC of run 0."""
import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    print(name, flush=True)
    for r in G.RESOLUTIONS:
        labels = [G.communities(g.graph, r, seed + run) for run in range(G.STABILITY_RUNS)]
        n = len(labels); A = np.eye(n)
        for i in range(n):
            for j in range(i + 1, n):
                A[i, j] = A[j, i] = G.adjusted_rand(labels[i], labels[j])
        per = (A.sum(1) - 1) / (n - 1)
        counts = [int(l.max() + 1) for l in labels]
        print(f"  r={r:.2f} stab {per.mean():.3f} se {per.std(ddof=1)/np.sqrt(n):.3f} counts {counts} acc0 {evaluate(y, labels[0])['acc']:.3f}", flush=True)
