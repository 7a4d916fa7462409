import sys, numpy as np, torch, time
OUT = __import__("os").environ.get("OUT", "/tmp/s48")  # where the codes files go
CODES = __import__("os").environ.get("CODES", "/tmp/codes")  # probes-s46/save_codes.py's files
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph import MixAEGraph
from mixae_graph.metrics import cluster_accuracy
from mixae_graph.graph import nearest_neighbors
data = load(sys.argv[1])
def purity(codes, y):
    idx, _ = nearest_neighbors(codes, 6)
    return float(np.mean(y[idx[:, 1:]] == y[:, None]))
seed = int(sys.argv[2])
old = np.load(f"{CODES}/{data.name}-{seed}.npz")
print("epochs 50 (saved): 5-NN purity %.3f" % purity(old["codes"], data.y), "first %.3f %d" % (cluster_accuracy(data.y, old["labels"]), old["labels"].max() + 1), flush=True)
for epochs in [int(e) for e in sys.argv[3].split(",")]:
    t = time.time()
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed, trunk={"epochs": epochs}, experts={"epochs": 1}).fit(data.X)
    codes = m.module_.trunk_codes(torch.as_tensor(data.X)).numpy()
    first = m.module_.state.initial_slots
    print("epochs", epochs, "5-NN purity %.3f" % purity(codes, data.y), "first %.3f %d" % (cluster_accuracy(data.y, first), len(np.unique(first))), "%.0f s" % (time.time() - t), flush=True)
    np.savez(f"{OUT}/codes-{data.name}-{seed}-e{epochs}.npz", codes=codes, y=data.y, labels=first)
