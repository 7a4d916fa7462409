# Run from the checkout root: the two-groups test over model seeds 0-3 (trunk 10 and 30 epochs), then seed 1 traced.
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.metrics import adjusted_rand_score
from test_validation import _groups
from mixae_graph import MixAEGraph
base, yy = _groups([0.0, 8.0], 75, 1.0, 10)
for seed in range(4):
    for te in (10, 30):
        m = MixAEGraph(trunk=dict(epochs=te, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)), random_state=seed).fit(base)
        g = m.module_.state.graph
        c = g.graph.tocoo(); cross = c.data[yy[g.landmarks][c.row] != yy[g.landmarks][c.col]].sum()
        print("seed", seed, "trunk", te, "ARI", round(adjusted_rand_score(yy, m.labels_), 3), "first", np.bincount(m.initial_labels_ + 1), "cross", cross, flush=True)
m = MixAEGraph(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)), random_state=1).fit(base)
print("labels", np.bincount(m.labels_), "n_experts", m.n_experts_, "final slots", np.unique(m.module_.state.final_slots, return_counts=True), "state labels", np.unique(m.module_.state.labels, return_counts=True))
for e in m.module_.state.history.events: print(e)
