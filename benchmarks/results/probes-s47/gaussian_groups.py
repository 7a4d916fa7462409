import numpy as np, sys
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score as ari
from mixae_graph.graph import latent_graph, strong_edges, stable_communities, reproducible_communities
for dims, std in ((10, 4.5), (10, 5.0), (30, 6.0), (30, 8.0)):
  for rs in range(4):
    X, y = make_blobs(n_samples=[10] * 40, n_features=dims, cluster_std=std, center_box=(-10, 10), random_state=rs)
    g = latent_graph(X)
    p = stable_communities(g); s = stable_communities(strong_edges(g))
    r = reproducible_communities(g)
    print(dims, std, rs, "plain", p[0].max()+1, round(ari(y, p[0]),3), "strong", s[0].max()+1, round(ari(y, s[0]),3), "pick", "strong" if r[2] else "plain", flush=True)
