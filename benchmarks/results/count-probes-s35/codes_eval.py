"""For each codes file: 5-NN purity, the default first partition (steps' partition), stability choice, ACC per resolution."""
import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph.merge_split import partition
from mixae_graph.metrics import evaluate
from sklearn.neighbors import NearestNeighbors
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split("/")[-1][:-4]; seed = int(name[-1])
    idx = NearestNeighbors(n_neighbors=6).fit(codes).kneighbors(codes, return_distance=False)[:, 1:]
    pur = (y[idx] == y[:, None]).mean()
    g = G.point_graph(codes, random_state=seed)
    lab = partition(g.graph, min_size=5, random_state=seed, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
    acc = evaluate(y, lab[g.nearest])["acc"]
    accs = []
    for r in G.RESOLUTIONS:
        l = G.communities(g.graph, r, seed); accs.append(f"{evaluate(y, l[g.nearest])['acc']:.3f}({l.max()+1})")
    print(f"{f.split('/')[-2]:10s} {name:18s} 5nn {pur:.3f} first partition k={lab.max()+1} acc {acc:.3f} | {' '.join(accs)}", flush=True)
