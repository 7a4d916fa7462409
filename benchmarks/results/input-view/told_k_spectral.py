"""Graph quality with the count given: spectral clustering (K = classes) on the codes' kNN graph and on
its fuzzy intersection with the input's kNN graph (UMAP's composition, with the local connectivity reset)."""
import sys, time
from pathlib import Path
import numpy as np, torch, scipy.sparse as sp
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE)); from common import *  # noqa
from sklearn.cluster import SpectralClustering
sets = sys.argv[1].split(",")
for data in load(sets):
    X, y = data.X.astype(np.float32), data.y
    K = len(np.unique(y))
    gp = input_graph(data)
    out = {}
    for s in range(3):
        gc = point_graph(codes_of(data.name, s), random_state=s).graph
        for tag, G in (("codes", gc), ("intersection", intersection(gc, gp, 0.5)), ("intersection 1/3", intersection(gc, gp, 1 / 3))):
            lab = SpectralClustering(K, affinity="precomputed", random_state=s, assign_labels="cluster_qr").fit_predict(G)
            out.setdefault(tag, []).append(cluster_accuracy(y, lab))
    print(f"{data.name:16s} K={K:3d} " + " ".join(f"{t}: {' '.join(f'{a:.3f}' for a in v)} mean {np.mean(v):.3f} |" for t, v in out.items()), flush=True)
