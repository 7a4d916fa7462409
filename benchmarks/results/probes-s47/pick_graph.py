"""Plain kNN graph vs its strong edges (x3 self-intersection): each graph's most reproducible
partition (the library's rule), and which graph is more reproducible."""
import sys, numpy as np
import os
CODES = os.environ.get("CODES", "/tmp/codes")  # files of probes-s46/save_codes.py
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT)]
from mixae_graph.graph import latent_graph, RESOLUTIONS, intersection, communities, medoid_run
from mixae_graph.metrics import cluster_accuracy

def profile(G):
    best = None; out = []
    for r in RESOLUTIONS:
        runs = [communities(G, r, run) for run in range(8)]
        med, per = medoid_run(runs)
        out.append((r, med, per.mean(), per.std(ddof=1) / np.sqrt(8)))
    st = np.array([o[2] for o in out]); most = int(np.argmax(st))
    chosen = int(np.flatnonzero(st >= st[most] - out[most][3] - 1e-9).max())
    return out[chosen], out[most]

def acc(y, l): return cluster_accuracy(y, l) if y is not None else float("nan")

def show(name, W, y):
    (pr, pl, ps, pe), (_, _, pmost, pse) = profile(W)
    S = intersection(intersection(W, W), W)
    (sr, sl, ss, se), (_, _, smost, sse) = profile(S)
    pick = "strong" if smost > pmost + pse else "plain"
    print(f"{name}: plain r={pr:.2f} {pl.max()+1} ACC {acc(y, pl):.3f} stab {pmost:.3f}±{pse:.3f} | strong r={sr:.2f} "
          f"{sl.max()+1} ACC {acc(y, sl):.3f} stab {smost:.3f}±{sse:.3f} | pick {pick}", flush=True)

if sys.argv[1] == "blob":
    rng = np.random.default_rng(0)
    for n in (400, 2000):
        show(f"noise {n}", latent_graph(rng.normal(size=(n, 10)).astype(np.float32)), None)
    sys.path.insert(0, str(ROOT / "tests"))
    from test_validation import _groups
    from mixae_graph import MixAEGraph
    base, y = _groups([0.0, 8.0], 75, 1.0, 10)
    settings = dict(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)))
    m = MixAEGraph(**settings).fit(np.vstack([base] * 3))
    show("two groups thrice", m.module_.state.graph.graph, np.tile(y, 3)[m.module_.state.graph.landmarks])
else:
    for data in sys.argv[1].split(","):
        for seed in (0, 1, 2):
            d = np.load(f"{CODES}/{data}-{seed}.npz")
            show(f"{data} {seed}", latent_graph(d["codes"]), d["y"])
