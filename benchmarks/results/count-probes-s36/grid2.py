import sys, glob, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = tuple(0.25 * 2 ** (s / 2) for s in range(17))  # to 64
def curve(graph, seed, runs=8):
    out = []
    for r in R:
        labels = [G.communities(graph, r, seed + run) for run in range(runs)]
        A = np.eye(runs)
        for i in range(runs):
            for j in range(i + 1, runs):
                A[i, j] = A[j, i] = G.adjusted_rand(labels[i], labels[j])
        per = (A.sum(1) - 1) / (runs - 1)
        out.append((r, per.mean(), per.std(ddof=1) / np.sqrt(runs), labels[0]))
    return out
for f in sys.argv[1:]:
    if f.startswith("noise"):
        n, d = map(int, f.split(":")[1:]); codes = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32); y = np.zeros(n, int); seed = 0; name = f
    else:
        name = f.split("/")[-1][:-4]; seed = int(name[-1]); z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed)
    print(name, codes.shape, "k_nn", g.n_neighbors)
    for r, s, e, l in curve(g.graph, seed):
        sizes = np.bincount(l)
        print(f"  r={r:6.2f} stab {s:.3f} se {e:.3f} k {l.max()+1:4d} median size {np.median(sizes):6.1f} acc {evaluate(y, l[g.nearest])['acc']:.3f}", flush=True)
