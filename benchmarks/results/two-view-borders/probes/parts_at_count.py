"""Count K from the codes' graph (the library's rule); partition of the intersection into K parts:
Louvain + the library's rules on the intersection at the resolution whose count is K (bisection on log r)."""
import sys, time
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "input-view"))
from common import CODES, intersection, input_graph, load
from mixae_graph.graph import point_graph, communities, adjusted_rand
MEDOID = int(__import__('os').environ.get('MEDOID', '1'))
from mixae_graph.merge_split import apply_rules, partition
from mixae_graph.metrics import cluster_accuracy
sets = sys.argv[1].split(","); mix = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
import os; RULES = os.environ.get('RULES', 'codes')  # 'int': the rules read the intersection too
def count(lab): return len(np.unique(lab[lab >= 0]))
for data in load(sets):
    y = data.y; t = time.time()
    gp = input_graph(data)
    out = []
    for s in range(3):
        pg = point_graph(np.load(CODES / f"{data.name}-{s}.npz")["codes"], random_state=s)
        gc = pg.graph
        G = intersection(gc, gp, mix)
        kw = dict(min_size=5, chain_share=0.8, random_state=s, fine=pg.fine, fine_min_size=max(5, pg.n_neighbors))
        base = partition(gc, **kw); K = count(base)
        lo, hi = np.log(0.02), np.log(50.0); best = None
        for _ in range(14):
            mid = (lo + hi) / 2
            lab = apply_rules(gc if RULES == "codes" else G, communities(G, float(np.exp(mid)), s), **kw)
            c = count(lab)
            if best is None or abs(c - K) < abs(count(best) - K): best = lab
            if c == K: break
            if c < K: lo = mid
            else: hi = mid
        if count(best) != K: best = base  # the intersection cannot give K parts
        elif MEDOID:
            r = float(np.exp(mid)); runs = [apply_rules(gc if RULES == "codes" else G, communities(G, r, s + i), **kw) for i in range(8)]
            runs = [l for l in runs if count(l) == K] or [best]
            A = np.array([[adjusted_rand(np.maximum(a, 0), np.maximum(b, 0)) for b in runs] for a in runs])
            best = runs[int(np.argmax(A.sum(1)))]
        out.append((K, cluster_accuracy(y, base), count(best), cluster_accuracy(y, best)))
        print(f"  {data.name} seed {s} K {K} base {out[-1][1]:.3f} | matched {out[-1][2]} {out[-1][3]:.3f} (r={np.exp(mid):.3g})", flush=True)
    o = np.array(out)
    print(f"{data.name:16s} base {o[:,1].mean():.3f} matched {o[:,3].mean():.3f} {time.time()-t:.0f}s", flush=True)
