"""Save the trunk's codes of a default fit (one expert epoch) for seeds and sets: input to the
trunk-ensemble probe (ensemble.py). Usage: save_codes.py SEEDS DATASETS OUTDIR"""
import sys
from pathlib import Path
import numpy as np, torch
ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q
from mixae_graph import MixAEGraph
class Args: data = []
args = Args(); args.datasets = sys.argv[2].split(",")
out = Path(sys.argv[3]); out.mkdir(parents=True, exist_ok=True)
q.quiet_lightning()
for data in q.load_all(args):
    for seed in [int(s) for s in sys.argv[1].split(",")]:
        model = MixAEGraph(image_shape=data.image_shape, random_state=seed, experts={"epochs": 1}).fit(data.X)
        module = model.module_
        codes = module.trunk_codes(torch.as_tensor(data.X)).numpy()
        np.savez(out / f"{data.name}-{seed}.npz", codes=codes, y=data.y, labels=model.labels_)
        print(data.name, seed, "clusters", int(model.labels_.max() + 1), flush=True)
