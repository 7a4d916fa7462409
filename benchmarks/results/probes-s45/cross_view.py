"""Cross-view count probe (session 45): Louvain on the trunk codes' kNN graph and on the input's own
kNN graph (as the experts see it) at every resolution of the grid and four finer ones; for each,
the count and ACC of the medoid run, the stability (mean ARI between 8 runs) and the agreement
between the two views (mean ARI over the 64 cross pairs).

Run from the repository root: ``python benchmarks/results/probes-s45/cross_view.py 0 img-portraits,digits``
(seeds, data sets; each fit is a default trunk with one expert epoch)."""
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q  # noqa: E402

from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.graph import RESOLUTIONS, adjusted_rand, communities, latent_graph, medoid_run  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402

FINER = (5.66, 8.0, 11.3, 16.0)


class Args:
    data: list = []


def main(seeds: list[int], names: list[str]) -> None:
    args = Args()
    args.datasets = names
    for data in q.load_all(args):
        for seed in seeds:
            model = MixAEGraph(image_shape=data.image_shape, random_state=seed, experts={"epochs": 1}).fit(data.X)
            module, graph = model.module_, model.module_.state.graph
            landmarks = graph.landmarks
            views = (graph.graph, latent_graph(module.expert_coordinates(data.X)[landmarks], graph.n_neighbors))
            y = data.y[landmarks]
            print(data.name, seed, "classes", len(np.unique(data.y)), "fit", int(model.labels_.max() + 1), flush=True)
            for resolution in tuple(RESOLUTIONS) + FINER:
                runs = [[communities(view, resolution, s) for s in range(8)] for view in views]
                cells = []
                for view_runs in runs:
                    medoid, per_run = medoid_run(view_runs)
                    cells.append((int(medoid.max() + 1), per_run.mean(), per_run.std(ddof=1) / 8 ** 0.5,
                                  cluster_accuracy(y, medoid)))
                cross = np.array([[adjusted_rand(a + 1, b + 1) for b in runs[1]] for a in runs[0]])
                (k1, s1, e1, a1), (k2, s2, _, a2) = cells
                print(f"  res {resolution:.2f}  codes k {k1:3d} stab {s1:.3f}({e1:.3f}) acc {a1:.3f} | "
                      f"input k {k2:3d} stab {s2:.3f} acc {a2:.3f} | cross {cross.mean():.3f}"
                      f"({cross.mean(1).std(ddof=1) / 8 ** 0.5:.3f})", flush=True)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1].split(",")], sys.argv[2].split(","))
