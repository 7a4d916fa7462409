import sys, numpy as np
from mixae_graph import graph as G
for f in sys.argv[1:]:
    z = np.load(f); seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(z["codes"], random_state=seed)
    w = g.within_fine_parts()
    print(name, "unchanged" if w is g.graph else f"{g.graph.nnz - w.nnz} of {g.graph.nnz} edge entries dropped", flush=True)
