import sys, numpy as np, scipy.sparse as sp
OUT = __import__("os").environ.get("OUT", "/tmp/s48")
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph.graph import point_graph, communities, expert_weights
from mixae_graph.merge_split import chain_groups, end_separation, CHAIN_RESOLUTION, partition
d = np.load(f"{OUT}/codes80-{sys.argv[1]}-{sys.argv[2]}.npz"); codes, y = d["codes"], d["y"]
g = point_graph(codes, random_state=int(sys.argv[2]))
graph = g.graph
pieces = communities(graph, CHAIN_RESOLUTION, int(sys.argv[2]))
w, _ = expert_weights(graph, pieces); np.fill_diagonal(w, 0)
strongest = np.argsort(-w, axis=1, kind="stable")[:, :2]
share = w[np.arange(len(w))[:, None], strongest].sum(1) / np.maximum(w.sum(1), 1e-12)
for p in range(len(w)):
    sep = end_separation(graph, pieces, p, strongest[p]) if w[p, strongest[p, 1]] > 0 else float("nan")
    cls = np.bincount(y[pieces == p], minlength=2)
    print("piece %2d size %3d classes %s strongest %s share %.2f end_sep %.2f" % (p, np.sum(pieces == p), cls.tolist(), strongest[p].tolist(), share[p], sep))
ch = chain_groups(graph, random_state=int(sys.argv[2]))
print("chains:", {int(c): int(np.sum(ch == c)) for c in np.unique(ch)})
