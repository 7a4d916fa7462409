"""What the E-steps do: at every E-step of a default fit, how the experts alone (the router's
arg-max) and the graph-smoothed E-step label the points, against the labels the experts trained on.

For each data set and seed, one default fit; at each E-step (one per expert epoch) the table gives:

- ``labels ACC``: the labels the experts trained on in that epoch (the first row: the graph's
  first partition);
- ``router ACC`` and ``router = labels``: every point to its most likely expert, no smoothing
  (what ``predict`` does), and its agreement with those labels;
- ``E-step ACC`` and ``E-step = labels``: the E-step's new labels (the router's soft assignments
  smoothed over the graph), which the experts train on next.

So it shows whether the experts move points out of the partition they were given, and whether
their own choice is better or worse than the labels. The E-step is observed by wrapping
:func:`mixae_graph.connectivity.expectation`; the fit is otherwise the library's default.

Run: ``python benchmarks/em_trace.py --datasets digits mnist --seeds 0``; results in
``<out>/em_trace.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (the data sets and the fitting helpers)

import mixae_graph.connectivity as connectivity  # noqa: E402
from mixae_graph import MixAEGraph  # noqa: E402
from mixae_graph.metrics import cluster_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def trace_fit(data, seed: int) -> tuple[list[dict], MixAEGraph]:
    """One default fit of ``data``; a row for each of its E-steps."""
    rows, expectation = [], connectivity.expectation

    def observed(module, X, graph, labels):
        routed = expectation(module, X, graph, labels)
        slots = module.bank.active_slots.cpu().numpy()
        with torch.no_grad():
            router = slots[module.deviance(module.expert_errors(torch.as_tensor(X))).argmin(1).cpu().numpy()]
        y = data.y[module.state.graph.landmarks]
        rows.append({"experts": len(slots), "labels_acc": cluster_accuracy(y, labels),
                     "router_acc": cluster_accuracy(y, router), "router_agrees": float(np.mean(router == labels)),
                     "estep_acc": cluster_accuracy(y, routed), "estep_agrees": float(np.mean(routed == labels))})
        return routed

    connectivity.expectation = observed
    try:
        model = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
    finally:
        connectivity.expectation = expectation
    return rows, model


def markdown(runs: list[tuple[str, int, list[dict], dict]], info: dict) -> str:
    lines = ["# What the E-steps do", "", f"Command: `{info['command']}`  ", f"Date: {info['date']}", "",
             "Each row is one E-step of a default fit (one per expert epoch). `labels`: what the experts "
             "trained on in that epoch (E-step 1: the first partition); `router`: each point's most likely "
             "expert, unsmoothed (what `predict` does); `E-step`: the new labels (soft assignments smoothed "
             "over the graph). `=`: share of points where the two agree.", ""]
    for name, seed, rows, final in runs:
        lines += [f"## {name}, seed {seed}", "",
                  f"Final: {final['clusters']} clusters, `labels_` ACC {final['acc']:.3f} "
                  f"(first partition {final['first']:.3f}).", "",
                  "| E-step | experts | labels ACC | router ACC | router = labels | E-step ACC | E-step = labels |",
                  "|---|---|---|---|---|---|---|"]
        for step, row in enumerate(rows, 1):
            lines.append(f"| {step} | {row['experts']} | {row['labels_acc']:.3f} | {row['router_acc']:.3f} | "
                         f"{row['router_agrees']:.3f} | {row['estep_acc']:.3f} | {row['estep_agrees']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=quality.NAMED)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/em-trace")
    args = parser.parse_args(argv)
    quality.quiet_lightning()
    info = {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    runs = []
    for data in quality.load_all(quality.parse_args(["--datasets", *args.datasets])):
        for seed in args.seeds:
            rows, model = trace_fit(data, seed)
            final = {"clusters": int(model.labels_.max() + 1), "acc": cluster_accuracy(data.y, model.labels_),
                     "first": cluster_accuracy(data.y, model.initial_labels_)}
            runs.append((data.name, seed, rows, final))
            print(f"{data.name} seed {seed}: {len(rows)} E-steps, final ACC {final['acc']:.3f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "em_trace.md").write_text(markdown(runs, info))
    print(f"wrote {args.out / 'em_trace.md'}")


if __name__ == "__main__":
    main()
