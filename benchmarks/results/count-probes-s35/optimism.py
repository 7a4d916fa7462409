"""Would the E-step move points if each expert's in-sample optimism were corrected? Fit digits
(seed 0, defaults), then re-route the training points with the own expert's error multiplied by
rho and every noise variance by rho (out-of-sample scale), with and without graph smoothing."""
import sys, numpy as np, torch
sys.path.insert(0, "/work/main/benchmarks")
import quality
from mixae_graph import MixAEGraph
from mixae_graph.datasets import load_digits
from mixae_graph.metrics import evaluate
from mixae_graph.routing import soft_assignment, spread
quality.quiet_lightning()
name = sys.argv[1] if len(sys.argv) > 1 else "digits"
import argparse
data = quality.load_all(argparse.Namespace(datasets=[name], data=[]))[0]
m = MixAEGraph(image_shape=data.image_shape, random_state=0).fit(data.X)
mod = m.module_; y = data.y
print("labels_", evaluate(y, m.labels_)["acc"], "first", evaluate(y, m.initial_labels_)["acc"], "k", m.n_experts_)
slots = mod.bank.active_slots.cpu().numpy()
final = mod.state.final_slots
own = np.searchsorted(slots, final)
E = mod.expert_errors(torch.as_tensor(data.X)).numpy()
# in-sample error per expert, own points
v = mod.noise_var[torch.as_tensor(slots)].numpy(); lp = mod.log_prior[torch.as_tensor(slots)].numpy()
d = data.X.shape[1]
g = mod.state.graph
def route(rho, alpha):
    e = E.copy(); e[np.arange(len(e)), own] *= rho
    dev = e / (v * rho) + np.log(v * rho) - 2.0 / d * lp
    p = soft_assignment(torch.as_tensor(dev), mod.hparams.experts.temperature).numpy()
    if alpha > 0:
        p = spread(p[g.landmarks], g.within_fine_parts(), alpha)[g.nearest] if len(g.landmarks) < len(p) else spread(p, g.within_fine_parts(), alpha)
    lab = slots[p.argmax(1)]
    return evaluate(y, lab)["acc"], float(np.mean(lab != final)), len(np.unique(lab))
for rho in [1.0, 1.3, 1.6, 1.9, 2.5]:
    for alpha in [0.0, 0.9]:
        acc, moved, k = route(rho, alpha)
        print(f"rho {rho:.1f} alpha {alpha:.1f}: acc {acc:.3f} moved {moved:.3f} k {k}", flush=True)
