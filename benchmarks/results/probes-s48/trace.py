"""Trace the E-steps: per expert epoch, ACC of the labels, experts, points moved, sizes of the small experts."""
import sys, numpy as np, torch
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph import MixAEGraph, connectivity
from mixae_graph.metrics import cluster_accuracy
seeds = [int(s) for s in sys.argv[2].split(",")]
opts = eval(sys.argv[3]) if len(sys.argv) > 3 else {}
data = load(sys.argv[1])
orig = connectivity.ConnectivityCallback._expectation_step
log = []
def traced(self, trainer, module):
    before = module.state.labels.copy()
    out = orig(self, trainer, module)
    after = module.state.labels
    sizes = np.bincount(after[after >= 0])
    sizes = np.sort(sizes[sizes > 0])
    log.append((trainer.current_epoch + 1, module.bank.n_active, cluster_accuracy(data.y, after),
                int(np.sum(before != after)), sizes[:5].tolist()))
    return out
connectivity.ConnectivityCallback._expectation_step = traced
for seed in seeds:
    log.clear()
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed, **opts).fit(data.X)
    first = m.module_.state.initial_slots
    print(seed, "first", cluster_accuracy(data.y, first), len(np.unique(first)), "final", cluster_accuracy(data.y, m.labels_), m.labels_.max() + 1, flush=True)
    for row in log:
        print("  ep %d experts %d acc %.3f moved %d small %s" % row, flush=True)
