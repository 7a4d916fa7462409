"""Does routing need locality? A probe of the router (issue 22), not a default.

The router sends a point to the expert that reconstructs it best. An expert of ten points spans an
affine subspace through them, and reconstruction error does not say *where* along it a point lies,
so a far point can be routed to it. A mixture of probabilistic PCA scores a point by the density of
its code as well (Tipping and Bishop 1999): here each expert's codes of its own points get a
diagonal Gaussian, and ``(sum_j (z_j - mu_j)^2 / s_j^2 + log s_j^2) / d`` is added to the
per-feature deviance, after the fit (nothing is retrained).

Two measurements: the suite's told-K fit of four 20-D blobs into 40 clusters (short epochs, border
term off), counting clusters that mix two blobs; and default fits on 80% of data sets, routing the
80% and the held-out 20% with and without the term.

    python benchmarks/code_density.py [--datasets stress-small digits img-portraits] [--out DIR]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_blobs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import load_all  # noqa: E402

from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402


def routes(model, X, fitted_X):
    """Clusters of ``X`` by the router, and by the router plus the code density term."""
    module = model.module_
    slots = module.bank.active_slots
    with torch.no_grad():
        deviance = module.expert_deviance(torch.as_tensor(X)).numpy()

        def codes(A):
            z, _ = module.expert_input(torch.as_tensor(A))
            return module.bank.encode(z, slots).numpy()  # (n, k, latent)

        fitted_codes, new_codes = codes(fitted_X), codes(X)
    own = module.route_slots(torch.as_tensor(fitted_X)).numpy()
    density = np.zeros_like(deviance)
    for j, slot in enumerate(slots.tolist()):
        Z = fitted_codes[own == slot, j]
        if len(Z) < 2:
            continue
        mean, var = Z.mean(0), Z.var(0) + 1e-3 * Z.var(0).mean() + 1e-8
        density[:, j] = ((new_codes[:, j] - mean) ** 2 / var + np.log(var)).sum(1) / module.hparams.n_features
    cluster = module.cluster_of_slot.numpy()[slots.numpy()]
    return cluster[deviance.argmin(1)], cluster[(deviance + density).argmin(1)]


def blobs_row() -> str:
    X, y = make_blobs(n_samples=400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
    X = X.astype(np.float32)
    model = MixAEGraph(n_clusters=40, trunk=dict(epochs=30), experts=dict(epochs=8, border_weight=0.0),
                       graph=dict(merge_every=4), batch_size=256, random_state=0).fit(X)
    plain, dense = routes(model, X, X)

    def mixed(labels):
        return sum(len(np.unique(y[labels == c])) > 1 for c in np.unique(labels))

    return (f"| 4 blobs told K=40 (border off) | {len(np.unique(plain))} / {mixed(plain)} mixed | "
            f"{len(np.unique(dense))} / {mixed(dense)} mixed | {np.mean(plain == dense):.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["stress-small", "digits", "img-portraits"])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "code-density")
    args = parser.parse_args(argv)
    args.data = []
    lines = ["# The code density term in routing (benchmarks/code_density.py)", "",
             f"Command: `python benchmarks/code_density.py --datasets {' '.join(args.datasets)}`  ",
             f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             "| fit | router: clusters / mixed | + code density | agreement |", "|---|---|---|---|", blobs_row(), "",
             "Default fits (seed 0) on 80% of each set (a random permutation, seed 0); ACC of the router "
             "and of the router plus the code density term.", "",
             "| data | experts | labels_ (80%) | + code (80%) | agreement | held-out (20%) | + code (20%) |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for data in load_all(args):
        order = np.random.default_rng(0).permutation(len(data.X))
        fit, held = order[: int(0.8 * len(order))], order[int(0.8 * len(order)):]
        model = MixAEGraph(image_shape=data.image_shape, random_state=0).fit(data.X[fit])
        plain_fit, dense_fit = routes(model, data.X[fit], data.X[fit])
        plain_held, dense_held = routes(model, data.X[held], data.X[fit])
        scores = [cluster_accuracy(data.y[fit], model.labels_), cluster_accuracy(data.y[fit], dense_fit),
                  np.mean(dense_fit == plain_fit), cluster_accuracy(data.y[held], plain_held),
                  cluster_accuracy(data.y[held], dense_held)]
        lines.append(f"| {data.name} | {model.n_experts_} | " + " | ".join(f"{s:.3f}" for s in scores) + " |")
        print(lines[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "code-density.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
