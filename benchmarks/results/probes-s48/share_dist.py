"""The chain rule's share (outside weight to a piece's two strongest neighbours) of every piece
whose two strongest links are mutual and at its two ends: where 0.8 falls among them."""
import sys, numpy as np, scipy.sparse as sp
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph.graph import point_graph, communities, expert_weights
from mixae_graph.merge_split import end_separation, CHAIN_RESOLUTION, CHAIN_END_SEPARATION
for path in sys.argv[1:]:
    d = np.load(path); codes = d["codes"]
    seed = int(path.rsplit("-", 1)[1].split(".")[0])
    graph = point_graph(codes, random_state=seed).graph
    pieces = communities(graph, CHAIN_RESOLUTION, seed)
    w, _ = expert_weights(graph, pieces); np.fill_diagonal(w, 0)
    n = len(w); rows = np.arange(n)[:, None]
    top = np.argsort(-w, axis=1, kind="stable")[:, :2]
    share = w[rows, top].sum(1) / np.maximum(w.sum(1), 1e-12)
    links = np.zeros_like(w, bool); links[rows, top] = w[rows, top] > 0
    mutual = links & links.T
    ok = mutual[np.arange(n), top[:, 0]] & mutual[np.arange(n), top[:, 1]]
    ends = np.array([ok[p] and end_separation(graph, pieces, p, top[p]) >= CHAIN_END_SEPARATION for p in range(n)])
    s = np.sort(share[ends])
    print("%-28s pieces %3d  linked at two ends %3d  shares: min %.2f, in [0.70, 0.80): %d, >= 0.80: %d, below 0.70: %d" % (
        path.split("/")[-1], n, ends.sum(), s.min() if len(s) else np.nan, np.sum((s >= 0.7) & (s < 0.8)), np.sum(s >= 0.8), np.sum(s < 0.7)), flush=True)
