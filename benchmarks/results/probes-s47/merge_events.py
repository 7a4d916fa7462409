import sys, numpy as np
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
import quality as q
from mixae_graph import MixAEGraph
class A: pass
a = A(); a.datasets = ["img-portraits"]; a.data = []
q.quiet_lightning()
data = q.load_all(a)[0]
for seed in (0, 2):
    m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
    ev = [e for e in m.module_.state.history.events if e["kind"] == "merge"]
    print(seed, "merges:", [(e["epoch"], e["rule"], e["sizes"]) for e in ev], flush=True)
