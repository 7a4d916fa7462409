"""Stability in excess of a configuration-model null: the set's own kNN graph with its edges'
second endpoints shuffled (degrees kept, structure gone)."""
import glob, os, sys
import numpy as np, scipy.sparse as sp
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = np.array(G.RESOLUTIONS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from null import curve  # noqa: E402
for f in sorted(glob.glob(sys.argv[1] if len(sys.argv) > 1 else "/tmp/s30/codes/*.npz")):
    name = f.split("/")[-1][:-4]; seed = int(name[-1])
    z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed)
    up = sp.triu(g.graph, 1).tocoo(); m = g.graph.shape[0]
    j = np.random.default_rng(seed).permutation(up.col)
    keep = up.row != j
    rnd = sp.coo_matrix((up.data[keep], (up.row[keep], j[keep])), shape=(m, m)).tocsr()
    rnd = (rnd + rnd.T).tocsr()
    null = curve(rnd, seed)[0]
    st, se, L = curve(g.graph, seed)
    def choose(score):
        most = int(np.argmax(score)); return int(np.flatnonzero(score >= score[most] - se[most] - 1e-9).max())
    out = []
    for rule, score in [("stab", st), ("excess", st - null), ("ratio", (st - null) / (1 - null + 1e-9))]:
        b = choose(score); out.append(f"{rule} r={R[b]:.2f} k={L[b].max()+1:3d} acc {evaluate(y, L[b][g.nearest])['acc']:.3f}")
    print(f"{name:20s} " + " | ".join(out) + " | null " + " ".join(f"{v:.2f}" for v in null), flush=True)
