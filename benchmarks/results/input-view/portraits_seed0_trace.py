# Run from the checkout root with input_view.patch applied.
"""The portraits' seed 0, default and input view: every expert removal in the history."""
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks"); sys.path.insert(0, ".")
import numpy as np
import quality
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy
quality.quiet_lightning()
data = quality.load_all(quality.parse_args(["--datasets", "img-portraits"]))[0]
for view in (False, True):
    m = MixAEGraph(image_shape=data.image_shape, graph=dict(input_view=view), random_state=0).fit(data.X)
    ev = m.module_.state.history.events
    kinds = {}
    for e in ev:
        kinds.setdefault((e["kind"], e.get("rule")), []).append(e.get("epoch"))
    print("input_view", view, "ACC", round(cluster_accuracy(data.y, m.labels_), 3), "clusters", len(np.unique(m.labels_)), flush=True)
    for k, v in kinds.items():
        print("   ", k, "epochs", v, flush=True)
    for e in ev:
        if e["kind"] != "split":
            print("   ", {k: e[k] for k in e if k in ("kind", "rule", "epoch", "sizes", "parent", "children", "experts", "expert", "into")}, flush=True)
