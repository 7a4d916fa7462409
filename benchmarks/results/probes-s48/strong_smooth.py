"""E-step smoothing over the strong edges (within fine parts) instead of the kNN graph."""
import sys, numpy as np
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph import MixAEGraph, graph as G
from mixae_graph.metrics import cluster_accuracy
mode = sys.argv[3]
orig = G.PointGraph.within_fine_parts
def strong(self):
    return G.strong_edges(orig(self))
if mode == "strong":
    G.PointGraph.within_fine_parts = strong
data = load(sys.argv[1])
for seed in [int(s) for s in sys.argv[2].split(",")]:
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
    first = m.module_.state.initial_slots
    print(mode, data.name, seed, "first %.4f %d" % (cluster_accuracy(data.y, first), len(np.unique(first))),
          "final %.4f %d" % (cluster_accuracy(data.y, m.labels_), m.labels_.max() + 1), flush=True)
