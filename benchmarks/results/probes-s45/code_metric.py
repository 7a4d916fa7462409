"""Code-space metric probe: kNN purity and the stable Louvain partition of the codes' graph when the
codes are used as they are (euclidean), L2-normalised (cosine), or z-scored per dimension."""
import sys
from pathlib import Path
import numpy as np, torch
ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q
from mixae_graph import MixAEGraph
from mixae_graph.graph import latent_graph, stable_communities, nearest_neighbors
from mixae_graph.metrics import cluster_accuracy
class Args: data = []
args = Args(); args.datasets = sys.argv[2].split(",")
for data in q.load_all(args):
    for seed in [int(s) for s in sys.argv[1].split(",")]:
        model = MixAEGraph(image_shape=data.image_shape, random_state=seed, experts={"epochs": 1}).fit(data.X)
        module = model.module_
        g = module.state.graph
        lm = g.landmarks; y = data.y[lm]
        codes = module.trunk_codes(torch.as_tensor(data.X)).numpy()[lm]
        variants = {"euclid": codes, "cosine": codes / np.linalg.norm(codes, axis=1, keepdims=True).clip(1e-12),
                    "zscore": (codes - codes.mean(0)) / codes.std(0).clip(1e-12)}
        print(data.name, seed, "fit", int(model.labels_.max() + 1), flush=True)
        for name, Z in variants.items():
            idx, _ = nearest_neighbors(Z.astype(np.float32), g.n_neighbors)
            purity = np.mean(y[idx[:, 1:]] == y[:, None])
            labels, res, stab = stable_communities(latent_graph(Z.astype(np.float32), g.n_neighbors))
            print(f"  {name:7s} purity {purity:.3f}  stable res {res:.2f} k {labels.max() + 1:3d} acc {cluster_accuracy(y, labels):.3f}", flush=True)
