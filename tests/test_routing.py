import math

import pytest
import torch

import numpy as np
import scipy.sparse as sp

from mixae_graph.routing import (cluster_probabilities, deviance, hard_assignment, least_shares,
                                  reconstruction_error, soft_assignment, spread)

ERRORS = torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64)


def test_soft_assignment_pinned_by_hand():
    # T = 0.5: row 0 is softmax(-2, -4) = (1, e^-2) / (1 + e^-2); row 1 is softmax(-6, 0).
    expected = torch.tensor(
        [[0.8807970779778823, 0.11920292202211769], [0.002472623156634657, 0.9975273768433653]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(soft_assignment(ERRORS, 0.5), expected, rtol=0, atol=1e-12)


def test_deviance_pinned_by_hand():
    # e / v + log v - (2 / d) log pi with v = (0.5, 2), pi = (0.25, 0.75), d = 4.
    noise_var = torch.tensor([0.5, 2.0], dtype=torch.float64)
    log_prior = torch.tensor([0.25, 0.75], dtype=torch.float64).log()
    expected = torch.tensor([
        [1.0 / 0.5 + math.log(0.5) - 0.5 * math.log(0.25), 2.0 / 2.0 + math.log(2.0) - 0.5 * math.log(0.75)],
        [3.0 / 0.5 + math.log(0.5) - 0.5 * math.log(0.25), 0.0 / 2.0 + math.log(2.0) - 0.5 * math.log(0.75)],
    ], dtype=torch.float64)
    torch.testing.assert_close(deviance(ERRORS, noise_var, log_prior, 4), expected, rtol=0, atol=1e-12)


def test_a_noisy_expert_does_not_win_by_raw_error():
    # Point error 1.0 under a tight expert (v = 0.25) and 1.2 under a loose one (v = 2): the
    # smallest raw error is the tight expert's, but the point is far likelier under the loose one.
    errors = torch.tensor([[1.0, 1.2]])
    d = deviance(errors, torch.tensor([0.25, 2.0]), torch.zeros(2), 100)
    assert hard_assignment(d).tolist() == [1]


def test_spread_lets_neighbours_decide_a_hesitant_point():
    # A path 0 - 1 - 2: points 0 and 2 are sure of expert 0; point 1 leans to expert 1.
    graph = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    p = np.array([[0.9, 0.1], [0.45, 0.55], [0.9, 0.1]])
    smoothed = spread(p, graph, alpha=0.9)
    assert smoothed.argmax(1).tolist() == [0, 0, 0]
    np.testing.assert_allclose(smoothed.sum(1), 1.0)
    np.testing.assert_array_equal(spread(p, graph, alpha=0.0), p)  # no smoothing: the router's own


def test_hard_assignment_picks_smallest_error():
    assert hard_assignment(ERRORS).tolist() == [0, 1]


def test_temperature_limits():
    cold = soft_assignment(ERRORS, 1e-3)
    assert torch.equal(cold, torch.nn.functional.one_hot(hard_assignment(ERRORS), 2).double())
    hot = soft_assignment(ERRORS, 1e6)
    torch.testing.assert_close(hot, torch.full_like(hot, 0.5), rtol=0, atol=1e-5)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be positive"):
        soft_assignment(ERRORS, temperature)


def test_reconstruction_error_is_mean_squared_over_features():
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    reconstruction = torch.tensor([[[1.0, 1.0], [2.0, 0.0]], [[1.0, 2.0], [4.0, 6.0]]])  # (2, 2, 2)
    expected = torch.tensor([[1.0, 2.0], [0.0, (9 + 16) / 2]])
    torch.testing.assert_close(reconstruction_error(x, reconstruction), expected)


def test_cluster_probabilities_sum_the_experts_of_each_cluster():
    p = torch.tensor([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8]])
    out = cluster_probabilities(p, torch.tensor([1, 0, 1]), 2)  # experts 0 and 2 form cluster 1
    torch.testing.assert_close(out, torch.tensor([[0.2, 0.8], [0.1, 0.9]]))


# ---------------------------------------------------------------------------- least_shares
def _owners(errors, noise_var, log_prior):
    return deviance(errors, noise_var, log_prior, 4).argmin(1)


def test_least_shares_leaves_weights_that_already_give_every_expert_points():
    errors = torch.tensor([[0.1, 1.0], [0.2, 1.0], [1.0, 0.1], [1.0, 0.3]])
    log_prior = torch.log(torch.tensor([0.5, 0.5]))
    np.testing.assert_array_equal(least_shares(errors, torch.ones(2), log_prior, 4, 2).numpy(), log_prior.numpy())


def test_least_shares_gives_a_twin_expert_the_points_it_is_closest_to_winning():
    # Expert 1 reconstructs every point slightly worse than expert 0, by a margin that grows with
    # the row: with equal weights it wins nothing; it must win exactly the three rows nearest to it.
    margin = torch.linspace(0.01, 0.2, 20)
    errors = torch.stack([torch.ones(20), 1.0 + margin], 1)
    log_prior = torch.log(torch.tensor([0.5, 0.5]))
    assert (_owners(errors, torch.ones(2), log_prior) == 0).all()
    raised = least_shares(errors, torch.ones(2), log_prior, 4, 3)
    np.testing.assert_array_equal(_owners(errors, torch.ones(2), raised).numpy(), [1, 1, 1] + [0] * 17)
    assert raised[1] > log_prior[1] and raised[0] == log_prior[0]


def test_least_shares_serves_many_short_experts_at_once():
    # 40 experts that reconstruct 400 points nearly alike (tiny random differences), with one
    # expert's weight far above the rest: every expert ends up the likeliest for 5 points or more.
    errors = 1.0 + 1e-3 * torch.rand(400, 40, generator=torch.Generator().manual_seed(0))
    log_prior = torch.full((40,), -10.0)
    log_prior[7] = 0.0
    raised = least_shares(errors, torch.ones(40), log_prior, 4, 5)
    counts = torch.bincount(_owners(errors, torch.ones(40), raised), minlength=40)
    assert counts.min() >= 5 and counts.sum() == 400


def test_least_shares_refuses_an_impossible_minimum():
    with pytest.raises(ValueError, match="between 1 and n // k = 2"):
        least_shares(torch.ones(5, 2), torch.ones(2), torch.zeros(2), 4, 3)
