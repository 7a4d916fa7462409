import sys, numpy as np, time
from mixae_graph import graph as G
R = [float(x) for x in sys.argv[1].split(",")]
for f in sys.argv[2:]:
    name = f.split("/")[-1][:-4]; seed = int(name[-1]); z = np.load(f); codes, y = z["codes"], z["y"]
    g = G.point_graph(codes, random_state=seed)
    print(name, g.graph.shape, flush=True)
    for r in R:
        t = time.time()
        labels = [G.communities(g.graph, r, seed + run) for run in range(8)]
        A = np.eye(8)
        for i in range(8):
            for j in range(i + 1, 8):
                A[i, j] = A[j, i] = G.adjusted_rand(labels[i], labels[j])
        per = (A.sum(1) - 1) / 7
        l = labels[0]
        print(f"  r={r:7.1f} stab {per.mean():.3f} se {per.std(ddof=1)/np.sqrt(8):.3f} k {l.max()+1:5d} mean size {len(l)/(l.max()+1):6.1f} ({time.time()-t:.1f}s)", flush=True)
