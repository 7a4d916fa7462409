"""img-turntable, seed 0, told n_clusters (argv; "none": untold), verbose; saves the labels under /tmp.
Run from the repository root."""
import sys
sys.path.insert(0, "benchmarks")
import numpy as np
import quality
from mixae_graph import MixAEGraph
from mixae_graph.datasets import load_file
from mixae_graph.metrics import evaluate
data = quality.image_stress("img-turntable", load_file(quality.FILES["mnist"]))
k = None if sys.argv[1] == "none" else int(sys.argv[1])
m = MixAEGraph(image_shape=data.image_shape, n_clusters=k, random_state=0, verbose=True).fit(data.X)
print("ACC", evaluate(data.y, m.labels_))
np.savez(f"/tmp/turntable-k-{sys.argv[1]}.npz", labels=m.labels_, y=data.y)
import pickle
h = m.module_.state.history.events if hasattr(m, "module_") else None
print("EVENTS", h)
