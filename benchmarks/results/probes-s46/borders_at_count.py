"""At the plain rule's count K, Louvain parts of the plain and of the self-intersected graph
(merge_split.parts_at_count). Usage: borders_at_count.py CODEDIR DATASETS"""
import sys
from pathlib import Path
import numpy as np
sys.path[:0] = [str(Path(__file__).resolve().parents[3])]
from mixae_graph.graph import latent_graph, intersection, stable_communities
from mixae_graph.merge_split import parts_at_count
from mixae_graph.metrics import cluster_accuracy
for data in sys.argv[2].split(","):
    for seed in (0, 1, 2):
        d = np.load(Path(sys.argv[1]) / f"{data}-{seed}.npz"); y = d["y"]
        g = latent_graph(d["codes"]); g3 = intersection(intersection(g, g), g)
        labels, res, _ = stable_communities(g); K = labels.max() + 1
        row = [f"{data} {seed} K {K} plain {cluster_accuracy(y, labels):.3f}"]
        for name, other in [("plain@K", g), ("x3@K", g3)]:
            lab = parts_at_count(g, other, K)
            row.append(f"{name} {cluster_accuracy(y, lab):.3f}" if lab is not None else f"{name} none")
        print("  ".join(row), flush=True)
