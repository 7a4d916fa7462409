import sys, numpy as np, torch
sys.path.insert(0, "/work/main/benchmarks")
from quality import image_stress
from mixae_graph.datasets import load_mnist, load_digits, load_file
from mixae_graph.blur import gaussian_blur
from sklearn.neighbors import NearestNeighbors
from sklearn.decomposition import PCA
mnist = load_mnist("/work/shared/data/mnist10k.npz")
def purity(Z, y, k=5):
    idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    return (y[idx] == y[:, None]).mean()
sets = {"digits": load_digits(), "mnist": mnist, "fashion": load_file("/work/shared/data/fashion10k.npz"), "img-digits16": image_stress("img-digits16", mnist)}
for name, d in sets.items():
    X, y = d.X.astype(np.float32), d.y
    res = {"pixels": purity(X, y)}
    if d.image_shape: res["blur"] = purity(gaussian_blur(torch.tensor(X), d.image_shape, 0.04).numpy(), y)
    res["pca20"] = purity(PCA(20, random_state=0).fit_transform(X), y)
    for s in [0, 1, 2]:
        try:
            z = np.load(f"/tmp/s30/codes/{name}-{s}.npz"); res[f"trunk{s}"] = purity(z["codes"], z["y"])
        except FileNotFoundError: pass
    print(name, X.shape, {k: round(float(v), 3) for k, v in res.items()}, flush=True)
