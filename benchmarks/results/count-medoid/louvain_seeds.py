"""Which run of the chosen resolution: the first, or the medoid? Measured over Louvain's own seeds.

On the saved trunk codes of each set (``--codes``, as ``benchmarks/count.py --codes`` writes them),
for each seed and for three sets of Louvain seeds (offsets 0, 100 and 200 added to the seed), the
stability rule's 72 runs are made once and three partitions read from them, each followed by the
first partition's rules (``merge_split.apply_rules``):

- ``first run``: the first run at the chosen resolution (the rule before 2026-12-06);
- ``medoid``: the run that agrees best with the other runs of the chosen resolution (the rule now);
- ``plateau medoid``: the medoid of every run on the plateau of resolutions that ends at the chosen
  one, each within one standard error of the most stable (not kept).

Run: ``python benchmarks/results/count-medoid/louvain_seeds.py --codes DIR [--datasets ...]``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import quality  # noqa: E402

from mixae_graph.graph import RESOLUTIONS, STABILITY_RUNS, adjusted_rand, communities, point_graph  # noqa: E402
from mixae_graph.merge_split import apply_rules  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402

OFFSETS = (0, 100, 200)


def medoid(runs):
    agreement = np.array([[adjusted_rand(a, b) for b in runs] for a in runs])
    return runs[int(np.argmax(agreement.sum(1)))]


def partitions(graph, seed):
    runs, stability, error = [], [], []
    for resolution in RESOLUTIONS:
        labels = [communities(graph, resolution, seed + run) for run in range(STABILITY_RUNS)]
        agreement = np.array([[adjusted_rand(a, b) for b in labels] for a in labels])
        per_run = (agreement.sum(1) - 1) / (STABILITY_RUNS - 1)
        runs.append(labels)
        stability.append(per_run.mean())
        error.append(per_run.std(ddof=1) / np.sqrt(STABILITY_RUNS))
    stability = np.asarray(stability)
    most = int(np.argmax(stability))
    tied = set(np.flatnonzero(stability >= stability[most] - error[most] - 1e-9).tolist())
    chosen = max(tied)
    plateau = [chosen]
    while plateau[0] - 1 in tied:
        plateau.insert(0, plateau[0] - 1)
    return {"first run": runs[chosen][0], "medoid": medoid(runs[chosen]),
            "plateau medoid": medoid([labels for r in plateau for labels in runs[r]])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=["img-portraits", "stress-small", "img-turntable", "digits",
                                                          "stress-touching", "mnist", "fashion"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    quality.quiet_lightning()
    table = ["| data (classes) | rule | ACC, mean of 9 | ACC range | clusters, mean | count in range |",
             "|---|---|---|---|---|---|"]
    for data in quality.load_all(quality.parse_args(["--datasets", *args.datasets])):
        classes, found = len(np.unique(data.y)), {}
        for seed in args.seeds:
            codes = np.load(args.codes / f"{data.name}-{seed}.npz")["codes"]
            graph = point_graph(codes, random_state=seed)
            rules = dict(min_size=5, chain_share=0.8, random_state=seed, fine=graph.fine,
                         fine_min_size=max(5, graph.n_neighbors))
            for offset in OFFSETS:
                for name, pieces in partitions(graph.graph, seed + offset).items():
                    labels = graph.to_points(apply_rules(graph.graph, pieces, **rules))
                    k = len(np.unique(labels[labels >= 0]))
                    found.setdefault(name, []).append((cluster_accuracy(data.y, labels), k))
                    print(f"{data.name} seed {seed} Louvain seeds +{offset}: {name} {k} / "
                          f"{found[name][-1][0]:.3f}", flush=True)
        for name, rows in found.items():
            acc, k = np.array(rows).T
            table.append(f"| {data.name} ({classes}) | {name} | {acc.mean():.3f} | {acc.min():.3f}-{acc.max():.3f} | "
                         f"{k.mean():.1f} | {int(np.sum(np.abs(k - classes) <= 0.2 * classes))}/{len(k)} |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
