"""Full default fits with graph.n_neighbors set: python kfit.py name:seed:k ..."""
import sys, argparse, time, numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))  # benchmarks/
import quality
from mixae_graph.estimator import MixAEGraph
from mixae_graph.metrics import evaluate
quality.quiet_lightning()
for spec in sys.argv[1:]:
    name, seed, k = spec.split(":")
    data = quality.load_all(argparse.Namespace(datasets=[name], data=[]))[0]
    t = time.time()
    m = MixAEGraph(image_shape=data.image_shape, random_state=int(seed), graph={"n_neighbors": int(k)}).fit(data.X)
    first = evaluate(data.y, m.initial_labels_)["acc"]
    print(f"{name} seed {seed} k {k}: acc {evaluate(data.y, m.labels_)['acc']:.3f} ({len(np.unique(m.labels_))}) "
          f"first partition {first:.3f} predict agreement {np.mean(m.predict(data.X) == m.labels_):.4f} {time.time()-t:.0f}s", flush=True)
