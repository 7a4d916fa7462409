"""Clustering quality of mixae-graph against standard baselines, side by side.

Run from the project root (see benchmarks/README.md):

    python benchmarks/quality.py --quick
    python benchmarks/quality.py --datasets moons circles spirals digits --seeds 0 1 2

For every data set and seed, every method runs in this one process on the same data and is timed
(wall seconds). Scores: ACC (Hungarian-matched accuracy), NMI, ARI and the number of clusters found,
from :func:`mixae_graph.metrics.evaluate`. Results go to ``<out>/quality.md`` (tables: mean ± spread,
spread = max - min over seeds) and ``<out>/quality.json`` (every per-seed number).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache/numba"))
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.cluster import HDBSCAN, KMeans, SpectralClustering  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from baselines import N2D, batches, standardize  # noqa: E402  (benchmarks/baselines.py)
from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.blur import gaussian_blur  # noqa: E402
from mixae_graph.datasets import ClusterData, load_dataset, load_file  # noqa: E402
from mixae_graph.experts import ExpertBank  # noqa: E402
from mixae_graph.graph import embed, neighbors_for  # noqa: E402
from mixae_graph.metrics import match_labels  # noqa: E402
from mixae_graph.stress import STRESS_SETS, make_portraits, make_small_digits, make_stress, make_turntable  # noqa: E402
from mixae_graph.tree import cut_tree  # noqa: E402
from mixae_graph.metrics import evaluate  # noqa: E402
from mixae_graph.objective import mixae_objective  # noqa: E402
from mixae_graph.routing import reconstruction_error, soft_assignment, spread  # noqa: E402

METHODS = (
    "mixae-graph",
    "mixae-graph K",
    # Rows read off the default fit (no refit): the graph's first partition before any expert
    # trained, and the same trunk's codes laid out by UMAP and cut by a Gaussian mixture at the
    # count found (N2D with mixae-graph's preprocessing).
    "first partition",
    # The first partition smoothed over the graph by the E-step's label spreading, once per expert
    # epoch, with no expert: what the graph alone makes of it, so that the full model's row shows
    # what the experts add beyond it.
    "graph alone",
    "trunk only",
    # Ablations: the default with one part switched off.
    "border term",
    "no graph smoothing",
    "no input view",
    "no contrast",
    "mixae-graph no blur",
    # Fit on 80%, ACC of predict on the held-out 20% (clusters matched to classes on the 80%).
    "held-out predict",
    "k-means",
    "spectral",
    "UMAP+HDBSCAN",
    "N2D",
    "N2D preprocessed",
    "MIXAE ablation",
)
NO_K = ("mixae-graph", "first partition", "graph alone", "trunk only", "border term", "no graph smoothing",
        "no input view", "no contrast", "mixae-graph no blur", "held-out predict", "UMAP+HDBSCAN")
STRESS = tuple(f"stress-{name}" for name in STRESS_SETS)
# Image sets shaped like the hidden ones, built from MNIST-10k digits: 40 "people" x 10 photos
# (4 digits of each class, each photographed with its own pose, light and noise), and 20 objects
# (2 of each class) seen from 72 angles on a turntable.
IMAGE_STRESS = ("img-portraits", "img-turntable", "img-digits16")
NAMED = ("moons", "circles", "spirals", "digits", "mnist", "fashion") + STRESS + IMAGE_STRESS
FILES = {"mnist": ROOT.parent / "shared/data/mnist10k.npz", "fashion": ROOT.parent / "shared/data/fashion10k.npz"}


# ----------------------------------------------------------------------------- helpers


def quiet_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*n_jobs value.*overridden.*")  # umap with random_state
    warnings.filterwarnings("ignore", ".*LeafSpec.*")  # lightning's pytree shim on new torch


def warm_numba() -> None:
    """Compile UMAP's numba kernels once, so the first timed UMAP does not pay for compilation."""
    import umap

    rng = np.random.default_rng(0)
    umap.UMAP(n_components=2, n_neighbors=5, n_epochs=5, random_state=0).fit_transform(
        rng.normal(size=(200, 5)).astype(np.float32)
    )


# ----------------------------------------------------------------------------- methods


FITTED = {}  # (data set, seed) -> the default fit, which the derived rows read


def fit_mixae_graph(data, X, seed, args, experts=None, **options):
    """The library's defaults at the benchmark's epochs and ``--set``; ``experts`` and ``options``
    add a row's own settings."""
    groups = {"trunk": {"epochs": args.trunk_epochs}, "experts": {"epochs": args.expert_epochs}, "graph": {}}
    top = {}
    for name, value in args.settings:
        group, _, key = name.rpartition(".")
        (groups[group] if group else top)[key] = value
    groups["experts"].update(experts or {})
    groups["graph"].update(options.pop("graph", {}))
    return MixAEGraph(**groups, image_shape=data.image_shape, random_state=seed, **{**top, **options}).fit(X)


def setting(text: str) -> tuple[str, object]:
    """``--set`` values: ``experts.latent_dim=3``, ``graph.smoothing=0``, ``min_cluster_size=8``
    (the value read as JSON: numbers, lists, null)."""
    name, sep, value = text.partition("=")
    group = name.rpartition(".")[0]
    if not sep or group not in ("", "trunk", "experts", "graph"):
        raise argparse.ArgumentTypeError(f"expected GROUP.NAME=VALUE with GROUP trunk, experts or graph, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value {value!r} is not JSON (a number, a list, null)")


def run_mixae_graph(data, K, seed, args, with_k: bool, **options):
    """Default settings, no K; with K: ``n_clusters=K``. The data's image shape is passed as a
    user would. The default fit also reports predict's ACC and its agreement with ``labels_``, and
    on a two-level set how well the tree's cut at the coarse level finds the families."""
    model = fit_mixae_graph(data, data.X, seed, args, n_clusters=K if with_k else None, **options)
    predicted = model.predict(data.X)
    extra = {"n_experts": int(model.n_experts_), "predict_acc": evaluate(data.y, predicted)["acc"],
             "predict_agreement": float(np.mean(predicted == model.labels_))}
    if data.name == "stress-hierarchy" and model.n_experts_ >= 4:
        from sklearn.metrics import adjusted_rand_score

        coarse = cut_tree(model.cluster_tree_, 4)
        families = np.array([coarse[int(s)] for s in model.module_.state.final_slots])
        extra["coarse_ari"] = float(adjusted_rand_score(data.y // 3, families))
    if not with_k and not options:
        FITTED[(data.name, seed)] = model
    return model.labels_, extra


def default_fit(data, K, seed, args):
    if (data.name, seed) not in FITTED:
        run_mixae_graph(data, K, seed, args, with_k=False)
    return FITTED[(data.name, seed)]


def run_first_partition(data, K, seed, args):
    return default_fit(data, K, seed, args).initial_labels_, {}


def run_graph_alone(data, K, seed, args):
    """The default fit's first partition, then as many E-steps as the fit had with the graph's
    label spreading alone (each point's one-hot part, smoothed over the same graph with the same
    weight, :func:`mixae_graph.routing.spread`): the experts' likelihoods left out."""
    module = default_fit(data, K, seed, args).module_
    graph = module.state.graph
    labels = module.state.initial_slots[graph.landmarks]
    within = graph.within_fine_parts()
    for _ in range(module.hparams.experts.epochs):
        parts, column = np.unique(labels, return_inverse=True)
        one_hot = np.eye(len(parts))[column]
        one_hot[labels < 0] = 0  # isolated specks: their neighbours decide
        labels = parts[spread(one_hot, within, module.hparams.graph.smoothing).argmax(1)]
    return graph.to_points(labels), {}


def run_trunk_only(data, K, seed, args):
    """The default fit's trunk codes, UMAP to 10 dimensions, a full-covariance Gaussian mixture with
    as many parts as the fit found clusters (N2D's recipe on mixae-graph's trunk)."""
    from sklearn.mixture import GaussianMixture

    model = default_fit(data, K, seed, args)
    k = len(np.unique(model.labels_))
    codes = model.module_.trunk_codes(torch.as_tensor(data.X)).numpy()
    layout = embed(codes, 10, model.module_.hparams.graph.n_neighbors or neighbors_for(len(codes)), seed)
    return GaussianMixture(k, covariance_type="full", random_state=seed).fit_predict(layout), {}


def run_held_out(data, K, seed, args):
    """Fit on 80% of each class; ``labels_`` scored on the 80%, ``predict`` on the other 20% with
    the clusters matched to classes on the 80% (the row's ACC is the held-out one).

    The fifth is drawn class by class (stratified), as scikit-learn's ``StratifiedShuffleSplit``:
    drawn at random from 40 groups of 10, some groups keep 4 points to fit on, under
    ``min_cluster_size``, and then make up a large share of the held-out points, so the gap
    measured the draw rather than the router."""
    _, held = train_test_split(np.arange(data.n_samples), test_size=0.2, stratify=data.y, random_state=seed)
    train = np.ones(data.n_samples, dtype=bool)
    train[held] = False
    model = fit_mixae_graph(data, data.X[train], seed, args)
    y_train, y_test = data.y[train], data.y[~train]
    matched = match_labels(y_train, model.labels_)
    lookup = dict(zip(model.labels_.tolist(), matched.tolist()))

    def held_out_acc(clusters):  # the 20%'s clusters, matched to classes as the 80%'s were
        return float(np.mean([lookup.get(int(c), -1) == t for c, t in zip(clusters, y_test)]))

    predicted = model.predict(data.X[~train])
    test_acc = held_out_acc(predicted)
    train_acc = float(np.mean(matched == y_train))
    labels = np.empty(data.n_samples, dtype=np.int64)
    labels[train], labels[~train] = model.labels_, predicted
    # Where the gap comes from: the same held-out points voted by their 5 nearest training points in
    # the trunk's codes (the space of the fit's graph), and how much worse the best expert
    # reconstructs a held-out point than a training point (1: the experts have not memorised).
    module, X_train, X_test = model.module_, torch.as_tensor(data.X[train]), torch.as_tensor(data.X[~train])
    codes = KNeighborsClassifier(5).fit(module.trunk_codes(X_train).numpy(), model.labels_)
    knn_acc = held_out_acc(codes.predict(module.trunk_codes(X_test).numpy()))
    best_error = lambda X: float(module.expert_errors(X).min(1).values.mean())  # noqa: E731
    return labels, {"train_acc": train_acc, "test_acc": test_acc, "gap": train_acc - test_acc,
                    "codes_knn_acc": knn_acc, "error_ratio": best_error(X_test) / best_error(X_train)}


def run_kmeans(X, K, seed, args):
    return KMeans(n_clusters=K, n_init=10, random_state=seed).fit_predict(X), {}


def run_spectral(X, K, seed, args):
    # cluster_qr scales to the full data (no subsampling) and has no random restarts.
    model = SpectralClustering(
        n_clusters=K, affinity="nearest_neighbors", n_neighbors=15,
        assign_labels="cluster_qr", random_state=seed,
    )
    return model.fit_predict(X), {}


def run_umap_hdbscan(X, K, seed, args):
    import umap

    codes = umap.UMAP(n_components=10, min_dist=0.0, n_neighbors=15, random_state=seed).fit_transform(X)
    labels = HDBSCAN(min_cluster_size=max(10, len(X) // 100), copy=True).fit_predict(codes)
    # Noise (-1) stays one more label for the metrics.
    return labels, {"noise_fraction": float(np.mean(labels == -1))}


def run_n2d(X, K, seed, args):
    """N2D (McConville et al. 2019): autoencoder, UMAP of the codes to K dims, full-covariance GMM."""
    model = N2D(K, epochs=args.trunk_epochs, random_state=seed).fit(X)
    return model.labels_, {"final_mse": model.final_mse_}


def run_n2d_preprocessed(data, K, seed, args):
    """N2D on the input mixae-graph's trunk sees: images blurred by the default ``image_blur``, a
    denoising autoencoder (the trunk's dropout)."""
    x = torch.as_tensor(data.X)
    if data.image_shape is not None:
        x = gaussian_blur(x, data.image_shape, MixAEGraph().image_blur)
    model = N2D(K, epochs=args.trunk_epochs, random_state=seed, dropout=0.2).fit(x.numpy())
    return model.labels_, {"final_mse": model.final_mse_}


def run_mixae_ablation(data, K, seed, args):
    """MIXAE without the graph: K small experts from random init, MIXAE objective, K fixed; images
    blurred as mixae-graph's default blurs them, so that only the graph differs."""
    torch.manual_seed(seed)
    x = torch.as_tensor(data.X, dtype=torch.float32)
    if data.image_shape is not None:
        x = gaussian_blur(x, data.image_shape, MixAEGraph().image_blur)
    x = standardize(x)
    bank = ExpertBank(x.shape[1], (128,), 10, max_experts=K)
    bank.active[:] = True  # every slot an expert, each with its own random init
    optimizer = torch.optim.Adam(bank.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(args.trunk_epochs + args.expert_epochs):
        for idx in batches(len(x), generator):
            errors = reconstruction_error(x[idx], bank(x[idx])[0])  # (batch, K)
            errors = errors / errors.detach().min(1).values.mean()  # relative to the typical error
            p = soft_assignment(errors, 0.1)
            loss, _ = mixae_objective(errors, p, p, alpha=0.1, beta=1.0, gamma=0.0, border_weight=0.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        errors = torch.cat([reconstruction_error(c, bank(c)[0]) for c in x.split(4096)])
    return errors.argmin(1).numpy(), {}


RUNNERS = {
    "mixae-graph": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False),
    "mixae-graph K": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=True),
    "first partition": run_first_partition,
    "graph alone": run_graph_alone,
    "trunk only": run_trunk_only,
    "border term": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False, experts={"border_weight": 0.3}),
    "no graph smoothing": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False, graph={"smoothing": 0.0}),
    # The first experts are the codes' graph's own parts, not the input-confirmed graph's at the same count.
    "no input view": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False, graph={"input_view": False}),
    "no contrast": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False, experts={"contrast": 0.0}),
    # Without the default image blur, no K: what the blur adds (the first row again on non-images).
    "mixae-graph no blur": lambda d, K, s, a: run_mixae_graph(d, K, s, a, with_k=False, image_blur=0.0),
    "held-out predict": run_held_out,
    "k-means": lambda d, K, s, a: run_kmeans(d.X, K, s, a),
    "spectral": lambda d, K, s, a: run_spectral(d.X, K, s, a),
    "UMAP+HDBSCAN": lambda d, K, s, a: run_umap_hdbscan(d.X, K, s, a),
    "N2D": lambda d, K, s, a: run_n2d(d.X, K, s, a),
    "N2D preprocessed": run_n2d_preprocessed,
    "MIXAE ablation": run_mixae_ablation,
}


# ----------------------------------------------------------------------------- data


def _subjects(mnist: ClusterData, per_class: int) -> np.ndarray:
    """``per_class`` MNIST digits of each class, drawn with a fixed seed: the portraits' people and
    the turntable's objects."""
    rng = np.random.default_rng(500)
    chosen = np.concatenate([rng.choice(np.flatnonzero(mnist.y == d), per_class, replace=False) for d in range(10)])
    return mnist.X[chosen]


# How each image stress set is built from MNIST-10k (the names of IMAGE_STRESS).
IMAGE_BUILDERS = {
    "img-portraits": lambda mnist, name: make_portraits(_subjects(mnist, 4), mnist.image_shape, random_state=0,
                                                        name=name),
    "img-turntable": lambda mnist, name: make_turntable(_subjects(mnist, 2), mnist.image_shape, name=name),
    "img-digits16": lambda mnist, name: make_small_digits(mnist.X, mnist.y, mnist.image_shape, name=name),
}


def image_stress(name: str, mnist: ClusterData) -> ClusterData:
    return IMAGE_BUILDERS[name](mnist, name)


def load_all(args) -> list[ClusterData]:
    out = []
    for name in args.datasets:
        if name in FILES:
            if not FILES[name].is_file():
                print(f"note: skipping {name}, {FILES[name]} is missing", flush=True)
                continue
            data = load_file(FILES[name])
            data = ClusterData(data.X, data.y, data.image_shape, name)
        elif name in STRESS:
            data = make_stress(name.removeprefix("stress-"))
            data = ClusterData(data.X, data.y, None, name)
        elif name in IMAGE_STRESS:
            if not FILES["mnist"].is_file():
                print(f"note: skipping {name}, {FILES['mnist']} is missing", flush=True)
                continue
            data = image_stress(name, load_file(FILES["mnist"]))
        else:
            data = load_dataset(name)
        out.append(data)
    for path in args.data:
        out.append(load_file(path))
    for data in out:
        if data.y is None:
            raise SystemExit(f"{data.name} has no labels y; the benchmark needs them")
    return out


# ----------------------------------------------------------------------------- report


def summarise(records: list[dict], datasets: list[str]) -> dict:
    table = {}
    for name in datasets:
        for method in METHODS:
            rows = [r for r in records if r["dataset"] == name and r["method"] == method and "error" not in r]
            failed = [r for r in records if r["dataset"] == name and r["method"] == method and "error" in r]
            entry = {"n_seeds": len(rows), "n_failed": len(failed)}
            for key in ("acc", "nmi", "ari", "n_clusters", "seconds") + EXTRAS:
                values = np.array([r[key] for r in rows if key in r], dtype=float)
                if len(values):
                    entry[key] = {"mean": float(values.mean()), "spread": float(values.max() - values.min())}
            table.setdefault(name, {})[method] = entry
    return table


EXTRAS = ("predict_acc", "predict_agreement", "train_acc", "test_acc", "gap", "codes_knn_acc", "error_ratio",
          "coarse_ari")


def router_table(summary: dict) -> list[str]:
    """predict against labels_, per data set: the default fit's predict ACC and agreement, the
    held-out fit's ACC on its 80% and predict's on the other 20%, and the tree's coarse level."""
    lines = ["| data | labels_ ACC | predict ACC | predict == labels_ | held-out: labels_ (80%) | predict (20%) | gap |"
             " 5-NN in trunk codes (20%) | held-out / training error | coarse level ARI |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, methods in summary.items():
        full, held = methods.get("mixae-graph", {}), methods.get("held-out predict", {})
        if "acc" not in full and "test_acc" not in held:
            continue
        cell = lambda e, k, f=".3f": f"{e[k]['mean']:{f}}" if k in e else ""  # noqa: E731
        lines.append(f"| {name} | {cell(full, 'acc')} | {cell(full, 'predict_acc')} | "
                     f"{cell(full, 'predict_agreement', '.4f')} | {cell(held, 'train_acc')} | {cell(held, 'test_acc')} | "
                     f"{cell(held, 'gap')} | {cell(held, 'codes_knn_acc')} | {cell(held, 'error_ratio', '.1f')} | "
                     f"{cell(full, 'coarse_ari')} |")
    return lines


def overview(summary: dict) -> list[str]:
    """One table for the README: ACC / ARI (mean clusters found) per method and data set."""
    names = list(summary)
    lines = ["| method | K given | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for method in METHODS:
        cells = []
        for name in names:
            entry = summary[name].get(method, {})
            cells.append("" if "acc" not in entry else f"{entry['acc']['mean']:.3f} / {entry['ari']['mean']:.3f} "
                                                       f"({entry['n_clusters']['mean']:.3g})")
        if any(cells):
            given = "no" if method in NO_K else "yes"
            lines.append(f"| {method} | {given} | " + " | ".join(cells) + " |")
    return lines


def markdown(summary: dict, info: dict) -> str:
    lines = [
        "# Clustering quality",
        "",
        f"Command: `{info['command']}`  ",
        f"Date: {info['date']}  ",
        f"Seeds: {' '.join(map(str, info['seeds']))}; epochs: trunk {info['trunk_epochs']}, "
        f"expert {info['expert_epochs']}; torch threads: {info['torch_threads']}; host: {info['host']}",
        "",
        "Each cell: mean ± spread (max - min) over the seeds. ACC is Hungarian-matched accuracy; "
        "\"clusters\" is the number of distinct labels (HDBSCAN's noise counts as one). Seconds are wall time. "
        "Overview: ACC / ARI (clusters found), means over the seeds.",
        "",
    ]
    lines += overview(summary) + [""]
    lines += ["## The router: predict against labels_", ""] + router_table(summary) + [""]
    formats = {"acc": ".3f", "nmi": ".3f", "ari": ".3f", "n_clusters": ".1f", "seconds": ".1f"}
    for name, methods in summary.items():
        d = info["datasets"][name]
        lines += [f"## {name} (n={d['n_samples']}, d={d['n_features']}, K={d['n_classes']})", ""]
        lines += ["| method | ACC | NMI | ARI | clusters | seconds |", "|---|---|---|---|---|---|"]
        for method, entry in methods.items():
            if entry["n_seeds"] == 0:
                if entry["n_failed"]:
                    lines.append(f"| {method} | failed (see quality.json) | | | | |")
                continue  # not run
            cells = [f"{entry[k]['mean']:{f}} ± {entry[k]['spread']:{f}}" for k, f in formats.items()]
            note = f" ({entry['n_failed']} seed(s) failed)" if entry["n_failed"] else ""
            lines.append(f"| {method}{note} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_results(records: list[dict], info: dict, out: Path) -> str:
    summary = summarise(records, list(info["datasets"]))
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(summary, info)
    (out / "quality.md").write_text(text + "\n")
    (out / "quality.json").write_text(json.dumps({**info, "records": records, "summary": summary}, indent=1) + "\n")
    return text


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed 0, moons and digits, trunk 20 / expert 5 epochs")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--datasets", nargs="*", default=None, choices=NAMED)
    parser.add_argument("--data", nargs="+", default=[], metavar="NPZ", help="extra .npz files with X and y")
    parser.add_argument("--trunk-epochs", type=int, default=None)
    parser.add_argument("--expert-epochs", type=int, default=None)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, metavar="METHOD",
                        help="subset of: " + ", ".join(METHODS))
    parser.add_argument("--set", dest="settings", type=setting, nargs="+", default=[], metavar="NAME=VALUE",
                        help="settings for every mixae-graph fit of the run (the ablations read off it too), "
                             "e.g. experts.latent_dim=3 graph.smoothing=0")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.seeds is None:
        args.seeds = [0] if quick else [0, 1, 2]
    if args.datasets is None:
        args.datasets = ["moons", "digits"] if quick else list(NAMED)
    if args.trunk_epochs is None:
        args.trunk_epochs = 20 if quick else 50
    if args.expert_epochs is None:
        args.expert_epochs = 5 if quick else 30
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_lightning()
    warm_numba()
    datasets = load_all(args)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    info = {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seeds": args.seeds,
        "trunk_epochs": args.trunk_epochs,
        "expert_epochs": args.expert_epochs,
        "settings": dict(args.settings),
        "torch_threads": torch.get_num_threads(),
        "host": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "datasets": {},
    }
    records = []
    text = "(no data set)"
    for data in datasets:
        K = int(len(np.unique(data.y)))
        info["datasets"][data.name] = {"n_samples": data.n_samples, "n_features": data.n_features, "n_classes": K}
        for seed in args.seeds:
            for method in args.methods:
                record = {"dataset": data.name, "seed": seed, "method": method}
                start = time.perf_counter()
                try:
                    labels, extra = RUNNERS[method](data, K, seed, args)
                    record["seconds"] = time.perf_counter() - start
                    record.update(evaluate(data.y, np.asarray(labels)), **extra)
                    print(f"{data.name:>8} seed {seed} {method:<15} acc {record['acc']:.3f} "
                          f"nmi {record['nmi']:.3f} ari {record['ari']:.3f} k {record['n_clusters']:>3} "
                          f"{record['seconds']:7.1f}s", flush=True)
                except Exception as exc:  # one broken method must not sink the others
                    record["seconds"] = time.perf_counter() - start
                    record["error"] = f"{type(exc).__name__}: {exc}"
                    print(f"{data.name:>8} seed {seed} {method:<15} FAILED {record['error']}", flush=True)
                    traceback.print_exc()
                records.append(record)
        text = write_results(records, info, args.out)  # after every data set, so a long run keeps its part

    print()
    print(text)
    print(f"wrote {args.out / 'quality.md'} and {args.out / 'quality.json'}")


if __name__ == "__main__":
    main()
