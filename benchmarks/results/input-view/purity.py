"""Edge purity (share of kNN weight between same-class points) of the kNN graph on several representations."""
import sys
from pathlib import Path
import numpy as np, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODES  # noqa: E402  (puts the checkout on the path)
import quality
from mixae_graph.graph import point_graph
from mixae_graph.blur import gaussian_blur
from sklearn.decomposition import PCA
quality.quiet_lightning()
sets = sys.argv[1].split(",")
qargs = quality.parse_args(["--datasets", *sets])
def purity(Z, y):
    pg = point_graph(np.asarray(Z, np.float32))
    g = pg.graph.tocoo(); yl = y[pg.landmarks]
    return g.data[yl[g.row] == yl[g.col]].sum() / g.data.sum()
for data in quality.load_all(qargs):
    X, y = data.X.astype(np.float32), data.y
    row = {}
    for s in range(3):
        row[f"codes s{s}"] = purity(np.load(CODES / f"{data.name}-{s}.npz")["codes"], y)
    row["pixels"] = purity(X, y)
    if data.image_shape:
        Xb = gaussian_blur(torch.as_tensor(X), data.image_shape, 0.036).numpy()
        row["blur"] = purity(Xb, y)
    else:
        Xb = X
    for d in (10, 50):
        if d < X.shape[1]:
            row[f"pca{d}"] = purity(PCA(d, random_state=0).fit_transform(Xb), y)
            row[f"pca{d}w"] = purity(PCA(d, whiten=True, random_state=0).fit_transform(Xb), y)
    Xn = Xb / np.linalg.norm(Xb, axis=1, keepdims=True).clip(1e-9)
    row["cosine"] = purity(Xn, y)
    print(data.name, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
