"""Run from the repository root. Save the trunk codes at the moment of the first partition: python codes.py name:seed ..."""
import sys, argparse, numpy as np, torch
sys.path.insert(0, "/work/main/benchmarks")  # benchmarks/
import quality
from mixae_graph import connectivity
from mixae_graph.estimator import MixAEGraph

class Stop(Exception):
    pass

captured = {}
orig = connectivity.point_graph
def grab(codes, *a, **k):
    captured["codes"] = np.asarray(codes)
    raise Stop()
connectivity.point_graph = grab
quality.quiet_lightning()
for spec in sys.argv[1:]:
    name, seed = spec.split(":")
    seed = int(seed)
    args = argparse.Namespace(datasets=[name], data=[])
    data = quality.load_all(args)[0]
    try:
        MixAEGraph(trunk={"epochs": 50}, experts={"epochs": 20}, image_shape=data.image_shape, random_state=seed).fit(data.X)
    except Exception as e:
        if "codes" not in captured:
            raise
    import os; np.savez(os.environ["CODES_OUT"] + f"/{name}-{seed}.npz", codes=captured.pop("codes"), y=data.y)
    print("saved", name, seed, flush=True)
