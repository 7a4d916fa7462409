"""Stability and count at every resolution of the grid, plain graph and self-intersected thrice.
Usage: stability_curves.py CODEDIR DATA:SEED,DATA:SEED"""
import sys
from pathlib import Path
import numpy as np
sys.path[:0] = [str(Path(__file__).resolve().parents[3])]
from mixae_graph.graph import latent_graph, intersection, stable_communities, RESOLUTIONS, communities
for data, seed in [a.split(":") for a in sys.argv[2].split(",")]:
    d = np.load(Path(sys.argv[1]) / f"{data}-{seed}.npz")
    g = latent_graph(d["codes"]); g3 = intersection(intersection(g, g), g)
    for name, graph in [("plain", g), ("x3", g3)]:
        labels, res, stab = stable_communities(graph)
        ks = [communities(graph, r, 0).max() + 1 for r in RESOLUTIONS]
        print(data, seed, name, "chosen", res, " ".join(f"{r:.2f}:{s:.3f}/{k}" for r, s, k in zip(RESOLUTIONS, stab, ks)), flush=True)
