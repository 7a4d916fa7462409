"""chain_groups under the default rule and variants, on saved trunk codes: where a variant's chains
are the default's, the fit is the default's. Usage: chain_rules.py FILES..."""
import sys, numpy as np, scipy.sparse as sp
from common import q, load  # noqa: F401  (the repository on the path)
from scipy.sparse.csgraph import connected_components
from mixae_graph.graph import point_graph, communities, expert_weights, adjusted_rand
from mixae_graph.merge_split import end_separation, CHAIN_RESOLUTION, CHAIN_END_SEPARATION, CHAIN_MIN_PIECES, chain_groups

def variant(graph, rule, chain_share=0.8, random_state=0):
    graph = sp.csr_matrix(graph)
    pieces = communities(graph, CHAIN_RESOLUTION, random_state)
    weights, _ = expert_weights(graph, pieces)
    np.fill_diagonal(weights, 0.0)
    n = len(weights); rows = np.arange(n)[:, None]
    strongest = np.argsort(-weights, axis=1, kind="stable")[:, :2]
    share = weights[rows, strongest].sum(1) / np.maximum(weights.sum(1), 1e-12)
    links = np.zeros_like(weights, dtype=bool)
    links[rows, strongest] = weights[rows, strongest] > 0
    mutual = links & links.T
    two_ends = np.zeros(n, bool)
    for p in np.flatnonzero(weights[np.arange(n), strongest[:, 1]] > 0):
        two_ends[p] = end_separation(graph, pieces, p, strongest[p]) >= CHAIN_END_SEPARATION
    both_mutual = mutual[np.arange(n), strongest[:, 0]] & mutual[np.arange(n), strongest[:, 1]]
    one_neighbour = weights[np.arange(n), strongest[:, 1]] == 0
    if rule == "default":
        chainlike = (share >= chain_share) & (two_ends | one_neighbour)
    elif rule.startswith("share"):
        chainlike = (share >= float(rule[5:])) & (two_ends | one_neighbour)
    elif rule == "mutual-ends":  # the share test, or both links mutual and at two ends
        chainlike = ((share >= chain_share) & (two_ends | one_neighbour)) | (both_mutual & two_ends)
    links = mutual & chainlike[:, None] & chainlike[None, :]
    _, group = connected_components(sp.csr_matrix(links), directed=False)
    long_enough = np.bincount(group)[group] >= CHAIN_MIN_PIECES
    return np.where(chainlike & long_enough, group, -1)[pieces]

import os
RULES = os.environ.get("RULES", "default share0.75 mutual-ends").split()
for path in sys.argv[1:]:
    d = np.load(path); codes, y = d["codes"], d["y"]
    seed = int(path.rsplit("-", 1)[1].split(".")[0])
    g = point_graph(codes, random_state=seed).graph
    base = chain_groups(g, random_state=seed)
    out = []
    for rule in RULES:
        c = variant(g, rule, random_state=seed)
        same = np.array_equal(c >= 0, base >= 0) and adjusted_rand(c + 1, base + 1) > 0.999999
        on = c >= 0
        pure = sum(np.bincount(y[c == k]).max() for k in np.unique(c[on])) / max(on.sum(), 1)
        out.append("%s: %s chains %d on %d purity %.3f" % (rule, "same" if same else "DIFF", len(np.unique(c[on])), on.sum(), pure))
    print(path.split("/")[-1], "|", " | ".join(out), flush=True)
