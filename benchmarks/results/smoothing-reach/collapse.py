import sys; from pathlib import Path
ROOT = Path(__file__).resolve().parents[3]  # the checkout
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, quality as Q
from mixae_graph.datasets import load_file
from mixae_graph.metrics import evaluate
alpha = float(sys.argv[1]); steps = int(sys.argv[2]) if len(sys.argv) > 2 else None
if steps is not None:
    import mixae_graph.routing as R
    R.SPREAD_STEPS = steps
    R.spread.__defaults__ = (steps,)
data = Q.image_stress("img-portraits", load_file(Q.FILES["mnist"]))
m = Q.MixAEGraph(image_shape=data.image_shape, random_state=0, graph={"smoothing": alpha}, verbose=True).fit(data.X)
print(evaluate(data.y, m.labels_))
