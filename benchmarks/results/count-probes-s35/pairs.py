import glob, numpy as np
from mixae_graph import graph as G
from mixae_graph.merge_split import partition
from sklearn.metrics import roc_auc_score
allv = []
for f in sorted(glob.glob("/tmp/s30/codes/*.npz")):
    name = f.split("/")[-1][:-4]; seed = int(name[-1])
    z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed); yl = y[g.landmarks]
    lab = partition(g.graph, min_size=5, random_state=seed, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
    ok = lab >= 0
    W, ids = G.expert_weights(g.graph, np.where(ok, lab, lab.max() + 1))
    k = lab.max() + 1; W = W[:k, :k]; vol = W.sum(1)
    maj = np.array([np.bincount(yl[lab == c]).argmax() for c in range(k)])
    rows = []
    for a in range(k):
        for b in range(a + 1, k):
            if W[a, b] > 0:
                share = W[a, b] / min(vol[a], vol[b]); sharemax = W[a, b] / max(vol[a], vol[b])
                ratio = W[a, b] * vol.sum() / (vol[a] * vol[b])
                # strongest-neighbour: is b a's strongest and a b's strongest?
                wa = W[a].copy(); wa[a] = 0; wb = W[b].copy(); wb[b] = 0
                mutual = (wa.argmax() == b) and (wb.argmax() == a)
                rows.append((maj[a] == maj[b], share, sharemax, ratio, mutual))
    rows = np.array(rows, dtype=float).reshape(-1, 5)
    same = rows[:, 0] == 1
    s = f"{name:22s} k={k:3d} pairs {len(rows):4d} same {int(same.sum()):3d}"
    if same.any() and (~same).any():
        s += f" AUC share {roc_auc_score(same, rows[:,1]):.2f} max {roc_auc_score(same, rows[:,2]):.2f} ratio {roc_auc_score(same, rows[:,3]):.2f}"
        s += f" | same share {np.round(np.sort(rows[same,1])[::-1][:8],3)} | top diff {np.round(np.sort(rows[~same,1])[::-1][:5],3)}"
    print(s, flush=True)
