"""The codes' graph intersected with itself (graph.intersection, two and three times: weak
edges fade, mutual strong ones stay) against the plain graph: share of weight inside a class, the
stable partition. Usage: self_intersection.py CODEDIR DATASETS SEEDS (files of save_codes.py)"""
import sys
from pathlib import Path
import numpy as np
sys.path[:0] = [str(Path(__file__).resolve().parents[3]), str(Path(__file__).parent)]
from mixae_graph.graph import latent_graph, intersection
from ensemble_report import report
folder = Path(sys.argv[1])
for data in sys.argv[2].split(","):
    for seed in sys.argv[3].split(","):
        d = np.load(folder / f"{data}-{seed}.npz"); y = d["y"]
        g = latent_graph(d["codes"])
        print(data, seed, flush=True)
        report("plain", g, y)
        g3 = intersection(intersection(g, g), g)
        report("self x3", g3, y)
        report("self x4", intersection(g3, g), y)
