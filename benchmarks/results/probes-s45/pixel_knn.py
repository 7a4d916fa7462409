"""Share of each point's kNN (round(log2 n) neighbours, pixels blurred as the model blurs them)
that share its class: raw, each image centred, each image centred and scaled to unit RMS
(session 45). Run from the repository root: ``python benchmarks/results/probes-s45/pixel_knn.py``."""
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q  # noqa: E402

from mixae_graph.blur import gaussian_blur  # noqa: E402


class Args:
    data: list = []
    datasets = ["img-portraits", "img-turntable", "digits", "img-digits16", "mnist", "fashion"]


for data in q.load_all(Args()):
    X = gaussian_blur(torch.as_tensor(data.X, dtype=torch.float64), data.image_shape, 0.036).numpy()
    k = max(2, round(np.log2(len(X))))
    centred = X - X.mean(1, keepdims=True)
    out = []
    for name, Z in [("raw", X), ("centre", centred), ("contrast", centred / centred.std(1, keepdims=True).clip(1e-8))]:
        Z = Z - Z.mean(0)
        idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
        out.append(f"{name} {np.mean(data.y[idx] == data.y[:, None]):.3f}")
    print(data.name, len(X), k, " | ".join(out), flush=True)
