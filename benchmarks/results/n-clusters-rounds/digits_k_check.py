"""8x8 digits told n_clusters (argv), seed 0; the tree cut at 10 with and without the fine
graph's parts as groups. Needs the session-33 variant of build_cluster_tree with groups= and
FitState.tree_groups (dropped; see CHANGELOG). Run from the repository root."""
import sys
import numpy as np
from mixae_graph import MixAEGraph
from mixae_graph.datasets import load_dataset
from mixae_graph.metrics import evaluate
from mixae_graph.tree import build_cluster_tree, cut_tree
k = None if sys.argv[1] == "none" else int(sys.argv[1])
data = load_dataset("digits")
m = MixAEGraph(image_shape=data.image_shape, n_clusters=k, random_state=0).fit(data.X)
st = m.module_.state
print("fit", evaluate(data.y, m.labels_))
print("sizes", st.tree_sizes, "groups", st.tree_groups)
slots = np.array(st.final_slots)
for s in sorted(st.tree_sizes):
    print(s, np.bincount(data.y[slots == s], minlength=10))
for name, g in [("no groups", None), ("groups", st.tree_groups)]:
    tree = build_cluster_tree(st.tree_sizes, st.tree_weights, st.history.events, st.tree_distances, g)
    for kk in (10,):
        cut = cut_tree(tree, kk)
        print(name, kk, evaluate(data.y, np.array([cut[s] for s in st.final_slots])), cut)
