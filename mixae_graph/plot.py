"""Pictures of a fitted :class:`~mixae_graph.MixAEGraph`: the latent graph, the cluster tree, the
experts' reconstructions, the confusion with known classes, and the training curves of a
command-line run (its ``metrics.csv``).

The package ``__init__`` never imports this module (matplotlib stays optional at import time).
Every plot is a free function taking the fitted model first, drawing on ``ax`` (a new figure only
when ``ax is None``) and returning the ``Axes``. The numbers each plot draws come from a pure
``*_data`` function, so they can be checked without looking at pixels.

Examples
--------
>>> import mixae_graph.plot as mplot                              # doctest: +SKIP
>>> mplot.latent_graph(model, data.X, y=data.y)                   # doctest: +SKIP
>>> mplot.cluster_tree(model, n_clusters=10)                      # doctest: +SKIP
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict

import matplotlib.patheffects as patheffects
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from sklearn.utils.validation import check_is_fitted

from . import graph as graph_
from . import metrics
from . import tree as tree_


def _new_axes(ax, figsize=(7, 6)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _palette(ids):
    """One colour per id: tab10 up to 10 ids, tab20 up to 20, else a continuous map."""
    ids = list(ids)
    if len(ids) <= 10:
        colours = plt.get_cmap("tab10").colors
    elif len(ids) <= 20:
        colours = plt.get_cmap("tab20").colors
    else:
        colours = plt.get_cmap("viridis")(np.linspace(0, 1, len(ids)))
    return {i: colours[k] for k, i in enumerate(ids)}


def _training_rows(model, X, what="X"):
    n_train = model.latent_graph_.shape[0]
    if len(X) != n_train:
        raise ValueError(
            f"{what} must be the training data ({n_train} rows, one per node of latent_graph_), "
            f"got {len(X)} rows"
        )


# ----------------------------------------------------------------------------- latent graph


def embedding(model, X) -> np.ndarray:
    """2-D UMAP layout of the training points' latent codes, cached as ``model.embedding_``."""
    check_is_fitted(model, "module_")
    _training_rows(model, X)
    cached = getattr(model, "embedding_", None)
    if cached is None or len(cached) != len(X):
        codes = model.module_.trunk_codes(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        model.embedding_ = graph_.embed(codes.numpy(), random_state=model.random_state)
    return model.embedding_


def latent_graph_data(model, X, labels=None, max_edges=5000, random_state=0) -> dict:
    """What :func:`latent_graph` draws.

    Parameters
    ----------
    model : fitted MixAEGraph
    X : array-like of shape (n_samples, n_features)
        The training data (the rows of ``model.latent_graph_``).
    labels : array-like of shape (n_samples,), default=None
        Grouping of the expert-graph nodes; None means ``model.labels_``.
    max_edges : int, default=5000
        At most this many kNN edges are kept (a uniform sample), to keep the picture light.
    random_state : int, default=0
        Seed of the edge sample.

    Returns
    -------
    dict
        ``positions`` (n, 2) layout; ``knn_edges`` (m, 2) point indices and ``knn_weights`` (m,);
        ``clusters`` (k,) sorted group ids, ``centres`` (k, 2) median position of each group,
        ``sizes`` (k,) points per group; ``edges`` (e, 2) pairs of group ids and ``edge_weights``
        (e,) total kNN weight between them (:func:`mixae_graph.graph.expert_graph`).
    """
    positions = embedding(model, X)
    labels = model.labels_ if labels is None else np.asarray(labels)
    _training_rows(model, labels, "labels")

    upper = sp.triu(model.latent_graph_, k=1).tocoo()  # each undirected edge once
    keep = np.arange(upper.nnz)
    if upper.nnz > max_edges:
        keep = np.sort(np.random.default_rng(random_state).choice(upper.nnz, max_edges, replace=False))

    experts = graph_.expert_graph(model.latent_graph_, labels)
    clusters = np.array(sorted(experts.nodes))
    centres = np.array([np.median(positions[labels == c], axis=0) for c in clusters]).reshape(-1, 2)
    edges = sorted(experts.edges(data="weight"))
    return {
        "positions": positions,
        "knn_edges": np.column_stack([upper.row[keep], upper.col[keep]]).reshape(-1, 2),
        "knn_weights": upper.data[keep],
        "clusters": clusters,
        "centres": centres,
        "sizes": np.array([experts.nodes[c]["size"] for c in clusters]),
        "edges": np.array([(a, b) for a, b, _ in edges], dtype=int).reshape(-1, 2),
        "edge_weights": np.array([w for _, _, w in edges], dtype=float),
    }


def latent_graph(model, X, y=None, ax=None, max_edges=5000):
    """The latent codes in 2-D with their kNN graph, and the graph of clusters on top.

    Points are placed by a UMAP layout of the trunk's codes and coloured by cluster, or by ``y``
    when given. Faint lines are (a sample of) the kNN edges of ``model.latent_graph_``. Each
    cluster is a node at its points' median position, its area proportional to its size; the
    lines between nodes are as wide as the kNN weight between the two clusters.

    Parameters
    ----------
    model : fitted MixAEGraph
    X : array-like of shape (n_samples, n_features)
        The training data.
    y : array-like of shape (n_samples,), default=None
        Known classes to colour the points by.
    ax : matplotlib Axes, default=None
    max_edges : int, default=5000
        Most kNN edges drawn.

    Returns
    -------
    matplotlib.axes.Axes
        Artists carry ``gid``: ``"knn_edges"``, ``"points"``, ``"expert_edges"``, ``"experts"``.
    """
    data = latent_graph_data(model, X, max_edges=max_edges)
    ax = _new_axes(ax)
    pos = data["positions"]

    weights = data["knn_weights"] / max(data["knn_weights"].max(initial=0), 1e-12)
    ax.add_collection(LineCollection(
        pos[data["knn_edges"]], colors=[(0.4, 0.4, 0.4, 0.02 + 0.1 * w) for w in weights],
        linewidths=0.4, zorder=1, gid="knn_edges",
    ))

    colour_by = model.labels_ if y is None else np.asarray(y)
    _training_rows(model, colour_by, "y")
    groups = np.unique(colour_by)
    categorical = len(groups) <= 20 and colour_by.dtype.kind in "iub"
    if categorical:
        colour_of = _palette(groups)
        ax.scatter(*pos.T, c=[colour_of[v] for v in colour_by], s=6, alpha=0.8, linewidths=0,
                   zorder=2, gid="points", rasterized=True)
        handles = [Line2D([], [], ls="", marker="o", color=colour_of[v], label=str(v)) for v in groups]
        ax.legend(handles=handles, title="class" if y is not None else "cluster", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9, title_fontsize=10)
    else:
        points = ax.scatter(*pos.T, c=colour_by, s=5, alpha=0.7, linewidths=0, cmap="viridis",
                            zorder=2, gid="points", rasterized=True)
        ax.figure.colorbar(points, ax=ax, label="y", shrink=0.8)

    # UMAP with min_dist=0 packs each cluster tight, so nodes are open rings around their points.
    index = {c: i for i, c in enumerate(data["clusters"])}
    centres = data["centres"]
    strength = data["edge_weights"] / max(data["edge_weights"].max(initial=0), 1e-12)
    ax.add_collection(LineCollection(
        [centres[[index[a], index[b]]] for a, b in data["edges"]],
        linewidths=0.3 + 5.0 * strength, colors=[(0, 0, 0, 0.15 + 0.6 * s) for s in strength],
        zorder=1.5, gid="expert_edges",  # under the points, which it would hide
    ))
    areas = 60 + 540 * data["sizes"] / data["sizes"].max()
    ring = [_palette(data["clusters"])[c] for c in data["clusters"]] if y is None else "black"
    ax.scatter(*centres.T, s=areas, facecolors="none", edgecolors=ring, linewidths=2.0,
               zorder=4, gid="experts")
    for c, (cx, cy), area in zip(data["clusters"], centres, areas):
        ax.annotate(f"C{c}", (cx, cy), xytext=(np.sqrt(area) / 2 + 2, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=9, fontweight="bold", zorder=5,
                    path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])

    ax.autoscale_view()
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(
        f"Latent kNN graph: {len(data['clusters'])} clusters from {model.n_experts_} experts\n"
        "rings: clusters (area ∝ size); lines: kNN weight between clusters",
        fontsize=11,
    )
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    return ax


# ----------------------------------------------------------------------------- cluster tree


def cluster_tree_data(model, n_clusters=None) -> dict:
    """What :func:`cluster_tree` draws.

    Returns
    -------
    dict
        ``linkage`` (scipy linkage matrix, :func:`mixae_graph.tree.to_linkage`); per leaf, in leaf
        order: ``slots`` (expert slot), ``clusters`` (the model's cluster), ``sizes`` (points);
        ``n_clusters`` of the cut, ``cut`` (its height), ``cut_clusters`` (slot -> cluster at the
        cut, :func:`mixae_graph.tree.cut_tree`); ``first_experts`` (experts made by each graph
        partition), ``n_splits`` (other splits) and ``n_merges`` made in training.
    """
    check_is_fitted(model, "cluster_tree_")
    tree = model.cluster_tree_
    slots = tree_.leaf_slots(tree)
    n_clusters = len(np.unique(model.labels_)) if n_clusters is None else n_clusters
    history = tree.graph.get("history", [])
    leaves = sorted(n for n in tree if tree.out_degree(n) == 0)
    return {
        "linkage": tree_.to_linkage(tree),
        "slots": slots,
        "clusters": [int(model.module_.cluster_of_slot[s]) for s in slots],
        "sizes": [tree.nodes[n]["size"] for n in leaves],
        "n_clusters": n_clusters,
        # Join j sits at height j; undoing the last n - 1 of K - 1 joins cuts between K - n and K - n + 1.
        "cut": len(slots) - n_clusters + 0.5,
        "cut_clusters": tree_.cut_tree(tree, n_clusters),
        "n_merges": sum(e["kind"] == "merge" for e in history),
        "n_splits": sum(e["kind"] == "split" and e.get("rule") != "partition" for e in history),
        # The first experts come from one graph partition, which the recorder logs as a split.
        "first_experts": [len(e["children"]) for e in history if e.get("rule") == "partition"],
    }


def cluster_tree(model, n_clusters=None, ax=None):
    """The hierarchy over the final experts as a dendrogram, cut at ``n_clusters``.

    Leaves are the experts, labelled ``cluster / expert slot`` and their number of points; joins
    go by greedy modularity over the kNN graph, then, for experts the graph does not link, nearest
    first (:func:`mixae_graph.tree.build_cluster_tree`), so height is the join's rank. Branches
    below the cut take the colour of their cluster at the cut.

    Parameters
    ----------
    model : fitted MixAEGraph
    n_clusters : int, default=None
        Where to draw the cut; None means the number of clusters the model found.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    from scipy.cluster.hierarchy import dendrogram

    data = cluster_tree_data(model, n_clusters)
    ax = _new_axes(ax)
    Z, slots, cut_of = data["linkage"], data["slots"], data["cut_clusters"]
    colour_of = _palette(range(data["n_clusters"]))
    labels = [f"C{c} / E{s}  (n={n})" for c, s, n in zip(data["clusters"], slots, data["sizes"])]
    if len(Z) == 0:  # one expert: nothing to join
        ax.text(0.5, 0.5, labels[0], ha="center", va="center", transform=ax.transAxes)
    else:
        below_cut = {len(slots) + j: Z[j, 2] < data["cut"] for j in range(len(Z))}

        def link_colour(node):  # a join below the cut lies inside one cluster
            if not below_cut[node]:
                return "0.45"
            return to_hex(colour_of[cut_of[model.cluster_tree_.nodes[node]["leaves"][0]]])

        tree_plot = dendrogram(Z, labels=labels, ax=ax, link_color_func=link_colour,
                               leaf_rotation=90, leaf_font_size=9)
        # Leaf i sits at x = 5 + 10 i in scipy's layout; a coloured dot marks its cluster at the cut.
        order = tree_plot["leaves"]
        ax.scatter([5 + 10 * i for i in range(len(order))], np.zeros(len(order)),
                   c=[colour_of[cut_of[slots[leaf]]] for leaf in order], s=60, marker="s",
                   edgecolors="black", linewidths=0.6, zorder=3, clip_on=False, gid="leaves")
        ax.axhline(data["cut"], color="crimson", ls="--", lw=1.2,
                   label=f"cut: {data['n_clusters']} clusters")
        top = len(Z)
        ax.set_ylim(0, top + max(1.5, 0.25 * top))  # headroom for the legend and the text box
        ax.set_yticks(range(0, top + 1, max(1, top // 8)))
        ax.legend(loc="upper right", fontsize=9)
    first = " + ".join(map(str, data["first_experts"])) or "?"
    ax.text(0.02, 0.97,
            f"training: {first} experts from the graph partition,\n"
            f"then {data['n_splits']} split{'s' * (data['n_splits'] != 1)} and "
            f"{data['n_merges']} merge{'s' * (data['n_merges'] != 1)}: {len(slots)} experts",
            transform=ax.transAxes, ha="left", va="top", fontsize=9,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor="0.7"))
    ax.set_ylabel("join order (by the graph, then nearest)")
    ax.set_title("Cluster tree of the experts (leaf: cluster / expert, size)", fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


# ----------------------------------------------------------------------------- reconstructions


def expert_reconstructions_data(model, X, n_per_expert=6) -> dict:
    """What :func:`expert_reconstructions` draws, per active expert (rows in slot order).

    Each point goes to its most likely expert (the router, ``model.transform``'s arg-min); an
    expert's typical members are the ones it reconstructs best, its worst member the one it
    reconstructs worst.

    Returns
    -------
    dict
        ``slots`` (k,); ``counts`` (k,) members; ``typical`` (k, n_per_expert) row indices into
        ``X``, -1 where an expert has fewer members; ``worst`` (k,) index or -1; ``originals`` and
        ``reconstructions`` (k, n_per_expert + 1, n_features): the typical members then the worst
        one, in input units, NaN where missing.
    """
    X = np.asarray(X, dtype=np.float32)
    errors = model.transform(X)  # (n, k) deviances, columns in slot order
    module = model.module_
    slots = module.bank.active_slots
    owner = errors.argmin(1)
    k, n_features = len(slots), X.shape[1]
    typical = np.full((k, n_per_expert), -1)
    worst = np.full(k, -1)
    originals = np.full((k, n_per_expert + 1, n_features), np.nan, dtype=np.float32)
    reconstructions = np.full_like(originals, np.nan)
    for e in range(k):
        members = np.flatnonzero(owner == e)
        if len(members) == 0:
            continue
        ranked = members[np.argsort(errors[members, e])]
        chosen = ranked[:n_per_expert]
        typical[e, : len(chosen)] = chosen
        worst[e] = ranked[-1]
        rows = np.r_[chosen, ranked[-1]]
        out = module.reconstruct(torch.as_tensor(X[rows]), int(slots[e]))  # (rows, features)
        place = np.r_[np.arange(len(chosen)), n_per_expert]
        originals[e, place] = X[rows]
        reconstructions[e, place] = out.numpy()
    return {
        "slots": slots.numpy(),
        "counts": np.bincount(owner, minlength=k),
        "typical": typical,
        "worst": worst,
        "originals": originals,
        "reconstructions": reconstructions,
    }


def expert_reconstructions(model, X, image_shape, n_per_expert=6, ax=None):
    """For each expert, its most typical members beside their reconstructions, and its worst member.

    One row per active expert: ``n_per_expert`` members it reconstructs best, then the same
    reconstructed by it, then (after a gap) the member it reconstructs worst and its
    reconstruction. Blank cells: the expert has fewer members.

    Parameters
    ----------
    model : fitted MixAEGraph
    X : array-like of shape (n_samples, n_features)
    image_shape : tuple of int
        ``(height, width)`` of one image; ``height * width == n_features``.
    n_per_expert : int, default=6
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
        The grid image is the one ``AxesImage`` (gid ``"grid"``); one y tick per expert.
    """
    h, w = image_shape
    if h * w != np.asarray(X).shape[1]:
        raise ValueError(f"image_shape {image_shape} does not hold {np.asarray(X).shape[1]} features")
    data = expert_reconstructions_data(model, X, n_per_expert)
    k, n = len(data["slots"]), n_per_expert
    pad = max(1, h // 8)
    cell_h, cell_w = h + pad, w + pad
    # Columns: n originals | gap | n reconstructions | gap | worst, its reconstruction.
    starts = [i * cell_w for i in range(n)]
    starts += [(n + 1 + i) * cell_w for i in range(n)]
    starts += [(2 * n + 2) * cell_w, (2 * n + 3) * cell_w]
    grid = np.full((k * cell_h, (2 * n + 4) * cell_w), np.nan, dtype=np.float32)
    for e in range(k):
        images = np.r_[data["originals"][e, :n], data["reconstructions"][e, :n],
                       data["originals"][e, n:], data["reconstructions"][e, n:]]
        for image, x0 in zip(images, starts):
            grid[e * cell_h : e * cell_h + h, x0 : x0 + w] = image.reshape(h, w)

    ax = _new_axes(ax, figsize=(7, 1.2 + 6.2 * grid.shape[0] / grid.shape[1]))
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(grid, cmap=cmap, interpolation="nearest", gid="grid")
    ax.set_yticks([e * cell_h + h / 2 for e in range(k)],
                  [f"C{model.module_.cluster_of_slot[s]} / E{s}  (n={c})"
                   for s, c in zip(data["slots"], data["counts"])], fontsize=8)
    ax.set_xticks([n * cell_w / 2, (n + 1) * cell_w + n * cell_w / 2, (2 * n + 3) * cell_w],
                  ["typical members", "reconstructions", "worst, recon."], fontsize=9)
    ax.xaxis.set_ticks_position("top")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("Experts: typical members, their reconstructions, the worst member", fontsize=11)
    return ax


# ----------------------------------------------------------------------------- confusion


def confusion_data(model, y) -> dict:
    """What :func:`confusion` draws: clusters against classes after Hungarian matching.

    Returns
    -------
    dict
        ``matrix`` (n_clusters, n_classes) of counts, rows ordered by matched class (unmatched
        clusters last); ``clusters`` (the model's cluster id of each row); ``matched`` (the class
        id each row was matched to, or a new id above the classes); ``classes``; ``accuracy``.
    """
    check_is_fitted(model, "labels_")
    y = np.asarray(y)
    _training_rows(model, y, "y")
    labels = model.labels_
    matched_labels = metrics.match_labels(y, labels)
    clusters = np.unique(labels)
    matched_of = {c: int(matched_labels[np.flatnonzero(labels == c)[0]]) for c in clusters}
    order = sorted(clusters, key=lambda c: matched_of[c])
    classes = np.unique(y)
    matrix = np.zeros((len(order), len(classes)), dtype=np.int64)  # (clusters, classes)
    row = {c: i for i, c in enumerate(order)}
    np.add.at(matrix, ([row[c] for c in labels], np.searchsorted(classes, y)), 1)
    return {
        "matrix": matrix,
        "clusters": np.array(order),
        "matched": np.array([matched_of[c] for c in order]),
        "classes": classes,
        "accuracy": float(np.mean(matched_labels == y)),
    }


def confusion(model, y, ax=None):
    """Counts of clusters (rows) against known classes (columns), clusters matched to classes by
    the Hungarian algorithm (:func:`mixae_graph.metrics.match_labels`) and ordered so the matched
    pairs lie on the diagonal.

    Parameters
    ----------
    model : fitted MixAEGraph
    y : array-like of shape (n_samples,)
        Integer classes of the training points.
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    data = confusion_data(model, y)
    matrix = data["matrix"]
    ax = _new_axes(ax)
    image = ax.imshow(matrix, cmap="Blues", aspect="auto", gid="confusion")
    ax.figure.colorbar(image, ax=ax, label="points", shrink=0.8)
    dark = matrix.max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                    color="white" if count > dark else "black")
    known = set(data["classes"].tolist())
    ax.set_yticks(range(len(matrix)), [
        f"C{c} → {m}" if m in known else f"C{c} (unmatched)"
        for c, m in zip(data["clusters"], data["matched"])
    ], fontsize=9)
    ax.set_xticks(range(len(data["classes"])), [str(c) for c in data["classes"]], fontsize=9)
    ax.set_xlabel("true class")
    ax.set_ylabel("cluster → matched class")
    ax.set_title(f"Clusters vs classes (accuracy {data['accuracy']:.3f} after matching)", fontsize=11)
    return ax


# ----------------------------------------------------------------------------- training curves


def _per_epoch(rows, column) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, mean value per epoch) of one column, skipping empty cells."""
    values = defaultdict(list)
    for row in rows:
        cell = row.get(column, "")
        if cell not in ("", None) and row.get("epoch", "") != "":
            values[int(float(row["epoch"]))].append(float(cell))
    epochs = np.array(sorted(values), dtype=int)
    return epochs, np.array([np.mean(values[e]) for e in epochs], dtype=float)


def training_curves_data(path) -> dict:
    """What :func:`training_curves` draws, read from a run's ``metrics.csv`` (Lightning's CSVLogger).

    The epoch columns ``train/<part>_epoch`` and ``experts_epoch`` are used; when a file has no
    epoch columns, its step columns (``train/<part>_step`` or ``train/<part>``) are averaged per epoch.

    Returns
    -------
    dict
        ``losses``: loss part -> ``(epochs, values)`` arrays; ``experts``: ``(epochs, values)``
        of the number of experts (empty arrays when not logged); ``source``: ``"epoch"`` or ``"step"``.
    """
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        columns, rows = reader.fieldnames or [], list(reader)
    epoch_columns = [c for c in columns if c.endswith("_epoch")]
    source = "epoch" if epoch_columns else "step"
    suffix = "_epoch" if epoch_columns else "_step"

    def part_of(column):  # "train/seed_epoch" -> "seed"; with no epoch columns also "train/seed"
        if not column.startswith("train/"):
            return None
        name = column[len("train/"):]
        if name.endswith(suffix):
            return name[: -len(suffix)]
        return None if epoch_columns or name.endswith("_epoch") else name

    losses = {}
    for column in columns:
        part = part_of(column)
        if part is not None and part not in losses:
            losses[part] = _per_epoch(rows, column)
    experts_columns = ["experts_epoch"] if epoch_columns else ["experts_step", "experts"]
    experts_column = next((c for c in experts_columns if c in columns), None)
    experts = _per_epoch(rows, experts_column) if experts_column else (np.array([], int), np.array([]))
    return {"losses": losses, "experts": experts, "source": source}


def training_curves(metrics_csv, ax=None):
    """Each part of the training loss per epoch, with the number of experts on a second axis.

    Parameters
    ----------
    metrics_csv : str or path
        The ``metrics.csv`` of a run (``<run folder>/metrics.csv``).
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes: one line per loss part (gid ``"loss/<part>"``); its twin on the right holds
        the number of experts as a step line (gid ``"experts"``), when logged.
    """
    data = training_curves_data(metrics_csv)
    ax = _new_axes(ax, figsize=(8, 4.5))
    colour_of = _palette(sorted(data["losses"]))
    for part, (epochs, values) in sorted(data["losses"].items()):
        ax.plot(epochs, values, marker="." if len(epochs) < 30 else None, lw=1.5,
                color=colour_of[part], label=part, gid=f"loss/{part}")
    every = [v for _, values in data["losses"].values() for v in values]
    if every and all(v > 0 and math.isfinite(v) for v in every):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" + (" (mean over steps)" if data["source"] == "step" else ""))
    handles, labels = ax.get_legend_handles_labels()
    epochs, values = data["experts"]
    if len(epochs):
        right = ax.twinx()
        right.step(epochs, values, where="post", color="black", lw=1.8, ls="--",
                   label="experts", gid="experts")
        right.set_ylabel("experts")
        right.set_ylim(0, max(values.max() * 1.15, 1))
        right.yaxis.get_major_locator().set_params(integer=True)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=5,
                  fontsize=9, frameon=False)  # below the axes: the curves fill the plot
    ax.set_title("Training: loss parts (left) and number of experts (right)", fontsize=11)
    return ax


# ----------------------------------------------------------------------------- gated experts


def _expert_name(model, key) -> str:
    if isinstance(key, tuple):
        return f"pair {key[0]}+{key[1]}"
    if key < model.n_clusters_:
        return f"cluster {key}"
    if model.parent_[key] is None:
        return "root (global)"
    return f"node {key} (" + "+".join(map(str, model.node_clusters_[key])) + ")"


def gated_experts_data(model, X) -> dict:
    """What :func:`gated_experts` draws: the expert that weighs most for each point of ``X``.

    Returns
    -------
    dict
        ``expert`` (n,) index into ``names``, ``names`` (one readable name per expert used:
        ``cluster c``, ``node n (a+b)`` for a tree node above clusters, ``root (global)``,
        ``pair a+b``) and ``weight`` (n,), that expert's share of the point's mixture.
    """
    check_is_fitted(model, "experts_")
    routes = model.routing(X)
    main = [max(route, key=route.get) for route in routes]
    keys = sorted(set(main), key=lambda k: (isinstance(k, tuple), k))
    index = {k: i for i, k in enumerate(keys)}
    return {"expert": np.array([index[k] for k in main]), "names": [_expert_name(model, k) for k in keys],
            "weight": np.array([route[k] for route, k in zip(routes, main)])}


def gated_experts(model, X, coordinates, ax=None):
    """Which expert of a :class:`~mixae_graph.moe.GatedExperts` serves which region: every point
    at its 2-D ``coordinates`` (the data's own, or a layout such as :func:`embedding`), coloured
    by the expert with the largest weight in its mixture, paler where that weight is under 0.9.

    Parameters
    ----------
    model : fitted GatedExperts
    X : array-like of shape (n_samples, n_features)
    coordinates : array-like of shape (n_samples, 2)
    ax : matplotlib Axes, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    data = gated_experts_data(model, X)
    coordinates = np.asarray(coordinates)
    if coordinates.shape != (len(data["expert"]), 2):
        raise ValueError(f"coordinates must have shape ({len(data['expert'])}, 2), got {coordinates.shape}")
    ax = _new_axes(ax)
    colours = _palette(range(len(data["names"])))
    for i, name in enumerate(data["names"]):
        rows = data["expert"] == i
        sure = rows & (data["weight"] >= 0.9)
        ax.scatter(*coordinates[sure].T, s=8, color=colours[i], label=name, gid=f"expert-{i}")
        ax.scatter(*coordinates[rows & ~sure].T, s=8, color=colours[i], alpha=0.35)
    ax.legend(fontsize=8, markerscale=2, loc="best", title="serving expert", title_fontsize=8)
    ax.set_title(f"Which expert serves which point ({model.n_clusters_} clusters)", fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
