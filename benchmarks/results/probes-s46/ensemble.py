"""Trunk-ensemble probe: do the kNN graphs of several trunks (different seeds) together hold
classes better than one trunk's? Reads save_codes.py's files. For each set: one trunk (each seed),
every pair and the triple, combined as (a) the mean of their fuzzy graphs, (b) the graph of
their codes side by side (each scaled to unit RMS), (c) their fuzzy intersection. Prints the share
of graph weight inside a class and the stable Louvain partition's count and ACC.
Usage: ensemble.py CODEDIR DATASETS"""
import itertools, sys
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]
from mixae_graph.graph import latent_graph, intersection
from ensemble_report import report

codedir = Path(sys.argv[1])
for data in sys.argv[2].split(","):
    files = sorted(codedir.glob(f"{data}-*.npz"))
    loaded = [np.load(f) for f in files]
    y = loaded[0]["y"]
    codes = [d["codes"] for d in loaded]
    graphs = [latent_graph(c) for c in codes]
    print(data, flush=True)
    for s, g in enumerate(graphs):
        report(f"trunk {s}", g, y)
    for combo in list(itertools.combinations(range(len(codes)), 2)) + ([tuple(range(len(codes)))] if len(codes) > 2 else []):
        tag = "+".join(map(str, combo))
        mean = sum(graphs[i] for i in combo) / len(combo)
        report(f"mean {tag}", mean.tocsr(), y)
        side = np.hstack([codes[i] / np.sqrt((codes[i] ** 2).mean()) for i in combo])
        report(f"side by side {tag}", latent_graph(side), y)
        inter = graphs[combo[0]]
        for i in combo[1:]:
            inter = intersection(inter, graphs[i])
        report(f"intersection {tag}", inter, y)
