"""The turntable's 80% fit (held-out predict's), verbose: where do the clusters come from?"""
import sys, numpy as np
sys.path.insert(0, "benchmarks")
import quality as Q
from mixae_graph import MixAEGraph
from mixae_graph.metrics import evaluate
from sklearn.model_selection import train_test_split
seed = int(sys.argv[1])
mnist = Q.load_file(Q.FILES["mnist"])
data = Q.image_stress("img-turntable", mnist)
_, held = train_test_split(np.arange(data.n_samples), test_size=0.2, stratify=data.y, random_state=seed)
train = np.ones(data.n_samples, bool); train[held] = False
m = MixAEGraph(trunk={"epochs": 50}, experts={"epochs": 20}, image_shape=data.image_shape, random_state=seed, verbose=False).fit(data.X[train])
y = data.y[train]
print("labels_", evaluate(y, m.labels_), "first", evaluate(y, m.initial_labels_))
import torch
codes = m.module_.trunk_codes(torch.as_tensor(data.X[train])).numpy()
np.savez("/tmp/s34/tt80-%d.npz" % seed, labels=m.labels_, initial=m.initial_labels_, y=y, codes=codes)
