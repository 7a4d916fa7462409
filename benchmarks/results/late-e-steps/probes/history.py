"""The merge/split history of default fits, emptied experts included, with the classes each
first and final expert holds: which parts the E-steps and rounds joined, and when.

python history.py DATASET SEED [SEED ...]   (run from the repository root; data as in quality.py)
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import quality  # noqa: E402

dataset, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
args = quality.parse_args(["--datasets", dataset])
quality.quiet_lightning()
(data,) = quality.load_all(args)
for seed in seeds:
    model = quality.fit_mixae_graph(data, data.X, seed, args)
    events = model.module_.state.history.events
    final = model.module_.state.final_slots
    first = model.module_.state.initial_slots
    holds = {int(s): np.bincount(data.y[final == s], minlength=data.y.max() + 1).tolist() for s in np.unique(final)}
    held = {int(s): np.bincount(data.y[first == s], minlength=data.y.max() + 1).tolist() for s in np.unique(first)}
    acc = quality.evaluate(data.y, model.labels_)["acc"]
    print(json.dumps({"dataset": dataset, "seed": seed, "acc": acc, "clusters": int(len(np.unique(model.labels_))),
                      "events": [{k: e[k] for k in ("epoch", "kind", "rule", "sizes", "parent", "children",
                                                     "experts", "into") if k in e} for e in events],
                      "classes_per_first_expert": held, "classes_per_final_expert": holds}), flush=True)
