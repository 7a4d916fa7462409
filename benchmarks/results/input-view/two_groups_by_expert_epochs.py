# Run from the checkout root with input_view.patch applied.
"""The repeated-rows test's two groups over model seeds 0-3: expert epochs 4 (the test), 8 and 16;
codes' graph (default) and the input view."""
import sys; sys.path.insert(0, "tests"); sys.path.insert(0, ".")
import numpy as np
from sklearn.metrics import adjusted_rand_score
from test_validation import _groups
from mixae_graph import MixAEGraph
base, y = _groups([0.0, 8.0], 75, 1.0, 10)
for epochs in (4, 8, 16):
    for view in (False, True):
        aris = []
        for seed in range(4):
            m = MixAEGraph(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=epochs, hidden=(16,)),
                           graph=dict(input_view=view), random_state=seed).fit(base)
            aris.append(round(adjusted_rand_score(y, m.labels_), 3))
        print(f"expert epochs {epochs:2d} input_view {view!s:5s} ARI by seed {aris}", flush=True)
