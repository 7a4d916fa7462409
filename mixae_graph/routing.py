"""Routing: which expert does a point belong to?

A point belongs to the expert that reconstructs it best. The soft version, ``p[i, k]``, weighs each
expert's reconstruction error in MIXAE's objective (Zhang, Sun, Eriksson and Balzano, "Deep Unsupervised
Clustering Using Mixture of Autoencoders", arXiv 1712.07788). MIXAE infers ``p`` with an assignment
network over the experts' codes; here it comes straight from the errors, as a softmax with a
temperature, and a caller may mix the two. Pure tensor functions, plus one batched inference helper.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mixae_graph.experts import ExpertBank


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


@torch.no_grad()
def route(
    bank: ExpertBank,
    x: Tensor,
    temperature: float,
    batch_size: int = 4096,
    slots: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Route many points through the bank, ``batch_size`` at a time, without gradients.

    Each chunk runs on the bank's device; results come back on the device of ``x``.

    Parameters
    ----------
    bank : ExpertBank
    x : Tensor of shape (n, n_features)
    temperature : float
        Temperature of :func:`soft_assignment`.
    batch_size : int, default=4096
    slots : LongTensor of shape (k,), default=None
        Experts to route among; None means ``bank.active_slots``.

    Returns
    -------
    labels : LongTensor of shape (n,)
        Column indices into ``slots`` (by default into ``bank.active_slots``), not slot ids.
    probabilities : Tensor of shape (n, k)
    errors : Tensor of shape (n, k)
    """
    _check_temperature(temperature)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    device = bank.active.device
    slots = bank.active_slots if slots is None else torch.as_tensor(slots, device=device)
    chunks = []
    for start in range(0, len(x), batch_size):
        chunk = x[start : start + batch_size].to(device)
        chunks.append(bank.errors(chunk, slots).to(x.device))
    errors = torch.cat(chunks) if chunks else x.new_zeros(0, len(slots))  # (n, k)
    return hard_assignment(errors), soft_assignment(errors, temperature), errors


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
