"""History of a default fit on the 80% that the held-out row fits on."""
import json, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import quality
from sklearn.model_selection import train_test_split
dataset, seed, epochs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = quality.parse_args(["--datasets", dataset, "--expert-epochs", epochs])
quality.quiet_lightning()
(data,) = quality.load_all(args)
_, held = train_test_split(np.arange(data.n_samples), test_size=0.2, stratify=data.y, random_state=seed)
train = np.ones(data.n_samples, dtype=bool); train[held] = False
y = data.y[train]
model = quality.fit_mixae_graph(data, data.X[train], seed, args)
st = model.module_.state
holds = {int(s): np.bincount(y[st.final_slots == s], minlength=10).tolist() for s in np.unique(st.final_slots)}
held_ = {int(s): np.bincount(y[st.initial_slots == s], minlength=10).tolist() for s in np.unique(st.initial_slots)}
print(json.dumps({"dataset": dataset, "seed": seed, "expert_epochs": epochs, "acc": quality.evaluate(y, model.labels_)["acc"],
                  "clusters": int(len(np.unique(model.labels_))),
                  "events": [{k: e[k] for k in ("epoch", "kind", "rule", "sizes", "experts", "into") if k in e} for e in st.history.events],
                  "first": held_, "final": holds}), flush=True)
