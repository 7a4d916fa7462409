"""Can the experts' own likelihood tell two parts of one class from two classes? A probe for a
merge rule (issues 21 and 22), not a default.

DeepDPM accepts a merge when one component explains both parts about as well as two do (a
likelihood ratio). Here, after a default fit, every pair of clusters that the kNN graph links is
scored by the cost of serving one cluster's points with the other's expert, in the router's own
units (the per-feature deviance of :func:`mixae_graph.routing.deviance`, ``-2/d`` times the
log-likelihood): ``min(n_b * c(b->a), n_a * c(a->b)) / (n_a + n_b)``, with ``c(b->a)`` the mean,
over cluster b's points, of their deviance under a's expert minus under b's. A pair is "same"
when both clusters' majority class is the same (a class the fit split in two); a merge rule from
this evidence needs the same pairs to cost less than every other pair. The report gives the pairs
in order of cost and, per set, the area under the ROC curve of the cost for "same" (1: a
threshold separates them; 0.5: no better than chance).

    python benchmarks/merge_evidence.py [--datasets digits img-digits16] [--seeds 0 1 2] [--out DIR]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import load_all, quiet_lightning  # noqa: E402

from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.graph import expert_weights  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402


def linked_pairs(model, X, y) -> list[dict]:
    """Every pair of clusters joined by kNN weight, with its merge cost and whether it is one class."""
    deviance, labels = model.transform(X), model.labels_
    link, _ = expert_weights(model.module_.state.full_graph, labels)  # kNN weight between clusters 0..k-1
    k = deviance.shape[1]
    majority = [np.bincount(y[labels == c]).argmax() for c in range(k)]
    pairs = []
    for a in range(k):
        for b in range(a + 1, k):
            if link[a, b] <= 0:
                continue
            in_a, in_b = labels == a, labels == b
            b_to_a = float(np.mean(deviance[in_b, a] - deviance[in_b, b]))
            a_to_b = float(np.mean(deviance[in_a, b] - deviance[in_a, a]))
            n_a, n_b = int(in_a.sum()), int(in_b.sum())
            pairs.append({"a": a, "b": b, "class_a": int(majority[a]), "class_b": int(majority[b]),
                          "n_a": n_a, "n_b": n_b, "same": bool(majority[a] == majority[b]),
                          "cost": min(n_b * b_to_a, n_a * a_to_b) / (n_a + n_b),
                          "link": float(link[a, b] / min(link[a].sum(), link[b].sum()))})
    return sorted(pairs, key=lambda p: p["cost"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "img-digits16"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", default="benchmarks/results/merge-evidence")
    args = parser.parse_args(argv)
    quiet_lightning()
    lines = ["# Merge evidence: the experts' cost of serving a neighbouring cluster", "",
             f"`python benchmarks/merge_evidence.py --datasets {' '.join(args.datasets)} "
             f"--seeds {' '.join(map(str, args.seeds))}`; default fits.", "",
             "| data | seed | clusters | ACC | linked pairs | same-class pairs | their ranks by cost | AUC |",
             "|---|---|---|---|---|---|---|---|"]
    details = []
    for data in load_all(argparse.Namespace(datasets=args.datasets, data=[])):
        for seed in args.seeds:
            model = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
            pairs = linked_pairs(model, data.X, data.y)
            same = np.array([p["same"] for p in pairs])
            ranks = [i + 1 for i, p in enumerate(pairs) if p["same"]]
            auc = roc_auc_score(same, [-p["cost"] for p in pairs]) if 0 < same.sum() < len(same) else float("nan")
            acc = cluster_accuracy(data.y, model.labels_)
            lines.append(f"| {data.name} | {seed} | {model.n_experts_} | {acc:.3f} | {len(pairs)} | {int(same.sum())} | "
                         f"{', '.join(map(str, ranks)) or '-'} | {auc:.2f} |")
            print(lines[-1], flush=True)
            details += ["", f"## {data.name}, seed {seed}", "",
                        "| rank | clusters | classes | points | cost | link | same class |", "|---|---|---|---|---|---|---|"]
            details += [f"| {i + 1} | {p['a']}, {p['b']} | {p['class_a']}, {p['class_b']} | {p['n_a']}, {p['n_b']} | "
                        f"{p['cost']:.3f} | {p['link']:.3f} | {'**yes**' if p['same'] else ''} |"
                        for i, p in enumerate(pairs[:15])]
    lines += ["", "Cost: per-feature deviance added by serving the smaller-cost direction's points with the "
              "other expert, per point of the pair; link: kNN weight between the two over the smaller one's "
              "volume. Ranks: positions of the same-class pairs among all linked pairs, cheapest first."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "merge_evidence.md").write_text("\n".join(lines + details) + "\n")
    print(f"wrote {out / 'merge_evidence.md'}")


if __name__ == "__main__":
    main()
