"""Save the trunk's codes at several trunk epochs of ONE default fit (a snapshot ensemble: free,
one training run). Usage: save_snapshots.py SEEDS DATASETS OUTDIR EPOCHS (1-based, comma list)"""
import sys
from pathlib import Path
import numpy as np, torch
ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q
from mixae_graph import MixAEGraph
from mixae_graph.module import MixAEGraphModule
class Args: data = []
args = Args(); args.datasets = sys.argv[2].split(",")
out = Path(sys.argv[3]); out.mkdir(parents=True, exist_ok=True)
epochs = {int(e) for e in sys.argv[4].split(",")}
q.quiet_lightning()
original = MixAEGraphModule.on_train_epoch_end
current = {}
def on_train_epoch_end(self):
    original(self)
    if self.current_epoch + 1 in epochs:
        current[self.current_epoch + 1] = self.trunk_codes(torch.as_tensor(self.trainer.datamodule.X)).cpu().numpy()
MixAEGraphModule.on_train_epoch_end = on_train_epoch_end
for data in q.load_all(args):
    for seed in [int(s) for s in sys.argv[1].split(",")]:
        current.clear()
        model = MixAEGraph(image_shape=data.image_shape, random_state=seed, experts={"epochs": 1}).fit(data.X)
        for e, codes in current.items():
            np.savez(out / f"{data.name}-{seed}-e{e}.npz", codes=codes, y=data.y)
        print(data.name, seed, sorted(current), flush=True)
