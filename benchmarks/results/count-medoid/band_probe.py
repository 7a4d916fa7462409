"""Probe (session 40): partitions from the runs of every resolution tied with the most stable (the band):
first run (then default), argmax, majority consensus of kNN edges (band>0.5), band medoid, Louvain on the
co-association-reweighted graph. Run: python band_probe.py SETS SEEDS CODES_DIR (comma-separated lists)."""
import sys, time, numpy as np, scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
import quality
from mixae_graph.graph import point_graph, communities, adjusted_rand, RESOLUTIONS, STABILITY_RUNS
from mixae_graph.merge_split import apply_rules, absorb_small
from mixae_graph.metrics import cluster_accuracy
quality.quiet_lightning()
names = sys.argv[1].split(",")
seeds = [int(s) for s in sys.argv[2].split(",")]
qargs = quality.parse_args(["--datasets", *names])
for data in quality.load_all(qargs):
    for seed in seeds:
        t = time.time()
        codes = np.load(f"{sys.argv[3]}/{data.name}-{seed}.npz")["codes"]
        g = point_graph(codes, random_state=seed)
        G = sp.csr_matrix(g.graph)
        rules = dict(min_size=5, chain_share=0.8, random_state=seed, fine=g.fine, fine_min_size=max(5, g.n_neighbors))
        runs, stab, err = [], [], []
        for r in RESOLUTIONS:
            labels = [communities(G, r, seed + i) for i in range(STABILITY_RUNS)]
            A = np.array([[adjusted_rand(a, b) for b in labels] for a in labels])
            per = (A.sum(1) - 1) / (STABILITY_RUNS - 1)
            runs.append(labels); stab.append(per.mean()); err.append(per.std(ddof=1) / np.sqrt(STABILITY_RUNS))
        stab = np.array(stab); most = int(np.argmax(stab))
        band = np.flatnonzero(stab >= stab[most] - err[most] - 1e-9)
        best = int(band.max())
        edges = sp.triu(G, 1).tocoo()
        bandruns = [l for b in band for l in runs[b]]
        share = np.mean([l[edges.row] == l[edges.col] for l in bandruns], axis=0)
        out = {}
        out["current"] = runs[best][0]
        out["argmax"] = runs[most][0]
        for thr in (0.5,):
            keep = share > thr
            kept = sp.csr_matrix((edges.data[keep], (edges.row[keep], edges.col[keep])), shape=G.shape)
            lab = connected_components(kept, directed=False)[1]
            out[f"band>{thr}"] = absorb_small(G, lab, 5)[0]
        # medoid over band runs
        A = np.array([[adjusted_rand(a, b) for b in bandruns] for a in bandruns])
        out["band medoid"] = bandruns[int(np.argmax(A.sum(1)))]
        # LF-style: louvain on co-association reweighted graph at best resolution
        W = sp.csr_matrix((edges.data * share, (edges.row, edges.col)), shape=G.shape); W = W + W.T
        out["band reweighted"] = communities(W, float(RESOLUTIONS[best]), seed)
        y = data.y
        msg = [f"{data.name}-{seed} band={[round(RESOLUTIONS[b],2) for b in band]}"]
        for k, lab in out.items():
            lab = g.to_points(apply_rules(G, np.unique(lab, return_inverse=True)[1], **rules))
            msg.append(f"{k}: {len(np.unique(lab[lab>=0]))}/{cluster_accuracy(y, lab):.3f}")
        print(" | ".join(msg) + f" ({time.time()-t:.0f}s)", flush=True)
