import sys, numpy as np, json
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
res = {}
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split('/')[-1][:-4]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    rows = []
    for r in G.RESOLUTIONS:
        labels = [G.communities(g.graph, r, run) for run in range(8)]
        A = np.eye(8)
        for i in range(8):
            for j in range(i+1, 8): A[i,j]=A[j,i]=G.adjusted_rand(labels[i], labels[j])
        per = (A.sum(1)-1)/7
        e = evaluate(yl, labels[0])
        rows.append(dict(r=r, stab=per.mean(), se=per.std(ddof=1)/np.sqrt(8), k=int(labels[0].max()+1), acc=e["acc"],
                         ks=[int(l.max()+1) for l in labels]))
    res[name] = rows
    print(name, " ".join(f"{d['k']}:{d['stab']:.3f}±{d['se']:.3f}/{d['acc']:.2f}" for d in rows), flush=True)
json.dump(res, open("/tmp/s37/curves.json", "w"))
