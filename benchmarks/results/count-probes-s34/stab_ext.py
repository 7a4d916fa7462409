import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
res = tuple(0.25 * 2 ** (s / 2) for s in range(15))
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    lab, r, stab = G.stable_communities(g.graph, resolutions=res, random_state=seed)
    _, r9, _ = G.stable_communities(g.graph, random_state=seed)
    print(f"{name:22s} grid to 4: r={r9:.2f} | grid to 32: r={r:.2f} k={lab.max()+1} acc {evaluate(y, lab)['acc']:.3f} | " + " ".join(f"{s:.3f}" for s in stab), flush=True)
