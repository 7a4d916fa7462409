"""Probe: the plain graph's stable partition, then each part's own structure test (its plain
subgraph's stable partition); parts with structure take the strong edges' pieces."""
import sys, time
from pathlib import Path
import numpy as np, scipy.sparse as sp
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT)]
from mixae_graph.graph import latent_graph, intersection, stable_communities
from mixae_graph.metrics import cluster_accuracy

def strong(W):
    return intersection(intersection(W, W), W)

def relabel(l):
    return np.unique(l, return_inverse=True)[1]

def gated(W, P, S, local):
    out = np.zeros(len(P), dtype=np.int64); nxt = 0; opened = 0
    for p in range(P.max() + 1):
        idx = np.flatnonzero(P == p)
        if len(idx) < 6:
            out[idx] = nxt; nxt += 1; continue
        sub = W[idx][:, idx].tocsr()
        if stable_communities(sub)[0].max() == 0:
            out[idx] = nxt; nxt += 1; continue
        opened += 1
        pieces = stable_communities(strong(sub))[0] if local else relabel(S[idx])
        out[idx] = nxt + pieces; nxt += pieces.max() + 1
    return out, opened

def run(name, W, y):
    t = time.time()
    P = stable_communities(W)[0]
    if P.max() == 0:
        print(f"{name}: plain 1 -> 1", flush=True); return
    S = stable_communities(strong(W))[0]
    G, og = gated(W, P, S, False)
    L, ol = gated(W, P, S, True)
    acc = lambda l: cluster_accuracy(y, l) if y is not None else float("nan")
    print(f"{name}: plain {P.max()+1} {acc(P):.3f} | strong {S.max()+1} {acc(S):.3f} | gated-global {G.max()+1} {acc(G):.3f} "
          f"(opened {og}) | gated-local {L.max()+1} {acc(L):.3f} | {time.time()-t:.0f}s", flush=True)

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "blob":
        import torch
        sys.path.insert(0, str(ROOT / "tests"))
        from test_validation import _groups
        from mixae_graph import MixAEGraph
        base, y = _groups([0.0, 8.0], 75, 1.0, 10)
        settings = dict(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)))
        m = MixAEGraph(**settings).fit(np.vstack([base] * 3))
        W = m.module_.state.graph.graph
        run("two groups thrice", W, np.tile(y, 3)[m.module_.state.graph.landmarks])
        rng = np.random.default_rng(0)
        for n in (400, 2000):
            run(f"noise {n}", latent_graph(rng.normal(size=(n, 10)).astype(np.float32)), None)
    else:
        for data in sys.argv[2].split(","):
            for seed in (0, 1, 2):
                d = np.load(f"{what}/{data}-{seed}.npz")
                run(f"{data} {seed}", latent_graph(d["codes"]), d["y"])
