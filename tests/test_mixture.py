"""The mixture's scalars (noise variances, mixing weights) and the EM round that moves points."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mixae_graph.connectivity import expectation
from mixae_graph.module import MIN_NOISE_VAR, MixAEGraphModule


def two_expert_module():
    module = MixAEGraphModule(n_features=4, trunk=dict(hidden=(8,), latent_dim=2),
                              experts=dict(hidden=(4,), latent_dim=2, dims=None, max_experts=4))
    module.bank.add_expert(source=0)  # slots 0 and 1 active
    return module


def test_fit_mixture_by_hand():
    module = two_expert_module()
    assert module.prior_points == 4  # the experts' widest layer: hidden (4,), latent 2
    errors = torch.tensor([[1.0, 5.0], [3.0, 5.0], [9.0, 0.5], [0.0, 0.0]])
    module.fit_mixture(errors, torch.tensor([0, 0, 1, 1]))
    # Expert 0 holds rows 0-1 (errors 1 + 3), expert 1 rows 2-3 (0.5 + 0); pooled 4.5 / 4 = 1.125.
    # With 2 points each against a prior worth 4: (4 + 4 * 1.125) / 6 and (0.5 + 4 * 1.125) / 6.
    torch.testing.assert_close(module.noise_var[:2], torch.tensor([8.5 / 6, 5.0 / 6]))
    torch.testing.assert_close(module.log_prior[:2], torch.full((2,), math.log(0.5)))
    assert module.noise_var[2:].tolist() == [1.0, 1.0]  # inactive slots untouched


def test_fit_mixture_lets_a_large_expert_keep_its_own_noise_scale():
    module = two_expert_module()
    columns = torch.tensor([0] * 4000 + [1] * 4)
    errors = torch.where(columns[:, None] == 0, 2.0, 0.01).expand(-1, 2).clone()
    module.fit_mixture(errors, columns)
    pooled = (4000 * 2.0 + 4 * 0.01) / 4004
    assert module.noise_var[0].item() == pytest.approx(2.0, rel=1e-3)  # 4,000 points outweigh a prior of 4
    assert module.noise_var[1].item() == pytest.approx((0.04 + 4 * pooled) / 8, rel=1e-5)  # 4 points do not


def test_fit_mixture_keeps_an_empty_expert_and_floors_a_perfect_one():
    module = two_expert_module()
    module.noise_var[1] = 7.0
    module.fit_mixture(torch.zeros(3, 2), torch.tensor([0, 0, 0]))
    assert module.noise_var[0].item() == pytest.approx(MIN_NOISE_VAR)  # exact reconstructions: a finite likelihood
    assert module.noise_var[1].item() == 7.0 and module.log_prior[0].item() == 0.0


def test_expectation_lets_the_graph_outvote_a_hesitant_router():
    # Three points on a path; the two experts are the same network, so the router alone is a coin
    # toss settled by the noise variances. The M-step gives expert 0 (two tight points) the smaller
    # variance; the E-step's smoothing then puts the middle point with its two neighbours.
    module = two_expert_module()
    torch.manual_seed(0)
    X = torch.randn(3, 4).numpy()
    graph = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    labels = expectation(module, X, graph, np.array([0, 1, 0]))
    assert labels.tolist() == [0, 0, 0]


def test_scaling_is_computed_on_the_cpu_and_copied_to_the_modules_device():
    # The data stay on the CPU while the module trains on a GPU: the first GPU fit failed here
    # (cuda:0 and cpu in one product). The meta device stands in for the GPU on a CPU-only machine.
    module = MixAEGraphModule(n_features=64, experts=dict(dims=16)).to("meta")
    module.fit_scaling(np.random.default_rng(0).random((100, 64)).astype(np.float32))
    assert module.basis.device.type == "meta" and module.basis.shape == (64, 16)


def test_a_fit_on_landmarks_labels_every_point_as_the_router_does():
    """Above ``graph.max_points`` the graph and its E-steps run over landmarks; every other point
    follows its nearest landmark while training, and the final labels are the router's."""
    from sklearn.datasets import make_blobs

    from mixae_graph import MixAEGraph
    from mixae_graph.metrics import cluster_accuracy

    X, y = make_blobs(n_samples=600, n_features=20, centers=4, cluster_std=1.0, random_state=0)
    X = X.astype(np.float32)
    model = MixAEGraph(trunk=dict(epochs=10, hidden=(64,)), experts=dict(epochs=4, hidden=(16,)),
                       graph=dict(max_points=200), random_state=0).fit(X)
    assert len(model.module_.state.graph.landmarks) == 200
    assert model.latent_graph_.shape == (600, 600)
    assert cluster_accuracy(y, model.labels_) == 1.0
    np.testing.assert_array_equal(model.predict(X), model.labels_)
