import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
from sklearn.neighbors import NearestNeighbors
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]
    idx = NearestNeighbors(n_neighbors=6).fit(codes).kneighbors(codes, return_distance=False)[:, 1:]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    out = []
    for r in G.RESOLUTIONS:
        l = G.communities(g.graph, r, 0); out.append(f"{r:.2f}:{l.max()+1}/{evaluate(yl, l)['acc']:.3f}")
    print(f.split('/')[-1], f"5nn {(y[idx]==y[:,None]).mean():.3f}", " ".join(out), flush=True)
