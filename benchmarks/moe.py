"""The clustering as the gate of a supervised mixture of experts: GatedExperts against its foils.

Run from the project root (see benchmarks/README.md):

    python benchmarks/moe.py --quick
    python benchmarks/moe.py                      # every task, seeds 0 1 2
    python benchmarks/moe.py --figure docs/images/gated_experts_regimes.png

Tasks: (a) few labels: MNIST-10k and Fashion-MNIST-10k with 100 and 1,000 labelled points, the gate
seeing all 10,000 and the score taken on the unlabelled rest; (b) regimes: four 2-D manifolds (two
interleaving moons, a ring, a blob) lifted to 10-D, each with its own linear function of the 2-D
position, half for training and half for testing; (c) scikit-learn's breast-cancer table, half and half.

Methods, all in this one process on the same split: GatedExperts with the mixae-graph gate (and its
ablations: pairs, no border, no shrinkage towards the tree); the same with a k-means gate at the mixae-graph gate's count (the
centroid foil); a mixture of experts with a learnt softmax gate, trained end to end on the labelled
points (Jacobs et al. 1991, same count); one global model of the experts' family; for (a) also
scikit-learn's LabelSpreading. The experts are LogisticRegression (classes) or Ridge (regression).
``update``: on the 1,000-label tasks, 100 new labelled points (10%) of one cluster arrive; its time and
accuracy against a full refit. Results: ``<out>/moe.md`` and ``<out>/moe.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache/numba"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.semi_supervised import LabelSpreading  # noqa: E402

from baselines import SoftmaxGateMoE  # noqa: E402
from quality import quiet_lightning, warm_numba  # noqa: E402
from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.datasets import load_file, make_regimes  # noqa: E402
from mixae_graph.moe import GatedExperts  # noqa: E402

FILES = {"mnist": ROOT.parent / "shared/data/mnist10k.npz", "fashion": ROOT.parent / "shared/data/fashion10k.npz"}
LABELS = (100, 1000)
TASKS = tuple(f"{name}-{n}" for name in FILES for n in LABELS) + ("regimes", "tabular")
METHODS = ("mixae-graph gate", "mixae-graph gate, pairs", "mixae-graph gate, no border",
           "mixae-graph gate, no shrinkage", "k-means gate",
           "learnt gate (Jacobs 1991)", "global model", "LabelSpreading")


def rmse(y, p):
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2)))


def accuracy(y, p):
    return float(np.mean(np.asarray(y) == np.asarray(p)))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def gated(gate, expert, **options):
    return GatedExperts(FrozenEstimator(gate), expert, **options)


def run_methods(X_lab, y_lab, X_test, y_test, X_unlabeled, gate, gate_s, expert, classifier, seed, spreading):
    """Every method on one split; the two gates are fitted already (on X_lab then X_unlabeled),
    their fit time ``gate_s`` (dict) is added to the fit time of the methods using them."""
    score = accuracy if classifier else rmse
    K = gate["mixae-graph"].labels_.max() + 1
    rows = {}

    def record(method, model, fit_s, predict=lambda m: m.predict(X_test)):
        prediction, predict_s = timed(predict, model)
        rows[method] = {"score": score(y_test, prediction), "fit_s": fit_s, "predict_s": predict_s,
                        "n_clusters": int(K)}
        print(f"    {method:<28} {rows[method]['score']:.4f}  fit {fit_s:6.1f}s  predict {predict_s:5.2f}s", flush=True)
        return model

    for method, options in (("mixae-graph gate", {}), ("mixae-graph gate, pairs", {"pairs": True}),
                            ("mixae-graph gate, no border", {"border": 0.0}),
                            ("mixae-graph gate, no shrinkage", {"shrinkage": 0.0})):
        model, s = timed(gated(gate["mixae-graph"], expert, **options).fit, X_lab, y_lab, X_unlabeled=X_unlabeled)
        record(method, model, s + gate_s["mixae-graph"])
    model, s = timed(gated(gate["k-means"], expert).fit, X_lab, y_lab, X_unlabeled=X_unlabeled)
    record("k-means gate", model, s + gate_s["k-means"])
    model, s = timed(SoftmaxGateMoE(int(K), classifier, random_state=seed).fit, X_lab, y_lab)
    record("learnt gate (Jacobs 1991)", model, s)
    model, s = timed(clone(expert).fit, X_lab, y_lab)
    record("global model", model, s)
    if spreading:  # transductive: the test points are the unlabelled ones
        everything = np.vstack([X_lab, X_unlabeled])
        marked = np.concatenate([y_lab, np.full(len(X_unlabeled), -1)])
        model, s = timed(LabelSpreading(kernel="knn", n_neighbors=10, max_iter=1000).fit, everything, marked)
        record("LabelSpreading", model, s, predict=lambda m: m.transduction_[len(X_lab):])
    return rows


# A folder where fitted gates are kept (``--gates``): a rerun that changes only the experts reuses them.
GATE_CACHE = None


def fit_gates(X, seed, image_shape=None, task=""):
    """The mixae-graph gate and the k-means gate at its count, fitted on ``X``, with their fit
    seconds; from ``GATE_CACHE`` when a gate fitted there on the same points is kept."""
    cached = GATE_CACHE / f"{task}-seed{seed}.pkl" if GATE_CACHE and task else None
    if cached is not None and cached.is_file():
        kept = pickle.loads(cached.read_bytes())
        if np.array_equal(kept["X"], X):
            print(f"  gates: from {cached}", flush=True)
            return kept["gates"], kept["seconds"]
    mixae, s_mixae = timed(MixAEGraph(image_shape=image_shape, random_state=seed).fit, X)
    K = int(mixae.labels_.max()) + 1
    kmeans, s_kmeans = timed(KMeans(K, n_init=10, random_state=seed).fit, X)
    print(f"  gates: mixae-graph {K} clusters in {s_mixae:.1f}s, k-means {s_kmeans:.1f}s", flush=True)
    gates, seconds = {"mixae-graph": mixae, "k-means": kmeans}, {"mixae-graph": s_mixae, "k-means": s_kmeans}
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps({"X": X, "gates": gates, "seconds": seconds}))
    return gates, seconds


def image_tasks(name, seed, updates):
    data = load_file(FILES[name])
    order = np.random.default_rng(seed).permutation(len(data.X))
    X, y = data.X[order], data.y[order]  # the labelled points first: one gate fit serves both counts
    gate, gate_s = fit_gates(X, seed, data.image_shape, task=name)
    expert = LogisticRegression(max_iter=1000)
    results = {}
    for n in LABELS:
        print(f"  {name}-{n}", flush=True)
        results[f"{name}-{n}"] = run_methods(X[:n], y[:n], X[n:], y[n:], X[n:], gate, gate_s, expert,
                                             True, seed, spreading=True)
    if updates:
        results[f"{name}-1000"]["update"] = update_row(X, y, gate, data.image_shape, expert, seed)
    return results


def update_row(X, y, gate, image_shape, expert, seed, n=1000):
    """100 new labelled points of the cluster with the most unlabelled points: ``update`` against a
    full refit (gate included), both scored on the unlabelled points that stay."""
    model = gated(gate["mixae-graph"], expert).fit(X[:n], y[:n], X_unlabeled=X[n:])
    labels = gate["mixae-graph"].labels_[n:]
    cluster = np.bincount(labels).argmax()
    rng = np.random.default_rng(seed)
    new = n + rng.choice(np.flatnonzero(labels == cluster), n // 10, replace=False)
    rest = np.setdiff1d(np.arange(n, len(X)), new)
    _, update_s = timed(model.update, X[new], y[new])
    refit, refit_s = timed(GatedExperts(MixAEGraph(image_shape=image_shape, random_state=seed), expert).fit,
                           np.vstack([X[:n], X[new]]), np.concatenate([y[:n], y[new]]), X_unlabeled=X[rest])
    row = {"update_s": update_s, "refit_s": refit_s, "ratio": update_s / refit_s,
           "update_acc": accuracy(y[rest], model.predict(X[rest])), "refit_acc": accuracy(y[rest], refit.predict(X[rest])),
           "retrained": len(model.updated_experts_), "experts": len(model.experts_) + len(model.pair_experts_)}
    print(f"    update: {update_s:.2f}s vs refit {refit_s:.1f}s ({row['ratio']:.3f}x); acc {row['update_acc']:.4f} "
          f"vs {row['refit_acc']:.4f}; {row['retrained']} of {row['experts']} experts retrained", flush=True)
    return row


def split_task(X, y, seed, classifier, expert, name):
    X_lab, X_test, y_lab, y_test = train_test_split(X, y, test_size=0.5, random_state=seed,
                                                    stratify=y if classifier else None)
    gate, gate_s = fit_gates(X_lab, seed, task=name)
    return run_methods(X_lab, y_lab, X_test, y_test, None, gate, gate_s, expert, classifier, seed, spreading=False)


def regimes_task(seed):
    data = make_regimes(2000, random_state=seed)
    return split_task(data.X, data.target, seed, False, Ridge(alpha=1e-3), "regimes")


def tabular_task(seed):
    bunch = load_breast_cancer()
    X = StandardScaler().fit_transform(bunch.data).astype(np.float32)
    return split_task(X, bunch.target, seed, True, LogisticRegression(max_iter=1000), "tabular")


def summarise(records):
    table = {}
    for task in TASKS:
        for method in METHODS + ("update",):
            rows = [r[task][method] for r in records if task in r and method in r[task]]
            if rows:
                table.setdefault(task, {})[method] = {
                    key: {"mean": float(np.mean([r[key] for r in rows])), "spread": float(np.ptp([r[key] for r in rows]))}
                    for key in rows[0]}
    return table


def markdown(summary, info):
    lines = ["# GatedExperts: the clustering as the gate of a supervised mixture of experts", "",
             f"Command: `{info['command']}`  ", f"Date: {info['date']}  ",
             f"Seeds: {' '.join(map(str, info['seeds']))}; host: {info['host']}; torch threads {info['torch_threads']}", "",
             "Scores: accuracy on the unlabelled points (image tasks), on the test half (tabular), RMSE on the "
             "test half (regimes: lower is better). Each cell: mean ± spread (max - min) over the seeds. Fit "
             "seconds include the gate's fit where a method has one (the same gate serves its three rows).", "",
             "| task | " + " | ".join(METHODS) + " | gate clusters |", "|---|" + "---|" * (len(METHODS) + 1)]
    for task, methods in summary.items():
        cells = [f"{methods[m]['score']['mean']:.3f} ± {methods[m]['score']['spread']:.3f}" if m in methods else ""
                 for m in METHODS]
        k = methods["mixae-graph gate"]["n_clusters"]["mean"]
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {k:.3g} |")
    lines += ["", "Fit / predict seconds (means):", "", "| task | " + " | ".join(METHODS) + " |",
              "|---|" + "---|" * len(METHODS)]
    for task, methods in summary.items():
        cells = [f"{methods[m]['fit_s']['mean']:.1f} / {methods[m]['predict_s']['mean']:.2f}" if m in methods else ""
                 for m in METHODS]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    updates = {task: m["update"] for task, m in summary.items() if "update" in m}
    if updates:
        lines += ["", "`update` with 100 new labelled points (10%) in one cluster, against a full refit (gate included):",
                  "", "| task | update s | refit s | update / refit | update ACC | refit ACC | experts retrained |",
                  "|---|---|---|---|---|---|---|"]
        for task, u in updates.items():
            lines.append(f"| {task} | {u['update_s']['mean']:.2f} | {u['refit_s']['mean']:.1f} | {u['ratio']['mean']:.4f} | "
                         f"{u['update_acc']['mean']:.4f} | {u['refit_acc']['mean']:.4f} | "
                         f"{u['retrained']['mean']:.3g} of {u['experts']['mean']:.3g} |")
    return "\n".join(lines)


def figure(path: Path, seed: int = 0) -> None:
    """Which expert serves which region on the regimes task (test half, in the manifolds' own 2-D
    coordinates), for the mixae-graph gate and the k-means gate at the same count, as in the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import mixae_graph.plot as mplot

    data = make_regimes(2000, random_state=seed)
    train, test = train_test_split(np.arange(len(data.X)), test_size=0.5, random_state=seed)
    gate, _ = fit_gates(data.X[train], seed)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for ax, (name, fitted) in zip(axes, gate.items()):
        model = gated(fitted, Ridge(alpha=1e-3)).fit(data.X[train], data.target[train])
        error = rmse(data.target[test], model.predict(data.X[test]))
        mplot.gated_experts(model, data.X[test], data.coordinates[test], ax=ax)
        ax.set_title(f"{name} gate: RMSE {error:.3f}", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 0, regimes and tabular only")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--tasks", nargs="+", default=None, choices=("mnist", "fashion", "regimes", "tabular"))
    parser.add_argument("--updates", nargs="*", default=["mnist"], choices=("mnist", "fashion"),
                        help="image sets whose 1,000-label task also times update against a refit")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    parser.add_argument("--gates", type=Path, default=None,
                        help="keep the fitted gates in this folder and reuse them on a rerun (same task, seed and points)")
    parser.add_argument("--figure", type=Path, default=None,
                        help="only draw which expert serves which region on the regimes task (seed 0) to this PNG")
    args = parser.parse_args(argv)
    if args.figure is not None:
        quiet_lightning()
        return figure(args.figure)
    global GATE_CACHE
    GATE_CACHE = args.gates
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    tasks = args.tasks or (["regimes", "tabular"] if args.quick else ["mnist", "fashion", "regimes", "tabular"])
    quiet_lightning()
    warm_numba()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    info = {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "seeds": seeds,
            "host": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
            "torch_threads": torch.get_num_threads()}
    records = []
    for seed in seeds:
        record = {"seed": seed}
        for task in tasks:
            print(f"seed {seed} {task}", flush=True)
            if task in FILES:
                if not FILES[task].is_file():
                    print(f"note: skipping {task}, {FILES[task]} is missing")
                    continue
                record.update(image_tasks(task, seed, task in args.updates))
            else:
                record[task] = {"regimes": regimes_task, "tabular": tabular_task}[task](seed)
        records.append(record)
        summary = summarise(records)
        args.out.mkdir(parents=True, exist_ok=True)
        text = markdown(summary, info)
        (args.out / "moe.md").write_text(text + "\n")
        (args.out / "moe.json").write_text(json.dumps({**info, "records": records, "summary": summary}, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
