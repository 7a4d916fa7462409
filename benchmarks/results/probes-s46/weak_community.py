"""Strong-edge pieces, each kept only while it is a weak community of the kNN graph (at least half
its kNN weight inside); a piece that is not joins the piece it sends most weight to."""
import sys
from pathlib import Path
import numpy as np, scipy.sparse as sp
sys.path[:0] = [str(Path(__file__).resolve().parents[3])]
from mixae_graph.graph import latent_graph, intersection, stable_communities
from mixae_graph.metrics import cluster_accuracy

def weak_merge(W, labels):
    labels = labels.copy()
    while True:
        k = labels.max() + 1
        M = sp.csr_matrix((np.ones(len(labels)), (np.arange(len(labels)), labels)), shape=(len(labels), k))
        C = (M.T @ W @ M).toarray()
        inside = np.diag(C); total = C.sum(1)
        share = inside / np.maximum(total, 1e-12)
        worst = int(np.argmin(share))
        if share[worst] >= 0.5 or k == 1:
            return labels
        row = C[worst].copy(); row[worst] = -1
        target = int(np.argmax(row))
        labels[labels == worst] = target
        labels = np.unique(labels, return_inverse=True)[1]

def run(name, codes, y, k=None):
    W = latent_graph(codes, k)
    P = stable_communities(W)[0]
    if P.max() == 0:
        print(f"{name}: plain 1 -> 1"); return
    S = stable_communities(intersection(intersection(W, W), W))[0]
    F = weak_merge(W, S)
    acc = lambda l: cluster_accuracy(y, l) if y is not None else float("nan")
    print(f"{name}: plain {P.max()+1} {acc(P):.3f}  strong {S.max()+1} {acc(S):.3f}  strong+weak {F.max()+1} {acc(F):.3f}", flush=True)

if __name__ == "__main__" and sys.argv[1] == "blob":  # the raw input of the repeated-rows test, and noise
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
    from test_validation import _groups
    X, y = _groups([0.0, 8.0], 75, 1.0, 10)
    run("two groups, raw input", X.astype(np.float32), y, 7)
    rng = np.random.default_rng(0)
    for n in (400, 2000):
        run(f"noise {n}", rng.normal(size=(n, 10)).astype(np.float32), None)
elif __name__ == "__main__":  # usage: weak_community.py CODEDIR DATASETS (files of save_codes.py)
    for data in sys.argv[2].split(","):
        for seed in (0, 1, 2):
            d = np.load(f"{sys.argv[1]}/{data}-{seed}.npz")
            run(f"{data} {seed}", d["codes"], d["y"])
