"""Stability under subsampling: Louvain on the kNN graph induced by a random 80% of the nodes,
8 runs per resolution; agreement = ARI on the nodes two runs share."""
import sys, time, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = G.RESOLUTIONS
FRAC = float(sys.argv[1]); files = sys.argv[2:]
for f in files:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = int(f.split("-")[-1][:-4]); name = f.split("/")[-1][:-4]
    g = G.point_graph(codes, random_state=seed); W = g.graph.tocsr(); m = W.shape[0]
    full = np.load(f"/tmp/s35/runs-{name}.npz")["labels"]
    t = time.time(); stab, se, ks = [], [], []
    for i, r in enumerate(R):
        subs, labs = [], []
        for run in range(8):
            rng = np.random.default_rng(1000 * seed + run)
            keep = np.sort(rng.choice(m, int(FRAC * m), replace=False))
            lab = np.full(m, -1); lab[keep] = G.communities(W[keep][:, keep], r, seed + run)
            subs.append(keep); labs.append(lab)
        A = np.eye(8)
        for a in range(8):
            for b in range(a + 1, 8):
                both = (labs[a] >= 0) & (labs[b] >= 0)
                A[a, b] = A[b, a] = G.adjusted_rand(np.unique(labs[a][both], return_inverse=True)[1], np.unique(labs[b][both], return_inverse=True)[1])
        per = (A.sum(1) - 1) / 7
        stab.append(per.mean()); se.append(per.std(ddof=1) / np.sqrt(8)); ks.append(int(np.median([l.max() + 1 for l in labs])))
    stab = np.array(stab); most = int(np.argmax(stab)); best = int(np.flatnonzero(stab >= stab[most] - se[most] - 1e-9).max())
    acc = evaluate(y, full[best][0][g.nearest])["acc"]
    print(f"{name:22s} choice r={R[best]:.2f} k={int(full[best][0].max()+1)} acc {acc:.3f} | " + " ".join(f"{s:.3f}({k})" for s, k in zip(stab, ks)) + f"  {time.time()-t:.0f}s", flush=True)
