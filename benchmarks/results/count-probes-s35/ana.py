import glob, numpy as np
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
R = np.array(G.RESOLUTIONS)
def ari_mat(A, B):
    return np.array([[G.adjusted_rand(a, b) for b in B] for a in A])
out = {}
for f in sorted(glob.glob("/tmp/s35/runs-*.npz")):
    name = f.split("runs-")[1][:-4]
    z = np.load(f); L, y, near = z["labels"], z["y"], z["nearest"]
    nr, nruns, m = L.shape
    within = []; se = []; cross = []
    for i in range(nr):
        A = ari_mat(L[i], L[i]); per = (A.sum(1) - 1) / (nruns - 1)
        within.append(per.mean()); se.append(per.std(ddof=1) / np.sqrt(nruns))
    for i in range(nr - 1):
        cross.append(ari_mat(L[i], L[i + 1]).mean())
    counts = [int(np.median([l.max() + 1 for l in L[i]])) for i in range(nr)]
    accs = [evaluate(y, L[i][0][near])["acc"] for i in range(nr)]
    out[name] = dict(within=np.array(within), se=np.array(se), cross=np.array(cross), counts=counts, accs=accs)
    print(name)
    for i in range(nr):
        c = f"{cross[i]:.3f}" if i < nr - 1 else "  -  "
        print(f"  r={R[i]:.2f} within {within[i]:.3f} se {se[i]:.3f} cross->next {c} k {counts[i]:3d} acc {accs[i]:.3f}")
np.save("/tmp/s35/curves.npy", out, allow_pickle=True)
