import sys, glob, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../count-probes-s35"))
from null import curve  # noqa: E402  (stability, its standard error and the first run, per resolution)
R = tuple(0.25 * 2 ** (s / 2) for s in range(17))  # to 64
for f in sys.argv[1:]:
    if f.startswith("noise"):
        n, d = map(int, f.split(":")[1:]); codes = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32); y = np.zeros(n, int); seed = 0; name = f
    else:
        name = f.split("/")[-1][:-4]; seed = int(name[-1]); z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed)
    print(name, codes.shape, "k_nn", g.n_neighbors)
    for r, s, e, l in zip(R, *curve(g.graph, seed, resolutions=R)):
        sizes = np.bincount(l)
        print(f"  r={r:6.2f} stab {s:.3f} se {e:.3f} k {l.max()+1:4d} median size {np.median(sizes):6.1f} acc {evaluate(y, l[g.nearest])['acc']:.3f}", flush=True)
