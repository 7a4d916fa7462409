"""Speed and memory of mixae-graph against the N2D baseline, side by side, in one run.

Run from the project root (see benchmarks/README.md):

    python benchmarks/speed.py --quick      # smoke run, writes results/speed-quick.{md,json}
    python benchmarks/speed.py              # MNIST 10k, predict throughput, scaling 10k/30k/100k

Parts: (0) ``small``: the many-small-clusters stress set (400 points, 40 groups of 10, 300-D) fitted
end to end with library defaults by mixae-graph, UMAP + HDBSCAN and N2D (at mixae-graph's epochs),
each in its own child after the same warm-up; (1) ``fit`` on MNIST: wall seconds, peak memory, ACC/NMI of mixae-graph (library defaults)
and N2D (same autoencoder, trained trunk + expert epochs), then the out-of-sample ``predict``
throughput of both fitted models; (2) mixae-graph's seconds per epoch and peak memory on 100-D
synthetic data of growing size. Every fit runs in its own spawned child process, so
``ru_maxrss`` belongs to that fit alone; each child warms up UMAP's numba kernels first, untimed.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST_PATH = ROOT.parent / "shared/data/mnist10k.npz"
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache/numba"))
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402

from baselines import N2D  # noqa: E402  (benchmarks/baselines.py)
from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.datasets import lift, load_file  # noqa: E402
from mixae_graph.metrics import evaluate  # noqa: E402
from mixae_graph.settings import Experts, Trunk  # noqa: E402

METHODS = ("mixae-graph", "N2D")
SMALL_METHODS = ("mixae-graph", "UMAP+HDBSCAN", "N2D")
SCALING = {"trunk_epochs": 2, "expert_epochs": 4, "merge_every": 2}  # graph, experts, 1 merge round, routing
PARTS = ["small", "mnist", "scaling", "fashion"]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist (see shared/data/README.md)
WARM_UP = "each child first compiles/loads UMAP's numba kernels (latent_graph, UMAP fit + transform), untimed"


# ----------------------------------------------------------------------------- in the child process


def warm_up() -> None:
    import umap

    from mixae_graph.graph import latent_graph

    warnings.filterwarnings("ignore", ".*n_jobs value.*overridden.*")
    X = np.random.default_rng(0).normal(size=(200, 10)).astype(np.float32)
    latent_graph(X)
    umap.UMAP(n_components=2, random_state=0).fit(X).transform(X[:20])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def load(source: tuple, seed: int):
    """``(X, y, image_shape)``. ``("mnist", path, n)``: n rows (all if None), shuffled (the file
    is sorted by class); ``("synthetic", n)``: 10 Gaussian clusters in 10-D lifted to 100-D;
    ``("stress", name)``: :func:`mixae_graph.stress.make_stress`."""
    if source[0] == "fashion":  # all 70,000 (train + test IDX files), or the first n of them
        images = np.concatenate([read_idx(Path(source[1]) / f"{part}-images-idx3-ubyte.gz") for part in ("train", "t10k")])
        labels = np.concatenate([read_idx(Path(source[1]) / f"{part}-labels-idx1-ubyte.gz") for part in ("train", "t10k")])
        order = np.random.default_rng(seed).permutation(len(images))[: source[2]]
        return (images[order].reshape(len(order), -1) / np.float32(255)).astype(np.float32), labels[order].astype(np.int64), (28, 28)
    if source[0] == "stress":
        from mixae_graph.stress import make_stress

        data = make_stress(source[1], random_state=seed)
        return data.X, data.y, None
    if source[0] == "mnist":
        data = load_file(source[1])
        order = np.random.default_rng(seed).permutation(data.n_samples)[: source[2]]
        return data.X[order], data.y[order], data.image_shape
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, source[1])
    Z = rng.normal(scale=4.0, size=(10, 10))[y] + rng.normal(size=(source[1], 10))
    return lift((Z - Z.mean(0)) / Z.std(0), 100, seed=seed), y, None


class UmapHdbscan:
    """The quality benchmark's UMAP + HDBSCAN peer (:func:`quality.run_umap_hdbscan`) as an estimator."""

    def __init__(self, random_state: int):
        self.random_state = random_state

    def fit(self, X):
        from quality import run_umap_hdbscan

        self.labels_, _ = run_umap_hdbscan(X, None, self.random_state, None)
        return self


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip'd), as Fashion-MNIST ships: magic, dimensions, then unsigned bytes."""
    import gzip

    raw = gzip.open(path).read()
    n_dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def make(method: str, K: int, settings: dict, seed: int, image_shape=None):
    if method == "mixae-graph":
        groups = dict(trunk={"epochs": settings["trunk_epochs"]}, experts={"epochs": settings["expert_epochs"]})
        if "merge_every" in settings:
            groups["graph"] = {"merge_every": settings["merge_every"]}
        return MixAEGraph(**groups, image_shape=image_shape, random_state=seed)
    if method == "UMAP+HDBSCAN":
        return UmapHdbscan(seed)
    return N2D(K, epochs=settings["trunk_epochs"] + settings["expert_epochs"], random_state=seed)


def fit_job(method: str, source: tuple, settings: dict, seed: int, predict_points: int = 0,
            repeats: int = 3) -> dict:
    """Fit; then, with ``predict_points``, time the out-of-sample path on that many new points: the
    training rows plus a little noise (1% of the data's scale), tiled. (Not the training rows
    themselves: ``UMAP.transform`` returns the stored embedding when given exactly its training data.)"""
    warm_up()
    X, y, image_shape = load(source, seed)
    before = peak_mb()
    model = make(method, len(np.unique(y)), settings, seed, image_shape)
    seconds = timed(model.fit, X)
    out = {"seconds": seconds, "peak_mb": peak_mb(), "before_fit_mb": before, "threads": torch.get_num_threads()}
    out.update(evaluate(y, model.labels_), n=len(X))
    if predict_points:
        noise = np.random.default_rng(seed + 1).normal(size=X.shape).astype(X.dtype)
        new = X + 0.01 * X.std() * noise
        predicted = evaluate(y, model.predict(new))  # also warms the predict path
        batch = np.tile(new, (-(-predict_points // len(new)), 1))[:predict_points]
        took = float(np.median([timed(model.predict, batch) for _ in range(repeats)]))
        out["predict"] = {"acc": predicted["acc"], "nmi": predicted["nmi"], "points": predict_points,
                          "repeats": repeats, "seconds": took, "points_per_s": predict_points / took}
    return out


def in_child(fn, *args) -> dict:
    """Run ``fn(*args)`` in a fresh spawned process; a failure (or a killed child) becomes ``{"error": ...}``."""
    try:
        with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            return pool.submit(fn, *args).result()
    except Exception as exc:  # one failure must not sink the rest of a long run
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


# ----------------------------------------------------------------------------- report


def cell(record: dict, key: str, fmt: str) -> str:
    return "failed" if "error" in record else "n/a" if record.get(key) is None else format(record[key], fmt)


def ratio(a: dict, b: dict, key: str) -> str:
    return "n/a" if "error" in a or "error" in b else f"{a[key] / b[key]:.2f}"


def table(head: str, rows: list, cols: list) -> list[str]:
    """Markdown table: ``head`` the column names after the first; ``rows`` (label, record); ``cols`` (key, format)."""
    names = head.split(", ")
    return ["| " + " | ".join(names) + " |", "|---" * len(names) + "|"] + [
        f"| {label} | " + " | ".join(cell(r, key, fmt) for key, fmt in cols) + " |" for label, r in rows]


def markdown(res: dict) -> str:
    lines = ["# Speed and memory", "", f"Command: `{res['command']}`  ", f"Date: {res['date']}  ",
             f"Machine: {res['machine']}  ", f"Warm-up: {WARM_UP}. Peak memory is the child's `ru_maxrss` "
             "after the fit (imports, data and warm-up included; `before fit` is the same before it).", ""]
    for part, date in res.get("kept_from", {}).items():
        lines[-1:-1] = ["", f"The {part} part is kept from the run of {date} (not rerun this time)."]
    if "small" in res:
        m = res["small"]
        lines += [f"## Small data: {m['name']} (n={m['n']}, {m['classes']} classes, seed {res['seed']}), end to end", ""]
        lines += table("method, fit s, ACC, NMI, clusters", [(name, m[name]) for name in SMALL_METHODS],
                       [("seconds", ".1f"), ("acc", ".3f"), ("nmi", ".3f"), ("n_clusters", "d")])
        lines += ["", f"Time ratio mixae-graph / UMAP+HDBSCAN: **{ratio(m['mixae-graph'], m['UMAP+HDBSCAN'], 'seconds')}** "
                      f"(target ≤ 1.0); mixae-graph / N2D: {ratio(m['mixae-graph'], m['N2D'], 'seconds')}. "
                      "Library defaults for mixae-graph (epochs included); N2D at the same total epochs.", ""]
    if "mnist" in res:
        m = res["mnist"]
        a, b = m["mixae-graph"], m["N2D"]
        lines += [f"## Fit on MNIST (n={m['n']}, seed {res['seed']})", ""]
        lines += table("method, epochs, fit s, peak MB, before fit MB, ACC, NMI, clusters",
                       [(f"{name} | {m['epochs'][name]}", m[name]) for name in METHODS],
                       [("seconds", ".1f"), ("peak_mb", ".0f"), ("before_fit_mb", ".0f"), ("acc", ".3f"),
                        ("nmi", ".3f"), ("n_clusters", "d")])
        lines += ["", f"Time ratio mixae-graph / N2D: **{ratio(a, b, 'seconds')}**; "
                      f"peak memory ratio: {ratio(a, b, 'peak_mb')}.", ""]
    if "predict" in res:
        p = res["predict"]
        a, b = p["mixae-graph"], p["N2D"]
        lines += [f"## Out-of-sample predict (the MNIST fits above, predicting {p.get('points')} points, "
                  f"median of {p.get('repeats')} runs)", ""]
        lines += table("method, predict s, points/s, predict ACC, predict NMI", [(n, p[n]) for n in METHODS],
                       [("seconds", ".2f"), ("points_per_s", ",.0f"), ("acc", ".3f"), ("nmi", ".3f")])
        lines += ["", f"Throughput ratio mixae-graph / N2D: **{ratio(a, b, 'points_per_s')}** (above 1: mixae-graph "
                      "is faster). mixae-graph's path: the experts' reconstruction errors, argmin. N2D's path: "
                      "encode, `UMAP.transform`, `GaussianMixture.predict`. The points: the training rows plus "
                      "1% noise (new points); predict ACC is against their classes.", ""]
    if "scaling" in res:
        s = res["scaling"]
        lines += [f"## Scaling of mixae-graph (synthetic, 100-D, 10 clusters; epochs: trunk {SCALING['trunk_epochs']}, "
                  f"expert {SCALING['expert_epochs']}, merge every {SCALING['merge_every']})", ""]
        lines += table("n, fit s, s / epoch, growth vs smallest, peak MB, ACC, clusters",
                       [(f"{r['n']:,}", r) for r in s["rows"]],
                       [("seconds", ".1f"), ("per_epoch", ".2f"), ("growth", ".2f"), ("peak_mb", ".0f"),
                        ("acc", ".3f"), ("n_clusters", "d")])
        lines += ["", "s / epoch = fit seconds / 6 (every phase included). Growth = (s/epoch at n) / "
                      "((n / n_smallest) · s/epoch at n_smallest): 1 is linear.  ",
                  f"Growth factor per {s['factor']:g}x data: **{cell(s, 'growth', '.2f')}** (target ≤ 1.3); "
                  f"peak memory at the largest n: **{cell(s, 'peak_mb', '.0f')}** MB (target < 4096).", ""]
    if "fashion" in res:
        f = res["fashion"]
        e = f["epochs"]
        lines += [f"## Fashion-MNIST at scale (seed {res['seed']}; epochs: trunk {e['trunk_epochs']}, expert "
                  f"{e['expert_epochs']}; N2D at the same total; K=10 for N2D, none for mixae-graph)", ""]
        lines += table("method, n, fit s, peak MB, ACC, NMI, clusters",
                       [(f"{r['method']} | {r.get('n', 0):,}", r) for r in f["rows"]],
                       [("seconds", ".1f"), ("peak_mb", ".0f"), ("acc", ".3f"), ("nmi", ".3f"), ("n_clusters", "d")])
        lines += ["", f"Time per image at the largest n over time per image at 10,000 (mixae-graph): "
                      f"**{cell(f, 'growth', '.2f')}** (target ≤ 1.3). N2D's published result on the 70,000 "
                      "(K given): ACC 0.672, NMI 0.684.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2000 MNIST points, 2 + 2 epochs, scaling at 2k/6k/20k; writes speed-quick.*")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", type=Path, default=MNIST_PATH, help="MNIST .npz with X and y")
    parser.add_argument("--n-mnist", type=int, default=None, help="N shuffled MNIST rows (default all; quick 2000)")
    parser.add_argument("--trunk-epochs", type=int, default=None, help="default: MixAEGraph's (quick 2)")
    parser.add_argument("--expert-epochs", type=int, default=None, help="default: MixAEGraph's (quick 2)")
    parser.add_argument("--predict-points", type=int, default=None, help="points per timed predict (10000; quick 2000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="scaling sizes (10000 30000 100000)")
    parser.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    parser.add_argument("--fashion-dir", type=Path, default=FASHION_DIR,
                        help="folder with Fashion-MNIST's four IDX .gz files (Debian's dataset-fashion-mnist)")
    parser.add_argument("--n-fashion", type=int, default=None, help="N of the 70,000 (default all; quick 6000)")
    parser.add_argument("--fashion-methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = parser.parse_args(argv)
    q = args.quick
    pick = lambda value, quick, full: value if value is not None else quick if q else full  # noqa: E731
    args.n_mnist = pick(args.n_mnist, 2000, None)
    args.predict_points = pick(args.predict_points, 2000, 10000)
    args.n_fashion = pick(args.n_fashion, 6000, None)
    args.sizes = pick(args.sizes, [2000, 6000, 20000], [10000, 30000, 100000])
    # Only the epoch budget is set; every other setting is the default.
    defaults = {"trunk_epochs": Trunk().epochs, "expert_epochs": Experts().epochs}
    args.settings = {k: pick(getattr(args, k), 2, defaults[k]) for k in defaults}
    if "mnist" in args.parts and not args.mnist.is_file():
        print(f"note: skipping the MNIST parts, {args.mnist} is missing", flush=True)
        args.parts = [part for part in args.parts if part not in ("mnist",)]
    if "fashion" in args.parts and not (args.fashion_dir / "train-images-idx3-ubyte.gz").is_file():
        print(f"note: skipping the Fashion-MNIST part, no IDX files in {args.fashion_dir}", flush=True)
        args.parts = [part for part in args.parts if part != "fashion"]
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    name = "speed-quick" if args.quick else "speed"
    seed, settings = args.seed, args.settings
    res = {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv), "seed": seed,
           "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
                      f"({torch.get_num_threads()} threads, the default, for both methods)",
           "settings": settings, "scaling_settings": SCALING, "warm_up": WARM_UP}
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / f"{name}.json"
    if set(args.parts) != set(PARTS) and previous.is_file():  # keep the parts not rerun
        kept = json.loads(previous.read_text())
        for part, keys in {"small": ("small",), "mnist": ("mnist", "predict"), "scaling": ("scaling",),
                           "fashion": ("fashion",)}.items():
            if part not in args.parts and keys[0] in kept:
                res.update({key: kept[key] for key in keys if key in kept})
                res.setdefault("kept_from", {})[part] = kept.get("kept_from", {}).get(part, kept["date"])

    def save() -> None:  # after every part, so a long run keeps what it has
        (args.out / f"{name}.md").write_text(markdown(res) + "\n")
        (args.out / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")

    if "small" in args.parts:
        source = ("stress", "small")
        X, y, _ = load(source, seed)
        res["small"] = {"name": "stress-small", "n": len(X), "classes": int(len(np.unique(y)))}
        for method in SMALL_METHODS:
            print(f"[speed] small data: {method} on stress-small (n={len(X)}) ...", flush=True)
            res["small"][method] = in_child(fit_job, method, source, settings, seed)
        save()
    mnist = ("mnist", str(args.mnist), args.n_mnist)
    n_mnist = len(load_file(args.mnist).X[: args.n_mnist]) if "mnist" in args.parts else None
    if "mnist" in args.parts:
        trunk, expert = settings["trunk_epochs"], settings["expert_epochs"]
        res["mnist"] = {"n": n_mnist, "epochs": {"mixae-graph": f"{trunk} + {expert}", "N2D": f"{trunk + expert} (AE)"}}
        res["predict"] = {}
        for method in METHODS:
            print(f"[speed] fit and predict {method} on MNIST (n={n_mnist}) ...", flush=True)
            r = in_child(fit_job, method, mnist, settings, seed, args.predict_points)
            res["mnist"][method] = r
            res["predict"][method] = r.get("predict", r)
            if "predict" in r:
                res["predict"].update(points=r["predict"]["points"], repeats=r["predict"]["repeats"])
        save()
    if "scaling" in args.parts:
        rows = []
        for n in args.sizes:
            print(f"[speed] scaling: mixae-graph on {n} synthetic points ...", flush=True)
            r = {"n": n, **in_child(fit_job, "mixae-graph", ("synthetic", n), SCALING, seed)}
            if "error" not in r:
                r["per_epoch"] = r["seconds"] / (SCALING["trunk_epochs"] + SCALING["expert_epochs"])
            rows.append(r)
        for r in rows:
            if "per_epoch" in r and "per_epoch" in rows[0]:
                r["growth"] = r["per_epoch"] / (r["n"] / rows[0]["n"] * rows[0]["per_epoch"])
        res["scaling"] = {"rows": rows, "factor": rows[-1]["n"] / rows[0]["n"],
                          "growth": rows[-1].get("growth"), "peak_mb": rows[-1].get("peak_mb")}
        save()
    if "fashion" in args.parts:
        res["fashion"] = {"epochs": settings, "rows": []}
        for n in (10000, args.n_fashion):
            for method in (["mixae-graph"] if n == 10000 else args.fashion_methods):
                print(f"[speed] Fashion-MNIST: {method} on {n or 70000} images ...", flush=True)
                r = in_child(fit_job, method, ("fashion", str(args.fashion_dir), n), settings, seed)
                res["fashion"]["rows"].append({"method": method, **r})
                save()
        rows = [r for r in res["fashion"]["rows"] if r["method"] == "mixae-graph" and "error" not in r]
        if len(rows) == 2:
            res["fashion"]["growth"] = (rows[1]["seconds"] / rows[0]["seconds"]) / (rows[1]["n"] / rows[0]["n"])
        save()
    print("\n" + markdown(res))
    print(f"wrote {args.out / (name + '.md')} and {args.out / (name + '.json')}")


if __name__ == "__main__":
    main()
