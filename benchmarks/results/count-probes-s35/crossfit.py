"""Cross-fitted hard EM against in-sample hard EM, outside the library, from one default fit's
first partition. Per cluster, an MLP autoencoder (the experts' shape) in the experts' input
coordinates; each round: train (warm start) for a few epochs, fit each expert's noise variance
and mixing weight, then reassign every point to its most likely expert (optionally smoothed over
the fit's graph within the fine graph's parts). In-sample: one bank trained on all of a cluster's
points judges them. Cross-fitted: two banks, each trained on one random half of every cluster;
a point is judged by the bank that did not train on it (noise variances from out-of-fold errors).
SPACE=codes: experts of the trunk's standardised codes instead of the pixels, code size Q."""
import sys, argparse, numpy as np, torch
sys.path.insert(0, "/work/main/benchmarks")
import quality
from mixae_graph import MixAEGraph
from mixae_graph.metrics import evaluate
from mixae_graph.routing import soft_assignment, spread
quality.quiet_lightning()
torch.set_num_threads(2)
name = sys.argv[1] if len(sys.argv) > 1 else "digits"
data = quality.load_all(argparse.Namespace(datasets=[name], data=[]))[0]
m = MixAEGraph(image_shape=data.image_shape, random_state=0).fit(data.X)
mod = m.module_; y = data.y
import os
SPACE = os.environ.get("SPACE", "input")
with torch.no_grad():
    if SPACE == "codes":
        Z = torch.as_tensor(mod.trunk_codes(torch.as_tensor(data.X)).cpu().numpy()).float(); Z = (Z - Z.mean(0)) / Z.std(0); outside = None
    else:
        Z, outside = mod.expert_input(torch.as_tensor(data.X))
Z = Z.float(); d_full = Z.shape[1] if SPACE == "codes" else data.X.shape[1]
out = torch.zeros(len(Z)) if outside is None else outside.float()
Q = int(os.environ.get("Q", "10"))
first = np.unique(m.initial_labels_, return_inverse=True)[1]
g = mod.state.graph; W = g.within_fine_parts()
print(f"{name}: labels_ {evaluate(y, m.labels_)['acc']:.3f} ({m.n_experts_}), first partition {evaluate(y, first)['acc']:.3f} ({first.max()+1})", flush=True)

class Bank(torch.nn.Module):
    def __init__(self, k, d, h=128, q=10):
        super().__init__()
        self.nets = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ELU(), torch.nn.Linear(h, q),
                                         torch.nn.Linear(q, h), torch.nn.ELU(), torch.nn.Linear(h, d)) for _ in range(k)])
    def errors(self, z):  # (n, k) mean squared error over all input features
        with torch.no_grad():
            e = torch.stack([((net(z) - z) ** 2).sum(1) for net in self.nets], 1)
        return ((e + out_rows[:, None]) / d_full).numpy()

def train(bank, labels, rows, epochs, opt):
    idx = torch.as_tensor(rows)
    for _ in range(epochs):
        perm = idx[torch.randperm(len(idx))]
        for b in perm.split(128):
            lab = torch.as_tensor(labels[b.numpy()])
            loss = 0
            for c in lab.unique():
                zb = Z[b[lab == c]]
                loss = loss + ((bank.nets[int(c)](zb) - zb) ** 2).sum()
            opt.zero_grad(); (loss / len(b)).backward(); opt.step()

def mixture(E, labels, judge_rows):
    k = E.shape[1]
    v = np.array([E[judge_rows][labels[judge_rows] == c, c].mean() if np.any(labels[judge_rows] == c) else 1.0 for c in range(k)])
    pi = np.bincount(labels, minlength=k) / len(labels)
    return E / v + np.log(v) - 2.0 / d_full * np.log(np.maximum(pi, 1e-12))

def run(cross, alpha, rounds=5, epochs=4, seed=0):
    global out_rows
    out_rows = out
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    labels = first.copy(); k = labels.max() + 1; n = len(labels)
    half = rng.integers(0, 2, n)
    banks = [Bank(k, Z.shape[1], h=64 if SPACE == 'codes' else 128, q=Q) for _ in range(2 if cross else 1)]
    opts = [torch.optim.Adam(b.parameters(), 1e-3) for b in banks]
    for r in range(rounds):
        for i, (b, o) in enumerate(zip(banks, opts)):
            rows = np.flatnonzero(half == i) if cross else np.arange(n)
            train(b, labels, rows, epochs if r else 3 * epochs, o)
        if cross:  # each point by the bank that did not train on it
            E0, E1 = banks[0].errors(Z), banks[1].errors(Z)
            E = np.where((half == 0)[:, None], E1, E0)
        else:
            E = banks[0].errors(Z)
        D = mixture(E, labels, np.arange(n))
        p = soft_assignment(torch.as_tensor(D), 0.1).numpy()
        if alpha > 0:
            p = spread(p, W, alpha)
        new = p.argmax(1)
        moved = np.mean(new != labels); labels = new
        print(f"  {'cross' if cross else 'in-sample'} alpha {alpha}: round {r+1} acc {evaluate(y, labels)['acc']:.3f} moved {moved:.3f} k {len(np.unique(labels))}", flush=True)
for cross in [False, True]:
    for alpha in [0.0, 0.9]:
        run(cross, alpha)
