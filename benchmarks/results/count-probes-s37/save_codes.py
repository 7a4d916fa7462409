"""python save_codes.py name:seed:epochs ... ; codes at the graph step -> $CODES_OUT/name-seed-eEPOCHS.npz"""
import sys, argparse, os, time, numpy as np
sys.path.insert(0, "/work/main/benchmarks")
import quality
from mixae_graph import connectivity
from mixae_graph.estimator import MixAEGraph
class Stop(Exception): pass
captured = {}
def grab(codes, *a, **k):
    captured["codes"] = np.asarray(codes); raise Stop()
connectivity.point_graph = grab
quality.quiet_lightning()
for spec in sys.argv[1:]:
    name, seed, ep = spec.split(":"); seed, ep = int(seed), int(ep)
    data = quality.load_all(argparse.Namespace(datasets=[name], data=[]))[0]
    t = time.time()
    try:
        MixAEGraph(trunk={"epochs": ep}, image_shape=data.image_shape, random_state=seed, verbose=False).fit(data.X)
    except Exception:
        if "codes" not in captured: raise
    np.savez(os.environ["CODES_OUT"] + f"/{name}-{seed}-e{ep}.npz", codes=captured.pop("codes"), y=data.y)
    print("saved", name, seed, ep, f"{time.time()-t:.0f} s", flush=True)
