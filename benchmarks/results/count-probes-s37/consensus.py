import sys, numpy as np, scipy.sparse as sp
from mixae_graph import graph as G
from mixae_graph import merge_split as M
from mixae_graph.metrics import evaluate
TAU = float(sys.argv[1])
def consensus(graph, r, runs=8, rounds=6):
    W = sp.csr_matrix(graph); E = sp.triu(W, k=1).tocoo()
    cur = W
    for it in range(rounds):
        labels = [G.communities(cur, r, run) for run in range(runs)]
        if all(G.adjusted_rand(labels[0], l) == 1.0 for l in labels[1:]):
            return labels[0], it
        frac = np.mean([l[E.row] == l[E.col] for l in labels], axis=0)
        keep = frac >= TAU
        C = sp.coo_matrix((E.data[keep] * frac[keep], (E.row[keep], E.col[keep])), shape=W.shape)
        cur = (C + C.T).tocsr()
    return labels[0], rounds
for f in sys.argv[2:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; name = f.split('/')[-1][:-4]
    g = G.point_graph(codes, random_state=0); yl = y[g.landmarks]
    pieces, r, stab = G.stable_communities(g.graph, random_state=0)
    fm = max(5, g.n_neighbors)
    def finish(p):
        l, _ = M.split_experts(g.graph, p, min_size=5, fine=g.fine, fine_min_size=fm)
        l, _ = M.join_pieces(g.graph, l, min_size=5, chain_share=0.8)
        return l
    a = finish(pieces); c, it = consensus(g.graph, r); b = finish(c)
    print(f"{name:20s} r={r:.2f} run0 {len(np.unique(a))}/{evaluate(yl,a)['acc']:.3f}  consensus {len(np.unique(b))}/{evaluate(yl,b)['acc']:.3f} (rounds {it}; raw {len(np.unique(c))})", flush=True)
