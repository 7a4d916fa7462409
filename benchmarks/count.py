"""How many clusters: candidate criteria for the count, compared on the same latent codes.

Every data set is fitted once per seed with the library's defaults for the trunk (its codes are
what the graph is built on; the experts train one epoch, they do not enter here), then every
criterion partitions the same codes. So the table separates the count criterion from the
representation: a criterion that is right on one set and wrong on the next is not a rule.

Criteria:

- ``stability``: the library's first partition (:func:`mixae_graph.merge_split.partition`: Louvain at
  the most reproducible resolution, split where its parts fall apart in the fine graph of each
  point's two nearest neighbours, then the merge rules).
- ``stability, no fine split``: the same without the fine graph's split (the ablation).
- ``louvain r``: Louvain at the fixed resolution ``r``, then the same merge rules.
- ``consensus t``: co-association over Louvain partitions at every resolution of
  0.25, 0.5, 1, 2 and 4 (4 seeds each); the clusters are the connected parts of the
  kNN edges kept together in a share ``t`` of the partitions (Lancichinetti & Fortunato 2012), and
  parts under 5 points join their best-connected neighbour.
- ``relative cut t``: Chameleon's relative interconnectivity (Karypis et al. 1999) over Louvain pieces
  at resolution 8: the pair of pieces whose joining weight is largest relative to the mean of the
  two pieces' own balanced spectral bisections merges, while that ratio is at least ``t``.
- ``evidence accumulation``: Fred & Jain's evidence accumulation (TPAMI 2005) over the Louvain runs
  that the stability rule makes (8 seeds at each of its 9 resolutions): each kNN edge's share of
  runs that keep its two ends together, pieces that no run divides, average linkage of those
  shares over the kNN edges between pieces, and the count (of parts of ``MIN_SIZE`` points or more)
  that lives longest in the dendrogram; smaller leftovers join their best-connected neighbour.
  ``evidence accumulation, rules``: the same, then the rules of the first partition that follow its
  Louvain step (the fine graph's split, small pieces and chains join).
- ``hdbscan eom`` / ``hdbscan leaf``: HDBSCAN (min_cluster_size 5) on the codes.
- ``umap+hdbscan``: UMAP of the codes to 10 dimensions (``min_dist=0``, the graph's neighbours), then
  HDBSCAN (eom, min_cluster_size 5).

HDBSCAN's noise points (-1) count as one more label for ACC, not as a cluster.

Run: ``python benchmarks/count.py [--datasets ...] [--seeds 0 1 2] [--codes DIR] [--subsamples N]``;
results in ``benchmarks/results/count-criteria.md``/``.json``. ``--codes DIR`` keeps the codes of each
fit there and reuses them on the next run. ``--subsamples N`` also partitions N random 80% subsamples
of each set's codes (the same trunk): a count that is a property of the data should not flip when a
fifth of the points is left out, and a second table gives each criterion's range of counts over them.
"""

from __future__ import annotations

import argparse
import heapq
import datetime as dt
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (the data sets and the fitting helpers)

from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.graph import (RESOLUTIONS, STABILITY_RUNS, communities, expert_weights, neighbors_for,  # noqa: E402
                               point_graph)
from mixae_graph.merge_split import absorb_small, apply_rules, fiedler_sweep, partition  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MIN_SIZE = 5  # the library's default min_cluster_size, for every criterion
CONSENSUS_RESOLUTIONS = (0.25, 0.5, 1.0, 2.0, 4.0)  # the consensus criterion's partitions, as recorded
DEFAULT_SETS = ("img-portraits", "img-turntable", "digits", "mnist", "fashion", "stress-small", "stress-unequal",
                "stress-touching", "stress-hierarchy", "stress-noise", "moons", "spirals", "circles")


# ----------------------------------------------------------------------------- criteria


def consensus(graph, share: float, seed: int) -> np.ndarray:
    edges = sp.coo_matrix(graph)
    runs = [communities(graph, r, seed + run) for r in CONSENSUS_RESOLUTIONS for run in range(4)]
    together = np.mean([labels[edges.row] == labels[edges.col] for labels in runs], axis=0)
    keep = together >= share
    kept = sp.csr_matrix((edges.data[keep], (edges.row[keep], edges.col[keep])), shape=edges.shape)
    labels = connected_components(kept, directed=False)[1]
    return absorb_small(graph, labels, MIN_SIZE)[0]


def _balanced_cut(graph: sp.csr_matrix) -> float:
    """Weight of the sweep cut along the Fiedler vector that halves the volume of ``graph``."""
    degree = np.asarray(graph.sum(1)).ravel()
    if graph.shape[0] < 4:
        return float(degree.sum()) / 2
    _, cut, volume = fiedler_sweep(graph)
    return float(cut[np.argmin(np.abs(volume - degree.sum() / 2))])


def relative_cut(graph, ratio: float, seed: int) -> np.ndarray:
    graph = sp.csr_matrix(graph)
    labels = communities(graph, 8.0, seed)
    own = {p: _balanced_cut(graph[labels == p][:, labels == p]) for p in np.unique(labels)}
    while True:
        weights, ids = expert_weights(graph, labels)
        rows, cols = np.nonzero(np.triu(weights, 1))
        if not len(rows):
            return labels
        scores = weights[rows, cols] / np.maximum([(own[ids[i]] + own[ids[j]]) / 2 for i, j in zip(rows, cols)], 1e-12)
        best = int(np.argmax(scores))
        if scores[best] < ratio:
            return labels
        keep, gone = int(ids[rows[best]]), int(ids[cols[best]])
        labels[labels == gone] = keep
        del own[gone]
        own[keep] = _balanced_cut(graph[labels == keep][:, labels == keep])


def evidence_accumulation(graph, seed: int) -> np.ndarray:
    graph = sp.csr_matrix(graph)
    n, edges = graph.shape[0], sp.triu(graph, 1).tocoo()
    runs = [communities(graph, r, seed + run) for r in RESOLUTIONS for run in range(STABILITY_RUNS)]
    together = np.mean([labels[edges.row] == labels[edges.col] for labels in runs], axis=0)
    whole = together >= 1.0  # pieces that no run divides
    piece = connected_components(sp.csr_matrix((np.ones(whole.sum()), (edges.row[whole], edges.col[whole])),
                                                shape=(n, n)), directed=False)[1]
    a, b = piece[edges.row], piece[edges.col]
    links: dict[int, dict[int, list[float]]] = {}
    for i, j, share in zip(a[a != b], b[a != b], together[a != b]):  # sum and count of shares between pieces
        entry = links.setdefault(int(i), {}).setdefault(int(j), [0.0, 0])
        entry[0] += share
        entry[1] += 1
        links.setdefault(int(j), {})[int(i)] = entry
    size = np.bincount(piece).astype(float)
    heap = [(-s / c, i, j) for i in links for j, (s, c) in links[i].items() if i < j]
    heapq.heapify(heap)
    parent, merges, big = np.arange(len(size)), [], int(np.sum(size >= MIN_SIZE))
    while heap:
        similarity, i, j = heapq.heappop(heap)
        if j not in links.get(i, {}) or -similarity != links[i][j][0] / links[i][j][1]:
            continue  # merged away, or an older score
        big -= int(size[i] >= MIN_SIZE) + int(size[j] >= MIN_SIZE)
        size[i] += size[j]
        big += int(size[i] >= MIN_SIZE)
        parent[j] = i
        for t, (s, c) in links.pop(j).items():
            del links[t][j]
            if t != i:
                entry = links[i].setdefault(t, [0.0, 0])
                entry[0] += s
                entry[1] += c
                links[t][i] = entry
                heapq.heappush(heap, (-entry[0] / entry[1], min(i, t), max(i, t)))
        merges.append((1.0 + similarity, big, i, j))
    # Each state of the dendrogram lives from the merge that makes its count to the next that
    # changes it; the longest-lived state wins (its count and the merges that lead to it).
    states, start, count, done = [], 0.0, int(np.sum(np.bincount(piece) >= MIN_SIZE)), 0
    for index, (distance, big, _, _) in enumerate(merges):
        if big != count:
            states.append((distance - start, done))
            start, count, done = distance, big, index + 1
    states.append((1.0 - start, done))
    chosen = max(states)[1]
    parent = np.arange(len(size))
    for _, _, i, j in merges[:chosen]:
        parent[j] = i
    for index in range(len(parent)):  # follow each piece to its root
        root = index
        while parent[root] != root:
            root = parent[root]
        parent[index] = root
    return absorb_small(graph, np.unique(parent[piece], return_inverse=True)[1], MIN_SIZE)[0]


def hdbscan(codes, method: str) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=MIN_SIZE, cluster_selection_method=method).fit_predict(codes)


def umap_hdbscan(codes, seed: int) -> np.ndarray:
    import umap

    layout = umap.UMAP(n_components=10, n_neighbors=neighbors_for(len(codes)), min_dist=0.0,
                       random_state=seed).fit_transform(codes)
    return hdbscan(layout, "eom")


def criteria(codes: np.ndarray, seed: int, only=None) -> dict:
    """Every criterion's labels for one set of codes (those named in ``only``, when given)."""
    graph = point_graph(codes, random_state=seed)
    on_points = graph.to_points
    rules = dict(min_size=MIN_SIZE, chain_share=0.8, random_state=seed)
    fine = dict(fine=graph.fine, fine_min_size=max(MIN_SIZE, graph.n_neighbors))
    run = {"stability": lambda: on_points(partition(graph.graph, **rules, **fine)),
           "stability, no fine split": lambda: on_points(partition(graph.graph, **rules))}
    for resolution in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0):
        run[f"louvain {resolution:g}"] = lambda r=resolution: on_points(partition(graph.graph, resolution=r, **rules))
    for share in (0.5, 0.7):
        run[f"consensus {share:g}"] = lambda t=share: on_points(consensus(graph.graph, t, seed))
    for ratio in (0.5, 1.0):
        run[f"relative cut {ratio:g}"] = lambda t=ratio: on_points(relative_cut(graph.graph, t, seed))
    run["evidence accumulation"] = lambda: on_points(evidence_accumulation(graph.graph, seed))
    run["evidence accumulation, rules"] = lambda: on_points(apply_rules(
        graph.graph, evidence_accumulation(graph.graph, seed), **rules, **fine))
    run["hdbscan eom"] = lambda: hdbscan(codes, "eom")
    run["hdbscan leaf"] = lambda: hdbscan(codes, "leaf")
    run["umap+hdbscan"] = lambda: umap_hdbscan(codes, seed)
    unknown = set(only or ()) - set(run)
    if unknown:
        raise ValueError(f"unknown criteria {sorted(unknown)}; choose from {list(run)}")
    return {name: make() for name, make in run.items() if only is None or name in only}


# ----------------------------------------------------------------------------- runs


def trunk_codes(data, seed: int, args) -> np.ndarray:
    path = args.codes / f"{data.name}-{seed}.npz" if args.codes else None
    if path is not None and path.is_file():
        return np.load(path)["codes"]
    model = MixAEGraph(trunk={"epochs": args.trunk_epochs}, experts={"epochs": 1}, image_shape=data.image_shape,
                       random_state=seed).fit(data.X)
    codes = model.module_.trunk_codes(torch.as_tensor(data.X)).numpy()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, codes=codes)
    return codes


def within(found: float, classes: int) -> bool:
    """The issue's target: one cluster on pure noise, otherwise within 20% of the classes."""
    return found == 1 if classes == 1 else abs(found - classes) <= 0.2 * classes


def subsample_table(records: list[dict], sets: list[str], names: list[str], classes: dict) -> list[str]:
    """Each criterion's range of counts (and mean ACC) over the 80% subsamples of every set."""
    lines = ["", "## On 80% subsamples of the same codes", "",
             "Each cell: fewest-most clusters found over the subsamples (and seeds) / mean ACC. **Bold**: "
             "every subsample's count within 20% of the classes. `steady`: sets where that holds.", "",
             "| criterion | " + " | ".join(f"{s} ({classes[s]})" for s in sets) + " | steady | mean ACC |",
             "|---|" + "---|" * (len(sets) + 2)]
    for name in names:
        cells, hits, accs = [], 0, []
        for data in sets:
            rows = [r for r in records if r["criterion"] == name and r["dataset"] == data]
            found = [r["clusters"] for r in rows]
            accs.append(np.mean([r["acc"] for r in rows]))
            good = all(within(f, classes[data]) for f in found)
            hits += good
            text = f"{min(found)}-{max(found)} / {accs[-1]:.3f}"
            cells.append(f"**{text}**" if good else text)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {hits}/{len(sets)} | {np.mean(accs):.3f} |")
    return lines


def markdown(records: list[dict], info: dict) -> str:
    subsampled = [r for r in records if r.get("sample", "all") != "all"]
    records = [r for r in records if r.get("sample", "all") == "all"]
    sets = list(dict.fromkeys(r["dataset"] for r in records))
    names = list(dict.fromkeys(r["criterion"] for r in records))
    mean = {}
    for name in names:
        for data in sets:
            rows = [r for r in records if r["criterion"] == name and r["dataset"] == data]
            mean[name, data] = (np.mean([r["clusters"] for r in rows]), np.mean([r["acc"] for r in rows]))
    classes = {r["dataset"]: r["classes"] for r in records}
    lines = [
        "# How many clusters: criteria compared on the same trunk codes", "",
        f"Command: `{info['command']}`  ", f"Date: {info['date']}  ", f"Seeds: {' '.join(map(str, info['seeds']))}",
        "", "Each cell: clusters found / ACC (means over the seeds). **Bold**: the count is within 20% of "
        "the classes (pure noise: one cluster). `in range`: how many sets the criterion counts right.", "",
        "| criterion | " + " | ".join(f"{s} ({classes[s]})" for s in sets) + " | in range | mean ACC |",
        "|---|" + "---|" * (len(sets) + 2),
    ]
    for name in names:
        cells, hits = [], 0
        for data in sets:
            found, acc = mean[name, data]
            good = within(found, classes[data])
            hits += good
            text = f"{found:.3g} / {acc:.3f}"
            cells.append(f"**{text}**" if good else text)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {hits}/{len(sets)} | "
                     f"{np.mean([mean[name, s][1] for s in sets]):.3f} |")
    if subsampled:
        lines += subsample_table(subsampled, sets, names, classes)
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_SETS), choices=quality.NAMED)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--trunk-epochs", type=int, default=50)
    parser.add_argument("--codes", type=Path, default=None, help="folder that keeps the codes of each fit")
    parser.add_argument("--criteria", nargs="+", default=None, help="only these criteria (default: all)")
    parser.add_argument("--subsamples", type=int, default=0, help="also partition this many 80%% subsamples")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args(argv)
    quality.quiet_lightning()
    qargs = quality.parse_args(["--datasets", *args.datasets])
    info = {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "seeds": args.seeds}
    records = []
    for data in quality.load_all(qargs):
        classes = len(np.unique(data.y))
        for seed in args.seeds:
            started = time.perf_counter()
            codes = trunk_codes(data, seed, args)
            samples = [("all", np.arange(len(codes)))] + [
                (f"80% {i}", np.sort(np.random.default_rng(1000 * seed + i).permutation(len(codes))[
                    : int(0.8 * len(codes))])) for i in range(args.subsamples)]
            for sample, rows in samples:
                for name, labels in criteria(codes[rows], seed, args.criteria).items():
                    labels = np.asarray(labels)
                    found = len(np.unique(labels[labels >= 0]))
                    records.append({"dataset": data.name, "seed": seed, "sample": sample, "criterion": name,
                                    "classes": classes, "clusters": found,
                                    "acc": float(cluster_accuracy(data.y[rows], labels)),
                                    "noise": float(np.mean(labels < 0))})
                print(f"{data.name} seed {seed} {sample}: " + ", ".join(
                    f"{r['criterion']} {r['clusters']}" for r in records if r["dataset"] == data.name
                    and r["seed"] == seed and r["sample"] == sample) + f" ({time.perf_counter() - started:.0f} s)",
                    flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "count-criteria.json").write_text(json.dumps({"info": info, "records": records}, indent=1))
        text = markdown(records, info)
        (args.out / "count-criteria.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
