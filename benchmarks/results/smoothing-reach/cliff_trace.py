"""Trace the E-steps of the portraits' seed-0 fit at a given smoothing: experts, points moved,
and how many points each step's argmax takes from the expert's own likelihood vs the walk."""
import sys; from pathlib import Path
ROOT = Path(__file__).resolve().parents[3]  # the checkout
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, torch, quality as Q
import mixae_graph.connectivity as C
from mixae_graph.datasets import load_file
from mixae_graph.metrics import evaluate
from mixae_graph.routing import soft_assignment, spread
alpha = float(sys.argv[1])
orig = C.expectation
def traced(module, X, graph, labels):
    out = orig(module, X, graph, labels)
    h = module.hparams
    slots = module.bank.active_slots.cpu().numpy()
    p = soft_assignment(module.deviance(module.expert_errors(torch.as_tensor(X))), h.experts.temperature).cpu().numpy()
    own = slots[p.argmax(1)]
    sizes = np.bincount(np.searchsorted(slots, out), minlength=len(slots))
    print(f"E-step: {len(slots)} experts, moved {np.mean(out != labels):.3f}, own-likelihood argmax == label {np.mean(own == labels):.3f}, "
          f"walk overrides own {np.mean(out != own):.3f}, p max mean {p.max(1).mean():.3f}, empty after {int((sizes == 0).sum())}, "
          f"smallest {sorted(sizes)[:5]}", flush=True)
    return out
C.expectation = traced
data = Q.image_stress("img-portraits", load_file(Q.FILES["mnist"]))
m = Q.MixAEGraph(image_shape=data.image_shape, random_state=0, graph={"smoothing": alpha}).fit(data.X)
print(evaluate(data.y, m.labels_))
