import sys, numpy as np, json, scipy.sparse as sp
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
RES = [0.25 * 2 ** (s / 2) for s in range(int(sys.argv[1]))]
out = {}
for f in sys.argv[2:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split('/')[-1][:-4]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    E = sp.triu(g.graph, k=1).tocoo(); w = E.data / E.data.sum()
    rows = []
    for r in RES:
        labels = [G.communities(g.graph, r, run) for run in range(8)]
        cuts = [l[E.row] != l[E.col] for l in labels]
        K = np.eye(8); A = np.eye(8)
        for i in range(8):
            for j in range(i+1, 8):
                pa, pb = w[cuts[i]].sum(), w[cuts[j]].sum()
                po = w[cuts[i] == cuts[j]].sum(); pe = pa*pb + (1-pa)*(1-pb)
                K[i,j] = K[j,i] = 1.0 if pe >= 1 - 1e-12 else (po - pe) / (1 - pe)
                A[i,j] = A[j,i] = G.adjusted_rand(labels[i], labels[j])
        pk = (K.sum(1)-1)/7; pa_ = (A.sum(1)-1)/7
        rows.append(dict(r=r, k=int(labels[0].max()+1), kappa=pk.mean(), kse=pk.std(ddof=1)/8**.5, ari=pa_.mean(),
                         acc=evaluate(yl, labels[0])["acc"], cut=float(w[cuts[0]].sum())))
    out[name] = rows
    print(name, " ".join(f"{d['r']:.2g}:{d['k']}:{d['kappa']:.3f}/{d['acc']:.2f}" for d in rows), flush=True)
json.dump(out, open(f"/tmp/s37/kappa-{len(RES)}.json", "w"))
