"""The joint training objective: MIXAE's loss plus two graph terms.

MIXAE (Zhang, Sun, Eriksson and Balzano, arXiv 1712.07788) trains a mixture of autoencoders with the
assignment-weighted reconstruction error, a per-sample entropy that makes assignments confident, and a
batch entropy (subtracted) that keeps every expert in use. mixae-graph adds the latent kNN graph: a
batch holds anchor points ``i`` and one sampled graph neighbour ``j`` per anchor, and

* ``graph_agreement`` asks neighbours to share an expert, so assignments follow connectivity;
* ``border`` lets each expert also learn the neighbours just outside its cluster, so that its border is
  learnt from both sides (down-weighted by ``border_weight``);
* ``contrast`` asks each point's own expert to explain it better than any other expert by a margin,
  so that an expert also learns what its cluster is not.
"""

from __future__ import annotations

import torch
from torch import Tensor

PARTS = ("reconstruction", "sample_entropy", "batch_entropy", "graph_agreement", "border", "contrast")
# The contrast term's margin, in deviance units (routing.deviance): one unit is an expert's typical
# error on its own points, so the own expert should explain a point about twice as well as the next.
CONTRAST_MARGIN = 1.0


def contrast_weight(weight: float, expert_epoch: int, expert_epochs: int) -> float:
    """The contrast term's weight in expert epoch ``expert_epoch`` (from 0) of ``expert_epochs``:
    0 in the first half, ``weight`` in the second.

    The experts start as near copies of one another. In the first half they follow EM alone and
    move points between clusters freely; in the second the hinge makes each expert clearly better
    than the others on its own points, so that the router, whose choice is ``labels_``, reproduces
    the partition even after a few training steps.
    """
    return weight if expert_epoch >= expert_epochs // 2 else 0.0


def mixae_objective(
    errors: Tensor,
    probabilities: Tensor,
    responsibilities: Tensor,
    neighbour_errors: Tensor | None = None,
    neighbour_probabilities: Tensor | None = None,
    edge_weight: Tensor | None = None,
    labels: Tensor | None = None,
    neighbour_labels: Tensor | None = None,
    *,
    alpha: float,
    beta: float,
    gamma: float,
    border_weight: float,
    contrast: float = 0.0,
    anchor_labels: Tensor | None = None,
    eps: float = 1e-8,
) -> tuple[Tensor, dict[str, Tensor]]:
    """``total = reconstruction + alpha * sample_entropy - beta * batch_entropy
    + gamma * graph_agreement + border_weight * border + contrast * contrast_term``.

    Columns index experts (e.g. ``bank.active_slots``); rows index anchors, and row ``i`` of every
    ``neighbour_*`` tensor belongs to the graph neighbour sampled for anchor ``i``.

    Parameters
    ----------
    errors : Tensor of shape (batch, k)
        Reconstruction error of each anchor by each expert (:func:`routing.reconstruction_error`).
    probabilities : Tensor of shape (batch, k)
        Soft assignments ``p`` of the anchors (:func:`routing.soft_assignment`), rows summing to one.
    responsibilities : Tensor of shape (batch, k)
        Weights of the reconstruction term: ``probabilities`` for joint training, or one-hot graph
        assignments from an E-step. The caller decides.
    neighbour_errors : Tensor of shape (batch, k), default=None
        Errors of the sampled neighbours; needed for ``border``.
    neighbour_probabilities : Tensor of shape (batch, k), default=None
        Soft assignments of the sampled neighbours; needed for ``graph_agreement``.
    edge_weight : Tensor of shape (batch,), default=None
        kNN-graph weight ``w_ij`` of each pair. None means 1, right when pairs were sampled in
        proportion to their weight.
    labels, neighbour_labels : LongTensor of shape (batch,), default=None
        Current cluster (column) of anchors and neighbours; needed for ``border``.
    alpha, beta, gamma, border_weight, contrast : float
        Weights of the terms, see the formula above.
    anchor_labels : LongTensor of shape (batch,), default=None
        Cluster (column) of every anchor, -1 where it has none; needed for ``contrast``.
    eps : float, default=1e-8
        Inside the logarithms, so one-hot assignments give finite gradients.

    Returns
    -------
    total : Tensor, scalar
        The loss to minimise.
    parts : dict of str to Tensor
        Every term of :data:`PARTS`, unweighted, plus ``"total"``; all detached scalars. A term whose
        inputs were not given is 0.

    Notes
    -----
    reconstruction
        ``mean_i sum_k r[i, k] * e[i, k]``: each expert reconstructs the points it is responsible for.
    sample_entropy
        ``mean_i H(p[i])``; minimising it makes each point confident about its expert.
    batch_entropy
        ``H(mean_i p[i])``; subtracted, so maximised: the batch spreads over experts instead of
        collapsing into one.
    graph_agreement
        ``mean_i w_ij * ||p[i] - p[j]||^2`` over the sampled pairs: graph neighbours share an expert.
    border
        ``sum_i m_ij w_ij e[j, labels[i]] / sum_i m_ij``, where ``m_ij`` marks pairs whose neighbour lies
        in another cluster (``neighbour_labels != labels``): the anchor's expert also learns to
        reconstruct the neighbours just across its border. Pairs inside one cluster add nothing here,
        since the reconstruction term covers them already.
    contrast
        ``mean_i max(0, m + e[i, c_i] - min_(k != c_i) e[i, k])`` over anchors with a cluster
        ``c_i`` (``m`` = :data:`CONTRAST_MARGIN`): zero once the own expert leads by the margin.
    """
    _check_matrix("probabilities", probabilities, errors)
    _check_matrix("responsibilities", responsibilities, errors)
    zero = errors.new_zeros(())

    reconstruction = (responsibilities * errors).sum(dim=1).mean()
    sample_entropy = _entropy(probabilities, eps).mean()
    batch_entropy = _entropy(probabilities.mean(dim=0), eps)

    weight = errors.new_ones(len(errors)) if edge_weight is None else edge_weight  # (batch,)
    graph_agreement = zero
    if neighbour_probabilities is not None:
        _check_matrix("neighbour_probabilities", neighbour_probabilities, errors)
        squared_distance = (probabilities - neighbour_probabilities).pow(2).sum(dim=1)  # (batch,)
        graph_agreement = (weight * squared_distance).mean()

    border = zero
    if neighbour_errors is not None:
        _check_matrix("neighbour_errors", neighbour_errors, errors)
        if labels is None or neighbour_labels is None:
            raise ValueError("the border term needs labels and neighbour_labels with neighbour_errors")
        outside = (labels != neighbour_labels).to(errors.dtype)  # (batch,)
        by_anchor_expert = neighbour_errors.gather(1, labels.view(-1, 1)).squeeze(1)  # (batch,)
        border = (outside * weight * by_anchor_expert).sum() / outside.sum().clamp(min=1)

    contrast_term = zero
    if contrast and anchor_labels is not None and errors.shape[1] > 1:
        has = anchor_labels >= 0
        if has.any():
            e, c = errors[has], anchor_labels[has]
            own = e.gather(1, c.view(-1, 1)).squeeze(1)
            other = e.scatter(1, c.view(-1, 1), float("inf")).min(dim=1).values
            contrast_term = torch.relu(CONTRAST_MARGIN + own - other).mean()

    total = (
        reconstruction
        + alpha * sample_entropy
        - beta * batch_entropy
        + gamma * graph_agreement
        + border_weight * border
        + contrast * contrast_term
    )
    parts = dict(
        zip(PARTS, (reconstruction, sample_entropy, batch_entropy, graph_agreement, border, contrast_term))
    )
    parts["total"] = total
    return total, {name: value.detach() for name, value in parts.items()}


def _entropy(p: Tensor, eps: float) -> Tensor:
    """Shannon entropy (nats) along the last dimension."""
    return -(p * torch.log(p + eps)).sum(dim=-1)


def _check_matrix(name: str, value: Tensor, errors: Tensor) -> None:
    if value.shape != errors.shape:
        raise ValueError(
            f"{name} must have the shape of errors {tuple(errors.shape)}, got {tuple(value.shape)}"
        )
