import sys, numpy as np, torch, time
sys.path.insert(0, "/work/main/benchmarks")
from quality import image_stress
from mixae_graph.datasets import load_mnist, load_digits, load_file
from mixae_graph.blur import gaussian_blur
from mixae_graph import graph as G
from mixae_graph.metrics import evaluate
from sklearn.decomposition import PCA
mnist = load_mnist("/work/shared/data/mnist10k.npz")
names = sys.argv[1:]
for name in names:
    d = load_digits() if name == "digits" else mnist if name == "mnist" else load_file("/work/shared/data/fashion10k.npz") if name == "fashion" else image_stress(name, mnist)
    X, y = d.X.astype(np.float32), d.y
    if d.image_shape: X = gaussian_blur(torch.tensor(X), d.image_shape, 0.036).numpy()
    for rep in ["blur", "pca50"]:
        Z = X if rep == "blur" else PCA(50, random_state=0).fit_transform(X)
        t = time.time()
        g = G.point_graph(Z, random_state=0)
        lab, r, stab = G.stable_communities(g.graph, random_state=0)
        accs = []
        for rr in G.RESOLUTIONS:
            l = G.communities(g.graph, rr, 0); accs.append(f"{evaluate(y, l[g.nearest])['acc']:.3f}({l.max()+1})")
        print(f"{name:14s} {rep:6s} choice r={r:.2f} k={lab.max()+1} acc {evaluate(y, lab[g.nearest])['acc']:.3f} | {' '.join(accs)} {time.time()-t:.0f}s", flush=True)
