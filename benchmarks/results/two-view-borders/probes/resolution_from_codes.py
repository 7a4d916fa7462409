"""Resolution chosen by stability on the codes' graph; communities at it on the intersection."""
import sys, time
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "input-view"))
from common import CODES, intersection, input_graph, load
from mixae_graph.graph import point_graph, stable_communities, communities, adjusted_rand
from mixae_graph.merge_split import apply_rules, partition
from mixae_graph.metrics import cluster_accuracy
sets = sys.argv[1].split(",")
for data in load(sets):
    y = data.y
    gp = input_graph(data)
    out = []
    t = time.time()
    for s in range(3):
        pg = point_graph(np.load(CODES / f"{data.name}-{s}.npz")["codes"], random_state=s)
        gc = pg.graph
        G = intersection(gc, gp, 0.5)
        kw = dict(min_size=5, chain_share=0.8, random_state=s, fine=pg.fine, fine_min_size=max(5, pg.n_neighbors))
        base = partition(gc, **kw)
        pieces, r, _ = stable_communities(gc, random_state=s)
        runs = [communities(G, r, s + i) for i in range(8)]
        A = np.array([[adjusted_rand(a, b) for b in runs] for a in runs])
        med = runs[int(np.argmax(A.sum(1)))]
        hy = apply_rules(G, med, **kw)
        hy2 = apply_rules(gc, med, **kw)
        row = []
        for lab in (base, hy, hy2):
            row += [len(np.unique(lab[lab >= 0])), cluster_accuracy(y, lab)]
        out.append(row + [r])
        print(f"  {data.name} seed {s} r={r} base {row[0]} {row[1]:.3f} | hyb-int {row[2]} {row[3]:.3f} | hyb-codesrules {row[4]} {row[5]:.3f}", flush=True)
    o = np.array(out)
    print(f"{data.name:16s} base {o[:,1].mean():.3f} hyb {o[:,3].mean():.3f} hyb2 {o[:,5].mean():.3f} {time.time()-t:.0f}s", flush=True)
