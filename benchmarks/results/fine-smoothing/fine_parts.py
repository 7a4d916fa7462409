"""How many parts the fine graph has on each set's trunk codes, and the share of kNN weight across them."""
import sys, numpy as np
from scipy.sparse.csgraph import connected_components
from mixae_graph import graph as G
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed)
    if g.fine is None:
        print(name, "no fine graph"); continue
    n, part = connected_components(g.fine, directed=False)
    coo = g.graph.tocoo()
    cross = coo.data[part[coo.row] != part[coo.col]].sum() / coo.data.sum()
    sizes = np.sort(np.bincount(part))[::-1]
    # class purity of parts
    pur = sum(np.bincount(y[part == p]).max() for p in range(n)) / len(y)
    crossy = coo.data[y[coo.row] != y[coo.col]].sum() / coo.data.sum()
    print(f"{name}: {n} parts, largest {sizes[:3].tolist()}, smallest {sizes[-1]}, purity {pur:.3f}, "
          f"kNN weight across parts {cross:.3f}, across classes {crossy:.3f}", flush=True)
