# Run from the checkout root with input_view.patch applied: the two short-fit tests over model seeds 0-3.
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from conftest import FAST
from test_validation import _groups
from mixae_graph import MixAEGraph
X, y = make_blobs(n_samples=400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
X = X.astype(np.float32)
for seed in range(4):
    out = []
    for view in (False, True):
        m = MixAEGraph(n_clusters=40, **{**FAST, "graph": dict(merge_every=4, input_view=view)}, random_state=seed).fit(X)
        out.append(sum(len(np.unique(y[m.labels_ == k])) > 1 for k in np.unique(m.labels_)))
    base, yy = _groups([0.0, 8.0], 75, 1.0, 10)
    for view in (False, True):
        m = MixAEGraph(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)), graph=dict(input_view=view), random_state=seed).fit(base)
        out.append(round(adjusted_rand_score(yy, m.labels_), 3))
    print("seed", seed, "mixed clusters (codes, input view):", out[:2], "two groups ARI (codes, input view):", out[2:], flush=True)
