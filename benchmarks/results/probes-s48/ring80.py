"""The turntable fit on a stratified 80% (as held-out predict): first partition, history, final."""
import sys, numpy as np
from common import q, load  # noqa: F401  (the repository on the path)
from sklearn.model_selection import train_test_split
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy
data = load(sys.argv[1])
opts = eval(sys.argv[3]) if len(sys.argv) > 3 else {}
for seed in [int(s) for s in sys.argv[2].split(",")]:
    _, held = train_test_split(np.arange(data.n_samples), test_size=0.2, stratify=data.y, random_state=seed)
    train = np.ones(data.n_samples, dtype=bool); train[held] = False
    X, y = data.X[train], data.y[train]
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed, verbose=True, **opts).fit(X)
    first = m.module_.state.initial_slots
    print(seed, "first %.3f %d" % (cluster_accuracy(y, first), len(np.unique(first))),
          "final %.3f %d" % (cluster_accuracy(y, m.labels_), m.labels_.max() + 1), flush=True)
    for ev in m.module_.state.history.events:
        print("   ", ev["epoch"], ev["kind"], ev.get("rule"), ev.get("sizes"))
    L = m.labels_
    for c in range(L.max() + 1):
        cnt = np.bincount(y[L == c], minlength=y.max() + 1)
        print("  cluster %2d size %3d classes %s" % (c, cnt.sum(), [(int(i), int(cnt[i])) for i in np.argsort(-cnt)[:3] if cnt[i]]))
