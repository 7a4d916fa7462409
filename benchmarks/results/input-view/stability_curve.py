import sys
import numpy as np, torch, scipy.sparse as sp
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODES  # noqa: E402  (puts the checkout on the path)
import quality
from mixae_graph.graph import point_graph, stable_communities, RESOLUTIONS
from mixae_graph.blur import gaussian_blur
from mixae_graph.metrics import cluster_accuracy
from sklearn.decomposition import PCA
quality.quiet_lightning()
name = sys.argv[1]
data = quality.load_all(quality.parse_args(["--datasets", name]))[0]
X, y = data.X.astype(np.float32), data.y
Xb = gaussian_blur(torch.as_tensor(X), data.image_shape, 0.036).numpy() if data.image_shape else X
P = PCA(min(256, X.shape[1], len(X) - 1), random_state=0).fit_transform(Xb).astype(np.float32)
gp = point_graph(P).graph
def inter(gc, gp):
    pattern = (gc + gp).tocoo(); r, c = pattern.row, pattern.col
    lv = np.asarray(gc[r, c]).ravel(); rv = np.asarray(gp[r, c]).ravel()
    lv = np.where(lv > 0, lv, max(gc.data.min() / 2, 1e-8)); rv = np.where(rv > 0, rv, max(gp.data.min() / 2, 1e-8))
    G = sp.csr_matrix((lv * rv, (r, c)), shape=gc.shape)
    G = sp.diags(1 / np.asarray(G.max(axis=1).todense()).ravel()) @ G
    return (G + G.T - G.multiply(G.T)).tocsr()
from mixae_graph.graph import communities
for s in range(3):
    gc = point_graph(np.load(CODES / f"{name}-{s}.npz")["codes"], random_state=s).graph
    for tag, G in (("codes", gc), ("inter", inter(gc, gp))):
        lab, res, stab = stable_communities(G, random_state=s)
        counts = [len(np.unique(communities(G, r, s))) for r in RESOLUTIONS]
        accs = [cluster_accuracy(y, communities(G, r, s)) for r in RESOLUTIONS]
        print(s, tag, "chosen", res, " ".join(f"{r:.2f}:{st:.3f}/{c}/{a:.2f}" for r, st, c, a in zip(RESOLUTIONS, stab, counts, accs)))
