"""The DataModule: the data, and batches drawn from the fit's state (graph, expert labels), which the
module holds (:class:`~mixae_graph.state.FitState`).

Each training item is an anchor point with one neighbour drawn from the kNN graph, so that a batch
carries the pairs the graph-agreement and border terms need. Neighbours are redrawn every epoch;
before the graph exists (trunk pretraining) a point is its own neighbour with weight 0.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, TensorDataset

from .datasets import ClusterData, from_arrays, load_dataset


class PairDataset(Dataset):
    """Anchor points with one graph neighbour each: ``(x, neighbour x, edge weight, label, neighbour
    label)``. A batch is gathered in one indexing per tensor (``__getitems__``), not point by point."""

    def __init__(self, X: torch.Tensor, neighbour: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor):
        self.X, self.neighbour, self.weight, self.labels = X, neighbour, weight, labels

    def __len__(self) -> int:
        return len(self.X)

    def __getitems__(self, indices) -> list[torch.Tensor]:
        rows = torch.as_tensor(indices, dtype=torch.long)
        other = self.neighbour[rows]
        return [self.X[rows], self.X[other], self.weight[rows], self.labels[rows], self.labels[other]]

    def __getitem__(self, index: int) -> list[torch.Tensor]:
        return [t[0] for t in self.__getitems__([index])]


def _as_is(batch):
    return batch  # __getitems__ already made the batch


# Optimizer steps an epoch at the default batch size: an autoencoder learns per step, so an epoch
# budget must mean the same training on 60 points as on 60,000 (below 32 x 64 points an epoch
# passes over the data more than once).
STEPS_PER_EPOCH = 32


def default_batch_size(n_samples: int) -> int:
    """About 32 optimizer steps an epoch: ``n_samples // 32`` points a batch, kept within 64..256
    (below 2,048 points an epoch draws 32 batches of 64, passing over the data more than once).

    Epoch budgets count passes over the data, but an autoencoder learns per step: at a fixed 256,
    1,000 points make 4 steps an epoch, MNIST-10k 39. Measured with the defaults (seeds 0-2), fewer
    and more steps both did worse: spirals ACC 0.980 at 256 (4 steps) against 1.000 at 64 (16);
    digits 0.902 at 256 (7), 0.913 at 64 (28), 0.903 at 32 (56); MNIST-10k 0.924 at 256 (39)
    against 0.858 at 128 (78), where the graph counted fewer classes. From 8,192 points on,
    batches are 256.
    """
    return int(np.clip(n_samples // 32, 64, 256))


class MixAEDataModule(L.LightningDataModule):
    """Data for a mixae-graph fit.

    Parameters
    ----------
    source : str, default="digits"
        A data set name (``digits``, ``mnist``, ``moons``, ``circles``, ``spirals``) or a file
        (``.npy``, ``.npz`` with ``X`` and optional ``y``, ``.csv``).
    batch_size : int or None, default=None
        Points per batch; None: :func:`default_batch_size` of the data.
    seed : int, default=0
        Seed of the neighbour draws.
    """

    def __init__(self, source: str = "digits", batch_size: int | None = None, seed: int = 0):
        super().__init__()
        self.source = source
        self.batch_size = batch_size
        self.seed = seed
        self._data: ClusterData | None = None

    @classmethod
    def from_arrays(cls, X, y=None, batch_size: int | None = None, seed: int = 0) -> "MixAEDataModule":
        module = cls(source="array", batch_size=batch_size, seed=seed)
        module._data = from_arrays(X, y)
        return module

    @property
    def data(self) -> ClusterData:
        if self._data is None:
            self._data = load_dataset(self.source)
        return self._data

    @property
    def n_features(self) -> int:
        return self.data.X.shape[1]

    @property
    def image_shape(self) -> tuple[int, ...] | None:
        return self.data.image_shape

    @property
    def X(self) -> np.ndarray:
        return self.data.X

    @property
    def y(self) -> np.ndarray | None:
        return self.data.y

    def setup(self, stage: str | None = None) -> None:
        self.data  # noqa: B018  (load once, here, not in __init__)

    def train_dataloader(self) -> DataLoader:
        n = len(self.X)
        rng = np.random.default_rng(self.seed + (self.trainer.current_epoch if self.trainer else 0))
        # The fit's state (graph, every point's expert) is the module's: batches follow it.
        state = self.trainer.lightning_module.state if self.trainer else None
        graph = state.full_graph if state is not None else None
        neighbour, weight = self._draw_neighbours(graph, rng)
        labels = state.labels if state is not None and state.labels is not None else np.full(n, -1)
        dataset = PairDataset(
            torch.from_numpy(self.X),
            torch.from_numpy(neighbour.astype(np.int64)),
            torch.from_numpy(weight.astype(np.float32)),
            torch.from_numpy(labels.astype(np.int64)),
        )
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        batch_size = self.batch_size or default_batch_size(n)
        # At the default batch size, at least STEPS_PER_EPOCH steps: small data passes more than once.
        draws = n if self.batch_size else max(n, STEPS_PER_EPOCH * batch_size)
        sampler = RandomSampler(dataset, num_samples=draws, generator=generator)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=_as_is)

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.from_numpy(self.X)), batch_size=4096)

    def _draw_neighbours(self, graph, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One neighbour per point in ``graph`` (``(n, n)``, or None before there is one), uniformly
        among its neighbours, with the edge's weight."""
        n = len(self.X)
        if graph is None:
            return np.arange(n), np.zeros(n)
        counts = np.diff(graph.indptr)
        pick = graph.indptr[:-1] + np.floor(rng.random(n) * counts).astype(np.int64)
        lonely = counts == 0
        pick[lonely] = 0
        neighbour = np.where(lonely, np.arange(n), graph.indices[np.minimum(pick, graph.nnz - 1)])
        weight = np.where(lonely, 0.0, graph.data[np.minimum(pick, graph.nnz - 1)])
        return neighbour, weight
