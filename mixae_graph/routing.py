"""Routing: which expert does a point belong to?

A point belongs to the expert under which it is most likely. Each expert ``k`` is a Gaussian around
its reconstruction with an isotropic noise variance ``v_k`` of its own and a mixing weight ``pi_k``,
as in a mixture of probabilistic PCA (Tipping and Bishop 1999, eq. 4):
``log p_k(x) = -d/2 log(2 pi v_k) - d e_k(x) / (2 v_k) + log pi_k``, with ``e_k`` the mean squared
error over the ``d`` features. :func:`deviance` is ``-2/d`` times that (up to a constant): an
expert of simple shapes has a small ``v_k``, so it no longer wins every simple point just because
its raw error is small. The soft version, ``p[i, k]``, weighs each expert's reconstruction in MIXAE's
objective (Zhang, Sun, Eriksson and Balzano, arXiv 1712.07788); :func:`spread` smooths it over the
kNN graph, so that neighbours agree. Pure tensor and sparse-matrix functions.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

# Label spreading's steps: alpha**20 = 0.12 at alpha 0.9, so the walk has nearly reached its limit.
SPREAD_STEPS = 20


def reconstruction_error(x: Tensor, reconstruction: Tensor) -> Tensor:
    """Mean squared error of each expert's reconstruction, over features.

    Parameters
    ----------
    x : Tensor of shape (batch, n_features)
    reconstruction : Tensor of shape (batch, k, n_features)

    Returns
    -------
    errors : Tensor of shape (batch, k)
    """
    return (reconstruction - x.unsqueeze(1)).pow(2).mean(dim=2)  # (batch, k)


def deviance(errors: Tensor, noise_var: Tensor, log_prior: Tensor, n_features: int) -> Tensor:
    """Per-feature deviance ``e[i, k] / v_k + log v_k - (2 / d) log pi_k``: ``-2/d`` times the
    Gaussian log-likelihood of each point under each expert, up to a constant. Smaller is likelier;
    its arg-min is the maximum-likelihood expert.

    Parameters
    ----------
    errors : Tensor of shape (batch, k)
        Mean squared reconstruction errors over the ``n_features`` features.
    noise_var : Tensor of shape (k,)
        Each expert's noise variance ``v_k`` (positive), in the units of ``errors``.
    log_prior : Tensor of shape (k,)
        Log mixing weights ``log pi_k``.
    n_features : int
        ``d``, the number of features the errors average over.
    """
    return errors / noise_var + noise_var.log() - (2.0 / n_features) * log_prior  # (batch, k)


def least_shares(errors: Tensor, noise_var: Tensor, log_prior: Tensor, n_features: int,
                 min_points: int) -> Tensor:
    """Log mixing weights under which every expert is the most likely one for at least
    ``min_points`` points: what a promised number of clusters (``n_clusters``) asks of the router.

    Where the experts alone leave an expert short (two halves of one round blob reconstruct each
    other's points alike, and the larger mixing weight takes them all), points move to it one at a
    time along the cheapest chain of experts, as in the successive shortest paths of a
    transportation problem: an expert with points to spare gives its point nearest to the next
    expert of the chain, which gives one to the next, up to the short one. The mixing weights are
    the potentials of those paths (a weight rises by the path's cost, so each moved point becomes
    its new expert's, and no other point's likeliest expert changes), plus a step below any other
    point's margin (but above float32 rounding) that breaks the ties in the moved points' favour.
    Each path moves one point into a short expert: ``k * min_points`` paths at most, unless a
    tie-break at float32 resolution moves more (the loop allows twice that). The router then
    labels the training points and every new point with these weights: the fit's labels stay the
    router's.

    Parameters
    ----------
    errors : Tensor of shape (n, k)
        Relative reconstruction errors of every point by every expert.
    noise_var, log_prior : Tensor of shape (k,)
    n_features : int
    min_points : int
        From 1 to ``n // k``.

    Returns
    -------
    log_prior : Tensor of shape (k,)
    """
    n, k = errors.shape
    if not 1 <= min_points <= n // k:
        raise ValueError(f"min_points must be between 1 and n // k = {n // k}, got {min_points}")
    log_prior = log_prior.clone()
    to_log_prior = n_features / 2.0  # a deviance lower by delta is a log weight higher by delta * d / 2
    for _ in range(2 * k * min_points + k):
        d = deviance(errors, noise_var, log_prior, n_features).double().cpu().numpy()
        owner = d.argmin(1)
        counts = np.bincount(owner, minlength=k)
        if counts.min() >= min_points:
            return log_prior
        margin = d - d[np.arange(n), owner][:, None]  # >= 0: how much likelier a point's own expert is
        cost = np.full((k, k), np.inf)  # cheapest move of one point from expert x to expert y
        for x in np.flatnonzero(counts):
            cost[x] = margin[owner == x].min(0)
        np.fill_diagonal(cost, np.inf)
        distance, parent = _cheapest_paths(cost, sources=counts > min_points)
        short = np.flatnonzero(counts < min_points)
        target = short[np.argmin(distance[short])]
        if not np.isfinite(distance[target]):
            raise RuntimeError(f"no expert can give points to expert column {target}")
        path = [target]
        while parent[path[-1]] >= 0:
            path.append(parent[path[-1]])
        raised = np.minimum(distance, distance[target])  # potentials: the path's moves cost nothing
        after = d - raised
        after -= after.min(1, keepdims=True)
        resolution = 1e-6 * (1.0 + np.abs(d).max())  # well above float32 rounding of the deviances
        positive = after[after > resolution]
        tie_break = max(0.25 * (positive.min() if len(positive) else 1.0) / len(path), resolution)
        for position, x in enumerate(reversed(path)):  # the giver first: each receiver a step above
            raised[x] += position * tie_break
        log_prior += torch.as_tensor(raised * to_log_prior, dtype=log_prior.dtype, device=log_prior.device)
    raise RuntimeError(f"no mixing weights found that give each of {k} experts {min_points} points")


def _cheapest_paths(cost: np.ndarray, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dijkstra over a dense ``(k, k)`` matrix of non-negative edge costs from every source at
    once: distance and parent (-1 at a source or unreached) of every node."""
    k = len(cost)
    distance = np.where(sources, 0.0, np.inf)
    parent = np.full(k, -1)
    done = np.zeros(k, dtype=bool)
    for _ in range(k):
        open_ = np.where(done, np.inf, distance)
        x = int(np.argmin(open_))
        if not np.isfinite(open_[x]):
            break
        done[x] = True
        through = distance[x] + cost[x]
        better = ~done & (through < distance)
        distance[better], parent[better] = through[better], x
    return distance, parent


def spread(probabilities: np.ndarray, graph: sp.spmatrix, alpha: float, steps: int = SPREAD_STEPS) -> np.ndarray:
    """Soft assignments smoothed over the kNN graph by label spreading (Zhou et al. 2004):
    ``p <- (1 - alpha) p0 + alpha D^-1 W p``, ``steps`` times from ``p = p0``.

    Where the experts hesitate (borders, points their bottleneck generalises to), the neighbours
    decide, so the assignments follow connectivity. ``alpha=0`` returns ``p0``.
    """
    if alpha == 0:
        return probabilities
    degree = np.asarray(graph.sum(axis=1)).ravel()
    walk = sp.diags(1.0 / np.maximum(degree, 1e-12)) @ graph
    p = probabilities
    for _ in range(steps):
        p = (1 - alpha) * probabilities + alpha * (walk @ p)
    return p


def soft_assignment(errors: Tensor, temperature: float) -> Tensor:
    """``p[i, k] = softmax_k(-errors[i, k] / temperature)``, soft routing for MIXAE (arXiv 1712.07788).

    A low temperature approaches the hard assignment; a high one spreads points over all experts.

    Parameters
    ----------
    errors : Tensor of shape (batch, k)
    temperature : float
        Must be positive.

    Returns
    -------
    probabilities : Tensor of shape (batch, k), rows sum to one.
    """
    _check_temperature(temperature)
    return torch.softmax(-errors / temperature, dim=1)  # (batch, k)


def hard_assignment(errors: Tensor) -> Tensor:
    """Column of the expert with the smallest error, a LongTensor ``(batch,)``."""
    return errors.argmin(dim=1)


def cluster_probabilities(probabilities: Tensor, cluster_of_column: Tensor, n_clusters: int) -> Tensor:
    """Soft assignment to clusters: the experts' probabilities ``(n, k)`` summed over the experts of
    each cluster (``cluster_of_column``: the cluster of each of the ``k`` columns), ``(n, n_clusters)``."""
    out = probabilities.new_zeros(len(probabilities), n_clusters)
    return out.index_add_(1, cluster_of_column.to(probabilities.device), probabilities)


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
