import glob, numpy as np, scipy.sparse as sp
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = np.array(G.RESOLUTIONS)
for name in ["digits-0","mnist-0","mnist-2","fashion-1","img-portraits-0","img-turntable-1","stress-touching-0","img-digits16-0"]:
    z = np.load(f"/tmp/s30/codes/{name}.npz"); codes, y = z["codes"], z["y"]; seed=int(name[-1])
    g = G.point_graph(codes, random_state=seed); W = g.graph.tocsr(); yl = y[g.landmarks]
    def shares(lab):
        oh = sp.csr_matrix((np.ones(len(lab)), (np.arange(len(lab)), lab)))
        vol = np.asarray((W @ oh).sum(0)).ravel(); ins = (oh.T @ W @ oh).diagonal()
        return ins / vol
    cs = shares(np.unique(yl, return_inverse=True)[1])
    print(name, "class inside share: min %.3f median %.3f" % (cs.min(), np.median(cs)))
    r = np.load(f"/tmp/s35/runs-{name}.npz")["labels"]
    for i in [2, 4, 6, 8]:
        lab = r[i][0]; s = shares(lab)
        # purity of each piece, and whether it is a proper part of a class (class has >1 piece with majority)
        maj = np.array([np.bincount(yl[lab == c]).argmax() for c in range(lab.max()+1)])
        split = np.array([np.sum(maj == maj[c]) > 1 for c in range(lab.max()+1)])
        print(f"  r={R[i]:.2f} k={lab.max()+1} pieces of split classes: inside {np.round(np.sort(s[split]),2)} | whole-class pieces min {s[~split].min() if (~split).any() else np.nan:.2f}")
