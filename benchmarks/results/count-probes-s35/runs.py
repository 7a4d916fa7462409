"""Save 8 Louvain runs at every resolution of the grid for each saved code set."""
import sys, time, numpy as np
from mixae_graph import graph as G
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    t = time.time()
    g = G.point_graph(codes, random_state=seed)
    labels = np.array([[G.communities(g.graph, r, seed + run) for run in range(G.STABILITY_RUNS)] for r in G.RESOLUTIONS])
    np.savez(f"/tmp/s35/runs-{name}.npz", labels=labels, y=y, nearest=g.nearest)
    print(name, labels.shape, len(y), f"{time.time()-t:.1f}s", flush=True)
