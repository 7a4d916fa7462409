import math

import pytest
import torch

from mixae_graph.objective import PARTS, contrast_weight, mixae_objective
from mixae_graph.routing import soft_assignment

WEIGHTS = dict(alpha=0.3, beta=0.7, gamma=2.0, border_weight=0.25)
UNIFORM = torch.full((2, 2), 0.5)
ONE_HOT = torch.tensor([[1.0, 0.0], [0.0, 1.0]])


def objective(errors, probabilities, responsibilities=None, **kwargs):
    responsibilities = probabilities if responsibilities is None else responsibilities
    return mixae_objective(errors, probabilities, responsibilities, **{**WEIGHTS, **kwargs})


def test_reconstruction_weighs_errors_by_responsibilities():
    errors = torch.tensor([[1.0, 3.0], [2.0, 4.0]])
    responsibilities = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    _, parts = objective(errors, UNIFORM, responsibilities)
    assert parts["reconstruction"].item() == pytest.approx((1.0 + 3.0) / 2)


def test_sample_entropy_uniform_vs_one_hot():
    _, parts = objective(torch.zeros(2, 2), UNIFORM)
    assert parts["sample_entropy"].item() == pytest.approx(math.log(2))
    _, parts = objective(torch.zeros(2, 2), ONE_HOT)
    assert parts["sample_entropy"].item() == pytest.approx(0.0, abs=1e-6)


def test_batch_entropy_spread_vs_collapsed():
    _, parts = objective(torch.zeros(2, 2), ONE_HOT)  # one point per expert
    assert parts["batch_entropy"].item() == pytest.approx(math.log(2))
    collapsed = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    _, parts = objective(torch.zeros(2, 3), collapsed)
    assert parts["batch_entropy"].item() == pytest.approx(0.0, abs=1e-6)
    p = torch.eye(3)
    _, parts = objective(torch.zeros(3, 3), p)
    assert parts["batch_entropy"].item() == pytest.approx(math.log(3))


def test_graph_agreement_is_weighted_squared_distance():
    anchor = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    neighbour = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    weight = torch.tensor([0.5, 1.0])
    _, parts = objective(
        torch.zeros(2, 2), anchor, neighbour_probabilities=neighbour, edge_weight=weight
    )
    assert parts["graph_agreement"].item() == pytest.approx((0.5 * 2.0 + 1.0 * 0.0) / 2)


def test_border_uses_anchor_expert_on_outside_neighbours_only():
    neighbour_errors = torch.tensor([[5.0, 7.0], [2.0, 3.0], [9.0, 4.0]])
    labels = torch.tensor([0, 1, 1])
    neighbour_labels = torch.tensor([1, 1, 0])  # pairs 0 and 2 cross a border
    weight = torch.tensor([0.5, 1.0, 1.0])
    _, parts = objective(
        torch.zeros(3, 2), torch.full((3, 2), 0.5), neighbour_errors=neighbour_errors,
        edge_weight=weight, labels=labels, neighbour_labels=neighbour_labels,
    )
    # pair 0: anchor expert 0 on its neighbour, 0.5 * 5; pair 2: expert 1, 1.0 * 4; mean over 2 pairs
    assert parts["border"].item() == pytest.approx((0.5 * 5.0 + 4.0) / 2)


def test_border_is_zero_without_crossing_pairs():
    errors = torch.rand(3, 2, requires_grad=True)
    labels = torch.tensor([0, 1, 1])
    total, parts = objective(
        errors, soft_assignment(errors, 1.0), neighbour_errors=errors * 2,
        labels=labels, neighbour_labels=labels,
    )
    assert parts["border"].item() == 0.0
    total.backward()
    assert torch.isfinite(errors.grad).all()


def test_total_is_weighted_sum_of_parts_and_gradients_are_finite():
    torch.manual_seed(0)
    errors = torch.rand(8, 3, requires_grad=True)
    neighbour_errors = torch.rand(8, 3, requires_grad=True)
    p = soft_assignment(errors, 0.01)  # nearly one-hot: the logs need eps
    q = soft_assignment(neighbour_errors, 0.01)
    labels, neighbour_labels = p.argmax(1), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    total, parts = mixae_objective(
        errors, p, p, neighbour_errors, q, torch.rand(8), labels, neighbour_labels, **WEIGHTS,
        contrast=0.5, anchor_labels=neighbour_labels,
    )
    assert set(parts) == {*PARTS, "total"}
    assert all(value.dim() == 0 and not value.requires_grad for value in parts.values())
    expected = (
        parts["reconstruction"]
        + WEIGHTS["alpha"] * parts["sample_entropy"]
        - WEIGHTS["beta"] * parts["batch_entropy"]
        + WEIGHTS["gamma"] * parts["graph_agreement"]
        + WEIGHTS["border_weight"] * parts["border"]
        + 0.5 * parts["contrast"]
    )
    assert all(parts[name].item() > 0 for name in PARTS)  # every term is exercised
    torch.testing.assert_close(total.detach(), expected)
    torch.testing.assert_close(parts["total"], expected)
    total.backward()
    assert torch.isfinite(errors.grad).all() and errors.grad.abs().sum() > 0
    assert torch.isfinite(neighbour_errors.grad).all() and neighbour_errors.grad.abs().sum() > 0


def test_batch_entropy_pushes_against_collapse():
    # with only the batch-entropy term, a descent step moves mass towards the unused expert
    logits = torch.tensor([[3.0, 0.0], [3.0, 0.0]], requires_grad=True)
    p = torch.softmax(logits, dim=1)
    total, _ = mixae_objective(
        torch.zeros(2, 2), p, torch.zeros(2, 2), alpha=0, beta=1, gamma=0, border_weight=0
    )
    total.backward()
    assert (logits.grad[:, 1] < 0).all()


def test_contrast_is_a_hinge_on_the_own_experts_lead():
    # Margin 1: point 0 (own expert 0) leads by 2 -> 0; point 1 (own 1) trails by 0.5 -> 1.5;
    # point 2 has no cluster and is left out. Mean over the two with a cluster: 0.75.
    errors = torch.tensor([[1.0, 3.0, 4.0], [2.0, 2.5, 2.0], [9.0, 0.0, 0.0]], requires_grad=True)
    p = torch.full((3, 3), 1 / 3)
    total, parts = mixae_objective(errors, p, torch.zeros(3, 3), alpha=0, beta=0, gamma=0, border_weight=0, contrast=2.0,
                                   anchor_labels=torch.tensor([0, 1, -1]))
    assert parts["contrast"].item() == pytest.approx(0.75)
    total.backward()
    # The hinge pushes point 1's own error down and its best rival's (expert 0 and 2 tie) up.
    assert errors.grad[1, 1] > 0 and errors.grad[2].abs().sum() == 0


def test_contrast_is_off_for_the_first_half_of_the_expert_epochs():
    # 20 expert epochs: 0-9 run EM alone, 10-19 with the hinge; 5 epochs: 0-1 off, 2-4 on.
    assert [contrast_weight(1.5, epoch, 20) for epoch in (0, 9, 10, 19)] == [0.0, 0.0, 1.5, 1.5]
    assert [contrast_weight(1.0, epoch, 5) for epoch in range(5)] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert contrast_weight(1.0, 0, 1) == 1.0  # a single expert epoch keeps the hinge


def test_missing_graph_inputs_give_zero_terms():
    _, parts = objective(torch.rand(4, 2), torch.full((4, 2), 0.5))
    assert parts["graph_agreement"].item() == 0.0 and parts["border"].item() == 0.0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape of errors"):
        objective(torch.rand(4, 2), torch.full((4, 3), 1 / 3))
    with pytest.raises(ValueError, match="labels"):
        objective(torch.rand(4, 2), torch.full((4, 2), 0.5), neighbour_errors=torch.rand(4, 2))
