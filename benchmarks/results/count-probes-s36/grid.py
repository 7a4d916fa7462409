"""Extended resolution grid probe: the default rule over 0.25..4 vs 0.25..16 (and 0.25..8) on saved codes."""
import sys, glob, functools, numpy as np
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
grids = {"4": tuple(0.25 * 2 ** (s / 2) for s in range(9)),
         "8": tuple(0.25 * 2 ** (s / 2) for s in range(11)),
         "16": tuple(0.25 * 2 ** (s / 2) for s in range(13))}
files = sys.argv[1:] or sorted(glob.glob("/tmp/s30/codes/*.npz"))
orig = G.stable_communities
for f in files:
    name = f.split("/")[-1][:-4]; seed = int(name[-1])
    z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed)
    _, _, st = orig(g.graph, resolutions=grids["16"], random_state=seed)
    out = []
    for key, grid in grids.items():
        M.stable_communities = functools.partial(orig, resolutions=grid)
        lab = M.partition(g.graph, min_size=5, random_state=seed, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
        out.append(f"grid{key}: k={lab.max()+1:3d} acc {evaluate(y, lab[g.nearest])['acc']:.3f}")
    print(f"{name:20s} n={len(codes):5d} " + " | ".join(out) + " | stab " + " ".join(f"{v:.3f}" for v in st), flush=True)
