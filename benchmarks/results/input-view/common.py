"""Shared helpers of the two-view graph probe: data, saved trunk codes, the input's graph, the intersection."""
import os, sys
from pathlib import Path
import numpy as np, torch, scipy.sparse as sp
CHECKOUT = Path(os.environ["CHECKOUT"]) if "CHECKOUT" in os.environ else Path(__file__).resolve().parents[3]
CODES = Path(os.environ.get("CODES", "/tmp/s39/codes"))
sys.path.insert(0, str(CHECKOUT / "benchmarks")); sys.path.insert(0, str(CHECKOUT))
import quality  # noqa: E402
from mixae_graph.graph import point_graph  # noqa: E402,F401
from mixae_graph.blur import gaussian_blur  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402,F401
from sklearn.decomposition import PCA  # noqa: E402
quality.quiet_lightning()

def load(sets):
    return quality.load_all(quality.parse_args(["--datasets", *sets]))

def codes_of(name, seed):
    return np.load(CODES / f"{name}-{seed}.npz")["codes"]

def input_graph(data, dims=256):
    """The kNN graph of the input as the experts see it: blurred (images), top ``dims`` principal directions."""
    X = data.X.astype(np.float32)
    Xb = gaussian_blur(torch.as_tensor(X), data.image_shape, 0.036).numpy() if data.image_shape else X
    P = PCA(min(dims, X.shape[1], len(X) - 1), random_state=0).fit_transform(Xb).astype(np.float32)
    return point_graph(P).graph

def intersection(gc, gp, mix=0.5):
    """UMAP's intersection of two fuzzy graphs over the same points: the product of memberships (an edge
    one graph lacks counts half that graph's smallest weight), the second raised to mix / (1 - mix);
    then each point's strongest edge rescaled to 1 and the fuzzy union of the two directions."""
    pattern = (gc + gp).tocoo(); r, c = pattern.row, pattern.col
    lv = np.asarray(gc[r, c]).ravel(); rv = np.asarray(gp[r, c]).ravel()
    lv = np.where(lv > 0, lv, max(gc.data.min() / 2, 1e-8)); rv = np.where(rv > 0, rv, max(gp.data.min() / 2, 1e-8))
    return reset(sp.csr_matrix((lv * rv ** (mix / (1 - mix)), (r, c)), shape=gc.shape))

def reset(G):
    """UMAP's reset of the local connectivity: each point's strongest edge rescaled to 1, then the
    fuzzy union of the two directions."""
    G = sp.diags(1 / np.maximum(np.asarray(G.max(axis=1).todense()).ravel(), 1e-12)) @ G
    return (G + G.T - G.multiply(G.T)).tocsr()
