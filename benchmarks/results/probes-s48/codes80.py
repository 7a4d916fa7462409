import sys, numpy as np, torch
OUT = __import__("os").environ.get("OUT", "/tmp/s48")  # where the codes files go
from common import q, load  # noqa: F401  (the repository on the path)
from sklearn.model_selection import train_test_split
from mixae_graph import MixAEGraph
data = load(sys.argv[1])
for seed in [int(s) for s in sys.argv[2].split(",")]:
    _, held = train_test_split(np.arange(data.n_samples), test_size=0.2, stratify=data.y, random_state=seed)
    train = np.ones(data.n_samples, dtype=bool); train[held] = False
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed, experts={"epochs": 1}).fit(data.X[train])
    codes = m.module_.trunk_codes(torch.as_tensor(data.X[train])).numpy()
    np.savez(f"{OUT}/codes80-{sys.argv[1]}-{seed}.npz", codes=codes, y=data.y[train], labels=m.labels_,
             angle=(np.flatnonzero(train) % 72))
    print(seed, m.labels_.max() + 1, flush=True)
