"""The suite's repeated-rows case (two 75-point groups, every row three times, 10-epoch trunk): the
strong edges' pieces of its codes, before and after the weak-community merge (weak_community.py)."""
import sys, numpy as np, torch
from pathlib import Path
sys.path[:0] = [str(Path(__file__).resolve().parents[3] / "tests"), str(Path(__file__).parent)]
from test_validation import _groups
from mixae_graph import MixAEGraph
from weak_community import weak_merge
from mixae_graph.graph import stable_communities, intersection
from sklearn.metrics import adjusted_rand_score
base, y = _groups([0.0, 8.0], 75, 1.0, 10)
settings = dict(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)))
m = MixAEGraph(**settings).fit(np.vstack([base] * 3))
W = m.module_.state.graph.graph
yl = np.tile(y, 3)[m.module_.state.graph.landmarks]
S = stable_communities(intersection(intersection(W, W), W))[0]
F = weak_merge(W, S)
print("strong", S.max() + 1, adjusted_rand_score(yl, S), "strong+weak", F.max() + 1, adjusted_rand_score(yl, F))
