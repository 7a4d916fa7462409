import sys, numpy as np
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy
data = load(sys.argv[1])
for seed in [int(s) for s in sys.argv[2].split(",")]:
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
    L = m.labels_
    print(seed, "acc %.3f" % cluster_accuracy(data.y, L), "k", L.max() + 1)
    for c in np.argsort(-np.bincount(L)):
        cnt = np.bincount(data.y[L == c], minlength=data.y.max() + 1)
        print("  cluster %2d size %4d top classes %s" % (c, cnt.sum(), [(int(i), int(cnt[i])) for i in np.argsort(-cnt)[:3] if cnt[i]]))
    first = m.module_.state.initial_slots
    print("  first", "%.3f" % cluster_accuracy(data.y, first), len(np.unique(first)))
    print("  merges", [(e["epoch"], e["rule"], e.get("sizes")) for e in m.module_.state.history.events if e["kind"] == "merge"])
