"""Snapshot-ensemble probe: per seed, the trunk's codes at epochs 30, 40 and 50 of one fit
(save_snapshots.py), their graphs combined as in ensemble.py. Usage: snapshots.py DIR DATASETS SEEDS"""
import sys
from pathlib import Path
import numpy as np
ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]
from mixae_graph.graph import latent_graph, intersection
from ensemble_report import report

folder = Path(sys.argv[1])
for data in sys.argv[2].split(","):
    for seed in sys.argv[3].split(","):
        loaded = {e: np.load(folder / f"{data}-{seed}-e{e}.npz") for e in (30, 40, 50)}
        y = loaded[50]["y"]
        graphs = {e: latent_graph(d["codes"]) for e, d in loaded.items()}
        print(data, "seed", seed, flush=True)
        report("epoch 50", graphs[50], y)
        report("mean 30+40+50", (sum(graphs.values()) / 3).tocsr(), y)
        report("intersection 40+50", intersection(graphs[40], graphs[50]), y)
        report("intersection 30+40+50", intersection(intersection(graphs[30], graphs[40]), graphs[50]), y)
