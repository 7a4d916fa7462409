# Run from the checkout root with reach.patch applied, as REACH=1: the two short-fit tests over model seeds 0-3.
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from conftest import FAST
from test_validation import _groups
from mixae_graph import MixAEGraph
X, y = make_blobs(n_samples=400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
X = X.astype(np.float32)
base, yy = _groups([0.0, 8.0], 75, 1.0, 10)
for seed in range(4):
    m = MixAEGraph(n_clusters=40, **FAST, random_state=seed).fit(X)
    mixed = sum(len(np.unique(y[m.labels_ == k])) > 1 for k in np.unique(m.labels_))
    m2 = MixAEGraph(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)), random_state=seed).fit(base)
    print("seed", seed, "mixed", mixed, "K", len(np.unique(m.labels_)), "two groups ARI", round(adjusted_rand_score(yy, m2.labels_), 3), np.bincount(m2.labels_), flush=True)
