import sys, numpy as np
import os
CODES = os.environ.get("CODES", "/tmp/codes")  # files of probes-s46/save_codes.py
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT)]
from mixae_graph.graph import latent_graph, stable_communities, RESOLUTIONS, intersection
from mixae_graph.metrics import cluster_accuracy
for data in sys.argv[1].split(","):
    for seed in sys.argv[2].split(","):
        d = np.load(f"{CODES}/{data}-{seed}.npz")
        W = latent_graph(d["codes"])
        for gname, G in (("plain", W),) + ((("x3", intersection(intersection(W, W), W)),) if len(sys.argv) > 3 else ()):
            row = []
            for r in RESOLUTIONS:
                labels, _, st = stable_communities(G, resolutions=(r,))
                row.append(f"{r:.2f}:{labels.max()+1}/{cluster_accuracy(d['y'], labels):.3f}")
            full, res, st = stable_communities(G)
            print(f"{data} {seed} {gname}: chosen {res:.2f} ({full.max()+1}) | " + " ".join(f"{s:.3f}" for s in st) + " | " + " ".join(row), flush=True)
