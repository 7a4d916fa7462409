"""Baseline code shared by the benchmark scripts (``quality.py``, ``speed.py``).

:class:`N2D` is the N2D baseline (McConville et al. 2019): an MLP autoencoder d-500-500-2000-10 of
mixae-graph's trunk shape, UMAP of its codes to K dimensions (``min_dist=0``), a full-covariance
Gaussian mixture. ``fit`` clusters the training points; ``predict`` is the out-of-sample path
(encode with the trained autoencoder, ``UMAP.transform``, ``GaussianMixture.predict``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.mixture import GaussianMixture

from mixae_graph.datamodule import default_batch_size
from mixae_graph.experts import ExpertBank


def standardize(X: np.ndarray, mean=None, scale=None) -> torch.Tensor:
    """mixae-graph's scaling: centre each feature, divide by one global RMS (both from ``X`` unless given)."""
    x = torch.as_tensor(X, dtype=torch.float32)
    x = x - (x.mean(0) if mean is None else mean)
    return x / (x.pow(2).mean().sqrt().clamp(min=1e-8) if scale is None else scale)


def batches(n: int, generator: torch.Generator):
    """Shuffled index batches of mixae-graph's default size (the same steps per epoch)."""
    return torch.randperm(n, generator=generator).split(default_batch_size(n))


class N2D:
    """Autoencoder -> UMAP of the codes to ``n_clusters`` dims -> full-covariance GMM.

    The autoencoder trains ``epochs`` epochs (Adam lr 1e-3, mixae-graph's default batch size, MSE)
    on the standardized data. After ``fit``: ``labels_`` (training clusters) and ``final_mse_`` (last batch's loss).
    """

    def __init__(self, n_clusters: int, epochs: int, random_state: int = 0, n_neighbors: int = 20,
                 dropout: float = 0.0):
        self.n_clusters, self.epochs = n_clusters, epochs
        self.random_state, self.n_neighbors = random_state, n_neighbors
        self.dropout = dropout  # > 0: a denoising autoencoder, as mixae-graph's trunk

    def _encode(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return torch.cat([self.ae_.encode(chunk)[:, 0] for chunk in x.split(4096)]).numpy()

    def fit(self, X):
        import umap

        seed = self.random_state
        torch.manual_seed(seed)
        raw = torch.as_tensor(X, dtype=torch.float32)
        self.mean_ = raw.mean(0)
        self.scale_ = (raw - self.mean_).pow(2).mean().sqrt().clamp(min=1e-8)
        x = standardize(X, self.mean_, self.scale_)
        self.ae_ = ExpertBank(x.shape[1], (500, 500, 2000), 10, max_experts=1)  # the trunk's shape
        self.ae_.active[0] = True
        optimizer = torch.optim.Adam(self.ae_.parameters(), lr=1e-3, fused=True)  # as mixae-graph's
        generator = torch.Generator().manual_seed(seed)
        torch.set_flush_denormal(True)  # as mixae-graph's fit: subnormal floats are slow on CPUs
        for _ in range(self.epochs):
            for idx in batches(len(x), generator):
                loss = F.mse_loss(self.ae_(F.dropout(x[idx], self.dropout))[0][:, 0], x[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        torch.set_flush_denormal(False)
        self.final_mse_ = float(loss.detach())
        self.umap_ = umap.UMAP(n_components=self.n_clusters, min_dist=0.0, n_neighbors=self.n_neighbors,
                               random_state=seed)
        embedded = self.umap_.fit_transform(self._encode(x))
        self.gmm_ = GaussianMixture(n_components=self.n_clusters, covariance_type="full", random_state=seed)
        self.labels_ = self.gmm_.fit_predict(embedded)
        return self

    def predict(self, X) -> np.ndarray:
        """Clusters of new points: encode, ``UMAP.transform``, ``GaussianMixture.predict``."""
        codes = self._encode(standardize(X, self.mean_, self.scale_))
        return self.gmm_.predict(self.umap_.transform(codes))


class SoftmaxGateMoE:
    """The classic mixture of experts (Jacobs, Jordan, Nowlan & Hinton 1991): ``n_experts`` linear
    experts and a linear softmax gate, trained together, end to end, on the labelled points only, by
    the mixture's likelihood ``-log sum_k g_k(x) p_k(y | x)`` (softmax experts for classes, Gaussian
    experts with one learnt noise scale for a target). Adam, full batch, L2 ``weight_decay``; inputs
    standardized per feature."""

    def __init__(self, n_experts: int, classifier: bool, steps: int = 500, weight_decay: float = 1e-3,
                 random_state: int = 0):
        self.n_experts, self.classifier, self.steps = n_experts, classifier, steps
        self.weight_decay, self.random_state = weight_decay, random_state

    def _x(self, X):
        return torch.as_tensor((np.asarray(X, np.float32) - self.mean_) / self.scale_)

    def fit(self, X, y):
        torch.manual_seed(self.random_state)
        X = np.asarray(X, np.float32)
        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-6
        x = self._x(X)
        if self.classifier:
            self.classes_, codes = np.unique(y, return_inverse=True)
            target, width = torch.as_tensor(codes), len(self.classes_)
        else:
            target, width = torch.as_tensor(np.asarray(y, np.float32)), 1
        self.gate_ = torch.nn.Linear(x.shape[1], self.n_experts)
        self.experts_ = torch.nn.Linear(x.shape[1], self.n_experts * width)
        self.log_noise_ = torch.zeros((), requires_grad=True)
        params = [*self.gate_.parameters(), *self.experts_.parameters(), self.log_noise_]
        optimizer = torch.optim.Adam(params, lr=1e-2, weight_decay=self.weight_decay)
        for _ in range(self.steps):
            log_gate = torch.log_softmax(self.gate_(x), 1)  # (n, K)
            out = self.experts_(x).view(len(x), self.n_experts, width)
            if self.classifier:
                log_p = torch.log_softmax(out, 2).gather(2, target[:, None, None].expand(-1, self.n_experts, 1))[..., 0]
            else:
                noise = self.log_noise_.exp()
                log_p = -0.5 * ((target[:, None] - out[..., 0]) / noise) ** 2 - self.log_noise_
            loss = -torch.logsumexp(log_gate + log_p, 1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self

    def predict(self, X):
        with torch.no_grad():
            x = self._x(X)
            gate = torch.softmax(self.gate_(x), 1)
            out = self.experts_(x).view(len(x), self.n_experts, -1)
            if self.classifier:
                return self.classes_[(gate[..., None] * torch.softmax(out, 2)).sum(1).argmax(1).numpy()]
            return (gate * out[..., 0]).sum(1).numpy()
