"""Untold img-turntable fit (seed from argv); its tree cut at 20, 19 and 10 clusters with and
without the fine graph's parts as groups (session 33; needs the dropped variant of build_cluster_tree
with groups= and FitState.tree_groups, see CHANGELOG). Run from the repository root."""
import sys
sys.path.insert(0, "benchmarks")
import numpy as np
import quality
from mixae_graph import MixAEGraph
from mixae_graph.datasets import load_file
from mixae_graph.metrics import evaluate
from mixae_graph.tree import build_cluster_tree, cut_tree
seed = int(sys.argv[1])
data = quality.image_stress("img-turntable", load_file(quality.FILES["mnist"]))
m = MixAEGraph(image_shape=data.image_shape, random_state=seed).fit(data.X)
st = m.module_.state
print("untold", evaluate(data.y, m.labels_))
print("sizes", st.tree_sizes, "groups", st.tree_groups)
for name, g in [("no groups", None), ("groups", st.tree_groups)]:
    tree = build_cluster_tree(st.tree_sizes, st.tree_weights, st.history.events, st.tree_distances, g)
    for k in (20, 19, 10):
        cut = cut_tree(tree, k)
        print(name, k, evaluate(data.y, np.array([cut[s] for s in st.final_slots])))
