# Run from the checkout root with input_view.patch applied.
"""The n_clusters=40 test over model seeds 0-3: points whose cluster's majority blob is another
(strays) and E-step experts mixing blobs; codes' graph (default) and the input view."""
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.datasets import make_blobs
from conftest import FAST
from mixae_graph import MixAEGraph
X, y = make_blobs(n_samples=400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
X = X.astype(np.float32)
for view in (False, True):
    out = []
    for seed in range(4):
        m = MixAEGraph(n_clusters=40, **{**FAST, "graph": dict(merge_every=4, input_view=view)}, random_state=seed).fit(X)
        majority = {c: np.bincount(y[m.labels_ == c]).argmax() for c in np.unique(m.labels_)}
        strays = int(sum(majority[c] != b for c, b in zip(m.labels_, y)))
        st = m.module_.state.labels
        mixed = int(sum(len(np.unique(y[st == s])) > 1 for s in np.unique(st)))
        out.append((len(np.unique(m.labels_)), strays, mixed))
    print(f"input_view {view!s:5s} (clusters, strays of 400, mixed E-step experts) by seed {out}", flush=True)
