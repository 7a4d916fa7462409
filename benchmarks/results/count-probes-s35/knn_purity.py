import sys, numpy as np, torch
sys.path.insert(0, "/work/main/benchmarks")
from quality import image_stress
from mixae_graph.datasets import load_mnist
from mixae_graph.blur import gaussian_blur
from sklearn.neighbors import NearestNeighbors
from sklearn.decomposition import PCA
mnist = load_mnist("/work/shared/data/mnist10k.npz")
def purity(Z, y, k=5):
    idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    return (y[idx] == y[:, None]).mean()
for name in ["img-portraits", "img-turntable"]:
    d = image_stress(name, mnist); X, y = d.X.astype(np.float32), d.y
    shape = d.image_shape
    Xb = gaussian_blur(torch.tensor(X), shape, 0.04).numpy()
    res = {"pixels": purity(X, y), "blur": purity(Xb, y)}
    for c in [10, 20, 50]:
        res[f"pca{c}"] = purity(PCA(c, random_state=0).fit_transform(X), y)
        res[f"pca{c}w"] = purity(PCA(c, whiten=True, random_state=0).fit_transform(X), y)
    for s in [0, 1, 2]:
        try:
            z = np.load(f"/tmp/s30/codes/{name}-{s}.npz"); res[f"trunk{s}"] = purity(z["codes"], z["y"])
        except FileNotFoundError: pass
    print(name, X.shape, {k: round(float(v), 3) for k, v in res.items()}, flush=True)
