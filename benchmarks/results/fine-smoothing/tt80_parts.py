import sys, numpy as np
from scipy.sparse.csgraph import connected_components
from mixae_graph import graph as G, merge_split as M
from mixae_graph.metrics import evaluate
z = np.load(sys.argv[1]); codes, y = z["codes"], z["y"]; seed = int(sys.argv[2])
g = G.point_graph(codes, random_state=seed)
print("n", len(y), "n_neighbors", g.n_neighbors)
def desc(name, lab):
    k = lab.max() + 1
    pur = sum(np.bincount(y[lab == p]).max() for p in range(k)) / len(y)
    # how many classes are cut: classes whose points span >1 part (with >=3 points)
    frag = [sum(np.bincount(lab[y == c], minlength=k) >= 3) for c in range(y.max() + 1)]
    print(f"{name}: {k} parts, purity {pur:.3f}, acc {evaluate(y, lab)['acc']:.3f}, parts per class {frag}")
if g.fine is not None:
    desc("fine graph", connected_components(g.fine, directed=False)[1])
    ks = [k for k in range(3, 20) if ((G.latent_graph(codes, k) > 0) != (g.fine > 0)).nnz == 0] if False else None
louv, res, stab = G.stable_communities(g.graph, random_state=seed)
print("resolution", res, "stability", np.round(stab, 3))
desc("louvain", louv)
sp_, _ = M.split_experts(g.graph, louv, min_size=5, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
desc("after fine split", np.unique(sp_, return_inverse=True)[1])
chains = M.chain_groups(g.graph, 0.8, random_state=seed)
p = M.partition(g.graph, min_size=5, random_state=seed, chains=chains, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
desc("partition", np.where(p >= 0, p, p.max() + 1))
