"""One line per graph: the share of its weight inside a class, the stable Louvain partition's
resolution, count and ACC."""
from mixae_graph.graph import stable_communities
from mixae_graph.metrics import cluster_accuracy


def inside(graph, y):
    g = graph.tocoo()
    return float(g.data[y[g.row] == y[g.col]].sum() / g.data.sum())


def report(name, graph, y):
    labels, res, _ = stable_communities(graph)
    print(f"  {name:22s} inside {inside(graph, y):.3f}  res {res:5.2f} k {labels.max() + 1:3d} "
          f"acc {cluster_accuracy(y, labels):.3f}", flush=True)
