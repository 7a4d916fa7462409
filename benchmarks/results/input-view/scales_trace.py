# Run from the checkout root (optionally with reach_component.patch applied): test_features_on_wildly_different_scales traced.
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.metrics import adjusted_rand_score
from test_validation import _groups, TINY
from mixae_graph import MixAEGraph
X, y = _groups([0.0, 10.0], 40, 0.5, 5)
X[:, 0] *= 1e6
X[:, 2] = 7.0
m = MixAEGraph(**TINY).fit(X)
st = m.module_.state
print("ARI", adjusted_rand_score(y, m.labels_), "first", np.bincount(m.initial_labels_ + 1), "state", [np.bincount(y[st.labels == k], minlength=2) for k in np.unique(st.labels)],
      "final", [np.bincount(y[m.labels_ == k], minlength=2) for k in np.unique(m.labels_)])
g = st.graph.graph.tocoo(); print("cross", g.data[y[g.row] != y[g.col]].sum())
for e in st.history.events: print(e)
