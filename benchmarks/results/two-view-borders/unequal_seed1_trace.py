# Run from the checkout root: the unequal-sizes set, seed 1, defaults; the first E-steps traced (experts under 40 points, noise variances).
import sys
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
import numpy as np
import quality
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy
quality.quiet_lightning()
data = quality.load_all(quality.parse_args(["--datasets", "stress-unequal"]))[0]
import mixae_graph.connectivity as C
orig = C.expectation
TRACE = []
def traced(module, X, graph, labels):
    out = orig(module, X, graph, labels)
    slots = module.bank.active_slots.cpu().numpy()
    TRACE.append((module.trainer.current_epoch, len(slots), {int(s): int((out == s).sum()) for s in slots if (out == s).sum() < 40}, module.noise_var[slots].numpy().round(3).tolist()))
    return out
C.expectation = traced
m = MixAEGraph(random_state=1).fit(data.X)
for t in TRACE[:6]: print(t)
print("ACC", cluster_accuracy(data.y, m.labels_), "clusters", len(np.unique(m.labels_)), "sizes", np.bincount(data.y))
init = m.initial_labels_
for c in np.unique(init):
    cls = np.bincount(data.y[init == c], minlength=8)
    if cls.sum() < 60: print("first part", c, "classes", cls)
for e in m.module_.state.history.events:
    if e.get("rule") != "partition":
        print({k: e[k] for k in e if k in ("kind", "rule", "epoch", "sizes", "parent", "children", "experts", "into")})
small = np.argmin(np.bincount(data.y))
print("smallest class", small, "final labels of its points", np.unique(m.labels_[data.y == small], return_counts=True))
print("E-step labels of its points", np.unique(m.module_.state.labels[data.y == small], return_counts=True))
print("expert 2 holds classes", np.bincount(data.y[m.labels_ == 2], minlength=8))
