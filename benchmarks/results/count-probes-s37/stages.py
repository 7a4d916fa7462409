import sys, numpy as np
from mixae_graph import graph as G
from mixae_graph.merge_split import split_experts, join_pieces, chain_groups
from mixae_graph.metrics import evaluate
for f in sys.argv[1:]:
    z = np.load(f); codes, y = z["codes"], z["y"]; seed = 0
    g = G.point_graph(codes, random_state=seed)
    yl = y[g.landmarks]
    pieces, r, stab = G.stable_communities(g.graph, random_state=seed)
    def sc(l): 
        e = evaluate(yl, l); return f"{len(np.unique(l))} {e['acc']:.3f}"
    sp_, ev = split_experts(g.graph, pieces, min_size=5, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
    jl, jev = join_pieces(g.graph, sp_, min_size=5, chain_share=0.8, random_state=seed)
    print(f.split('/')[-1], "r", round(r,2), "stab", np.round(stab,3), "| louvain", sc(pieces), "| split", sc(sp_), [e['sizes'] for e in ev], "| join", sc(jl), [(e['rule'], e['sizes']) for e in jev][:6], flush=True)
