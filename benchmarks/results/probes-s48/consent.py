"""For every point an E-step moves: did the move fix or break its class (labels matched to classes
by each expert's majority class before the step), and how much did the experts themselves
prefer the new expert (log p0[new] - log p0[old], p0 the unsmoothed soft assignment)?"""
import sys, numpy as np, torch
from common import q, load  # noqa: F401  (the repository on the path)
from mixae_graph import MixAEGraph, connectivity
data = load(sys.argv[1])
rows = []
spread = connectivity.spread
orig_step = connectivity.ConnectivityCallback._expectation_step
seen = {}


def recording_spread(p0, graph, alpha, *args, **kwargs):
    seen["p0"] = p0  # the experts' own soft assignment, before the graph smooths it
    return spread(p0, graph, alpha, *args, **kwargs)


def step(self, trainer, module):
    labels = module.state.labels[module.state.graph.landmarks].copy()
    slots = module.bank.active_slots.cpu().numpy()
    out = orig_step(self, trainer, module)
    new = module.state.labels[module.state.graph.landmarks]
    p0 = seen["p0"]
    y = data.y[module.state.graph.landmarks]
    lookup = {s: np.bincount(y[labels == s]).argmax() for s in np.unique(labels)}  # majority class
    col = {s: i for i, s in enumerate(slots)}
    for i in np.flatnonzero((new != labels) & np.isin(labels, slots) & np.isin(new, slots)):
        ratio = np.log(p0[i, col[new[i]]] + 1e-300) - np.log(p0[i, col[labels[i]]] + 1e-300)
        rows.append((trainer.current_epoch + 1, int(lookup[labels[i]] == y[i]), int(lookup.get(new[i], -1) == y[i]), float(ratio)))
    return out


connectivity.spread = recording_spread
connectivity.ConnectivityCallback._expectation_step = step
for seed in [int(s) for s in sys.argv[2].split(",")]:
    rows.clear()
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
    r = np.array(rows)
    print(data.name, seed, "moves", len(r), flush=True)
    if len(r) == 0:
        continue
    for name, sel in (("fixed", (r[:, 1] == 0) & (r[:, 2] == 1)), ("broke", (r[:, 1] == 1) & (r[:, 2] == 0)),
                      ("neutral", r[:, 1] == r[:, 2])):
        v = r[sel, 3]
        if len(v):
            print("  %-7s %4d  log p0 ratio new/old: median %8.2f  q10 %8.2f  q90 %8.2f  share > -1: %.2f" % (
                name, len(v), np.median(v), np.quantile(v, 0.1), np.quantile(v, 0.9), np.mean(v > -1)), flush=True)
