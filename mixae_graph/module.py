"""The LightningModule: trunk pretraining, then the MIXAE joint objective over the expert bank.

Epochs ``[0, trunk_epochs)`` train the trunk, a denoising autoencoder whose codes give the kNN
graph, on all points, and on every other step one small seed expert too. The
:class:`~mixae_graph.connectivity.ConnectivityCallback` then partitions the graph, copies the seed
into one expert per part, runs an E-step after every expert epoch (the experts' likelihoods,
smoothed over the graph, reassign the points) and merge/split rounds every few. The remaining
``expert_epochs`` are the M-steps: the bank trains on the points assigned to it with the MIXAE
objective (Zhang et al., arXiv 1712.07788, eq. 4-6) in deviance units
(:func:`mixae_graph.routing.deviance`), plus the border and contrast terms.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from .blur import gaussian_blur
from .datasets import check_image_shape
from .experts import ExpertBank
from .graph import PointGraph
from .objective import mixae_objective
from .routing import deviance, soft_assignment
from .tree import TreeRecorder, build_cluster_tree


_PROGRESS_BAR = ("train/trunk", "train/seed", "train/total", "experts")
# Smallest noise variance, in units of the typical error: an expert that reconstructs its points
# (nearly) exactly must not get an infinite likelihood.
MIN_NOISE_VAR = 1e-3


def flushing_subnormals() -> bool:
    """Whether this thread flushes subnormal floats to zero (torch has no getter): the smallest
    float64 survives a product unless it does."""
    return bool(torch.tensor(5e-324, dtype=torch.float64).mul(1.0).item() == 0.0)


def principal_directions(X: torch.Tensor, k: int, max_rows: int = 20000) -> torch.Tensor:
    """The top ``k`` principal directions of centred rows ``X`` as columns ``(n_features, k)``, from
    the covariance of at most ``max_rows`` rows (a fixed sample: the same data give the same
    directions)."""
    if len(X) > max_rows:
        X = X[torch.as_tensor(np.random.default_rng(0).choice(len(X), max_rows, replace=False))]
    X = X.to(torch.float64)
    _, vectors = torch.linalg.eigh(X.T @ X)  # ascending eigenvalues
    return vectors[:, -k:].flip(1).to(torch.float32)


class FlushSubnormals(L.Callback):
    """Flush subnormal floats to zero while a fit runs, then restore the caller's setting (also when
    the fit fails or is interrupted). Subnormals (ELU's exp of very negative inputs, the gradients
    through it) take a slow path on CPUs: measured on MNIST, expert epochs slowed from 1.84 to
    2.34 s over 20 epochs without this, and stayed flat with it."""

    def __init__(self):
        self._before = False

    def on_fit_start(self, trainer, module) -> None:
        self._before = flushing_subnormals()
        torch.set_flush_denormal(True)

    def on_fit_end(self, trainer, module) -> None:
        torch.set_flush_denormal(self._before)

    def on_exception(self, trainer, module, exception) -> None:
        torch.set_flush_denormal(self._before)


class MixAEGraphModule(L.LightningModule):
    """Mixture of autoencoder experts whose number and borders follow a latent kNN graph.

    Parameters
    ----------
    n_features : int
        Input dimension (linked from the data module by the CLI).
    trunk_epochs, expert_epochs : int
        Epochs of trunk pretraining, then of joint expert training.
    trunk_hidden : tuple of int, default=(500, 500, 2000)
        Hidden layers of the trunk autoencoder (DEC/N2D's d-500-500-2000-10).
    latent_dim : int, default=10
        Code size of the trunk and of every expert.
    expert_hidden : tuple of int, default=(128,)
        Hidden layers of each (small) expert.
    expert_dims : int or None, default=256
        The experts see and reconstruct the data's top ``expert_dims`` principal directions (fitted
        with the scaling); what lies outside them is the same for every expert and still counts in
        each point's error, so routing compares full reconstruction errors. Wide inputs cost the
        experts' largest products (and predict) in proportion: on MNIST (784 pixels) 256
        directions hold 98% of the variance. None, or at least ``n_features``: the input itself.
    max_experts : int, default=64
        Slots in the expert bank: the most experts a fit can hold (only the active ones compute).
    n_neighbors : int or None, default=None
        Neighbours per point in the latent kNN graph. None: ``round(log2(n))`` for a graph over
        ``n`` points (:func:`mixae_graph.graph.neighbors_for`), 9 for 400 points, 13 for 10,000: a
        kNN graph needs about ``log n`` neighbours to hold each cluster together, and more
        neighbours than a small cluster has points would tie it to its neighbours.
    max_graph_points : int or None, default=20000
        Largest graph: with more points, the graph is built on this many landmarks drawn at random,
        every other point follows its nearest landmark while training and its best expert at the
        end, so the graph's cost stops growing with the data. None: always every point.
    resolution : float or None, default=None
        Louvain resolution of the graph's first parts. None: the resolution whose partition is the
        most reproducible across Louvain runs (:func:`mixae_graph.graph.stable_communities`),
        which resolves small clusters in small data and large ones in large data alike.
    chain_share : float, default=0.8
        Chain rule: small graph pieces that send this share of their outside weight to their two
        strongest neighbours, linked end to end, are one thin manifold
        (:func:`mixae_graph.merge_split.chain_groups`).
    min_cluster_size : int, default=5
        Smallest cluster, in points, as HDBSCAN's ``min_cluster_size``: smaller pieces join their
        best-connected neighbour, smaller fragments of an expert go back to their neighbours, and
        no split makes a smaller part. Whether a larger piece is a cluster is the graph's call
        (:func:`mixae_graph.merge_split.absorb_loose`), the same at every size.
    merge_every : int, default=4
        Epochs between merge/split rounds.
    smoothing : float, default=0.9
        Weight ``alpha`` of the graph in the E-step's label spreading
        (:func:`mixae_graph.routing.spread`): after every expert epoch each point's soft assignment
        is smoothed over its kNN neighbours, and its expert for the next epoch is the arg-max. 0:
        every point goes to its most likely expert alone.
    temperature : float, default=0.1
        Softness of the assignments, in units of the per-feature deviance
        (:func:`mixae_graph.routing.deviance`); the hard routing does not depend on it.
    contrast : float, default=1.0
        Weight of the contrast term: a hinge that asks each point's own expert to beat the best
        other expert by a margin (:data:`mixae_graph.objective.CONTRAST_MARGIN`), so an expert also
        learns what its cluster is not. Without it, experts that can reconstruct everything (a code
        as wide as the input, or a short budget) leave the router no reason to prefer one. 0: off.
    border_weight : float, default=0.3
        Weight of the border term: each expert also reconstructs the graph neighbours just
        outside its cluster, so that its border is learnt from both sides.
    trunk_dropout : float, default=0.2
        Share of the input features zeroed (after centring: set to their mean) in every trunk
        step, the rest scaled by 1 / (1 - p): the trunk is a denoising autoencoder, as in
        DEC's pretraining (Xie et al., arXiv 1511.06335, 20%). Its codes gather classes tighter:
        measured with every other default, 8x8 digits' ACC over seeds 0-6 went from 0.886 to
        0.907, MNIST-10k's over seeds 0-2 from 0.924 to 0.935; the synthetic sets stayed 1.0.
    learning_rate : float, default=1e-3
    image_shape : tuple of int or None, default=None
        (height, width) or (height, width, channels) of image data (linked from the data module by
        the CLI); None: the features are not an image.
    image_blur : float, default=0.036
        Blur images by a Gaussian this fraction of their height wide before the trunk and the
        experts see them, also when predicting (0.036 is 1 pixel at 28x28, 0.29 at 8x8): thin
        strokes at nearby slants then overlap. Measured with every other default, MNIST-10k seeds
        0-2: the first partition's parts agree with the classes at ACC 0.952 / 0.947 / 0.944 on
        blurred codes against 0.82-0.86 on sharp ones, and told K=10 the fits reach 0.960 / 0.960 /
        0.961 against 0.949 / 0.958 / 0.958. On 8x8 digits (0.29 pixels) it changes little. 0: no
        blur. Needs ``image_shape``.
    n_clusters : int or None, default=None
        Exactly this many clusters: the graph's first parts are bisected up to this many when
        there are fewer (:func:`mixae_graph.merge_split.bisect_expert`), the merge rules stop at no fewer,
        the E-step bisects the largest experts whenever fewer are left
        (:func:`mixae_graph.connectivity.honour_n_clusters`), the final mixing weights give every
        expert points (:func:`mixae_graph.routing.least_shares`: experts that reconstruct each
        other's points alike would otherwise leave one empty), and the final cluster tree is cut
        at this many clusters. The bank gets at least this many slots. None lets the graph decide.
    random_state : int, default=0
    verbose : bool, default=True
        Print a line with timing for each graph step.
    """

    def __init__(
        self,
        n_features: int,
        trunk_epochs: int = 50,
        expert_epochs: int = 20,
        trunk_hidden: tuple[int, ...] = (500, 500, 2000),
        latent_dim: int = 10,
        expert_hidden: tuple[int, ...] = (128,),
        expert_dims: int | None = 256,
        max_experts: int = 64,
        n_neighbors: int | None = None,
        max_graph_points: int | None = 20000,
        resolution: float | None = None,
        chain_share: float = 0.8,
        min_cluster_size: int = 5,
        merge_every: int = 4,
        smoothing: float = 0.9,
        temperature: float = 0.1,
        contrast: float = 1.0,
        border_weight: float = 0.3,
        trunk_dropout: float = 0.2,
        learning_rate: float = 1e-3,
        image_shape: tuple[int, ...] | None = None,
        image_blur: float = 0.036,
        n_clusters: int | None = None,
        random_state: int = 0,
        verbose: bool = True,
    ):
        super().__init__()
        if image_shape is not None:
            image_shape = check_image_shape(image_shape, n_features)
        self.save_hyperparameters()
        torch.manual_seed(random_state)
        self.trunk = ExpertBank(n_features, trunk_hidden, latent_dim, max_experts=1)
        seen = n_features if expert_dims is None else min(n_features, expert_dims)
        # Told n_clusters, there are at least that many slots: the fit must be able to keep K experts.
        self.bank = ExpertBank(seen, expert_hidden, latent_dim, max_experts=max(max_experts, n_clusters or 0))
        self.trunk.active[0] = True
        self.bank.active[0] = True  # the seed expert, copied into every expert later
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(()))
        # The experts' coordinates: principal directions (columns) of the standardized data.
        self.register_buffer("basis", torch.eye(n_features, seen))
        self.register_buffer("error_scale", torch.ones(()))
        # The mixture's parameters (routing.deviance): each slot's noise variance, in units of
        # error_scale, and its log mixing weight; re-estimated after every expert epoch (the M-step).
        self.register_buffer("noise_var", torch.ones(self.bank.max_experts))
        self.register_buffer("log_prior", torch.zeros(self.bank.max_experts))
        # Final cluster of every slot (-1: inactive); set at the end of a fit.
        self.register_buffer("cluster_of_slot", torch.full((self.bank.max_experts,), -1, dtype=torch.long))
        self.recorder = TreeRecorder()
        self.tree_sizes: dict[int, int] = {}
        self.tree_weights: dict[tuple[int, int], float] = {}
        self.final_slots: np.ndarray | None = None  # expert of every training point after the fit
        self.initial_slots: np.ndarray | None = None  # the first partition's, before any expert trained
        self.restored_connectivity: dict | None = None  # graph and labels from a checkpoint
        self._epoch_log: dict[str, tuple] = {}  # name -> (batch-weighted sum, count) this epoch

    # ------------------------------------------------------------------ data scaling
    def fit_scaling(self, X: np.ndarray) -> None:
        """Centre each (blurred) feature; divide by one global scale, so that relative feature
        scales stay."""
        X = self.blur(torch.as_tensor(np.asarray(X), dtype=torch.float64))  # float32 sums overflow near 3e38
        mean = X.mean(0)
        self.feature_mean.copy_(mean)
        self.feature_scale.copy_((X - mean).pow(2).mean().sqrt().clamp(min=1e-8))
        if self.projects:
            self.basis.copy_(principal_directions((X - mean) / self.feature_scale, self.basis.shape[1]))

    @property
    def projects(self) -> bool:
        """Whether the experts work in fewer dimensions than the input."""
        return self.basis.shape[1] < self.basis.shape[0]

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """Raw points blurred as images (``image_blur``); ``x`` itself when they are not images."""
        if self.hparams.image_shape is None:
            return x
        return gaussian_blur(x, self.hparams.image_shape, self.hparams.image_blur)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw points as the networks see them: blurred (images), centred, scaled."""
        # (x - mean) / scale in one pass; dividing, since 1 / scale can be subnormal (scale near 3e38)
        return torch.addcdiv(-self.feature_mean / self.feature_scale, self.blur(x), self.feature_scale)

    def expert_input(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Standardized points in the experts' coordinates, and each point's squared norm outside
        them (None when the experts see the whole input)."""
        x = self.standardize(x)
        z = self.to_expert_coordinates(x)
        if z is x:
            return x, None
        return z, ((x * x).sum(1) - (z * z).sum(1)).clamp(min=0)

    def to_expert_coordinates(self, x: torch.Tensor) -> torch.Tensor:
        """Standardized points in the experts' principal directions (``x`` itself without them)."""
        return x @ self.basis if self.projects else x

    def bank_errors(self, x: torch.Tensor, slots: torch.Tensor | None = None,
                    frozen_from: int | None = None) -> torch.Tensor:
        """Mean squared reconstruction error over the input's features of raw points ``x`` by the
        experts in ``slots`` (:meth:`ExpertBank.errors`), the part outside the experts' coordinates
        included: ``(n, k)``."""
        z, outside = self.expert_input(x)
        errors = self.bank.errors(z, slots, frozen_from=frozen_from)
        if outside is None:
            return errors
        return (errors * z.shape[1] + outside[:, None]) / x.shape[1]

    def reconstruct(self, x: torch.Tensor, slot: int) -> torch.Tensor:
        """Reconstruction of raw points ``x`` by the expert in ``slot``, in input units (blurred,
        for images)."""
        with torch.no_grad():
            z, _ = self.expert_input(x)
            out = self.bank(z, torch.tensor([slot]))[0][:, 0]
            if self.projects:
                out = out @ self.basis.T
            return out * self.feature_scale + self.feature_mean

    def calibrate_error_scale(self, X: np.ndarray) -> None:
        """Fix the unit of the errors at the experts' mean error on ``X`` (so that losses and noise
        variances are near 1 whatever the data's scale); every expert's own scale is its noise
        variance."""
        self.error_scale.fill_(1.0)
        errors = self.expert_errors(torch.as_tensor(X))
        self.error_scale.copy_(errors.min(1).values.mean().clamp(min=1e-12))

    def fit_mixture(self, errors: torch.Tensor, columns: torch.Tensor) -> None:
        """M-step of the mixture's scalars: each active expert's noise variance is the mean error of
        the points assigned to it (``columns``, into the active slots), its mixing weight their
        share. An expert with no point keeps its values."""
        slots = self.bank.active_slots
        k = len(slots)
        onehot = torch.nn.functional.one_hot(columns, k).to(errors.dtype)  # (n, k)
        counts = onehot.sum(0)
        owned = counts > 0
        mean_error = (onehot * errors).sum(0) / counts.clamp(min=1)
        self.noise_var[slots[owned]] = mean_error[owned].clamp(min=MIN_NOISE_VAR).to(self.noise_var.dtype)
        self.log_prior[slots[owned]] = (counts[owned] / counts.sum()).log().to(self.log_prior.dtype)

    def deviance(self, errors: torch.Tensor) -> torch.Tensor:
        """:func:`mixae_graph.routing.deviance` of relative errors ``(n, n_active)`` under the
        active experts' noise variances and mixing weights."""
        slots = self.bank.active_slots
        return deviance(errors, self.noise_var[slots], self.log_prior[slots], self.hparams.n_features)

    # ------------------------------------------------------------------ inference
    def trunk_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Latent codes of the trunk, ``(n, latent_dim)``."""
        with torch.no_grad():
            return torch.cat([self.trunk.encode(self.standardize(c.to(self.device)))[:, 0] for c in x.split(4096)])

    def expert_errors(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction error of every point by every active expert, relative to the typical
        error: ``(n, n_active)``, columns in slot order, on the module's device. ``x`` may lie
        elsewhere (the CPU): it moves in chunks, never whole."""
        with torch.no_grad():  # memory stays bounded: the bank stacks its weights once per 64k rows
            return torch.cat([self.bank_errors(c.to(self.device)) for c in x.split(65536)]) / self.error_scale

    def expert_deviance(self, x: torch.Tensor) -> torch.Tensor:
        """Deviance of every point under every active expert (:meth:`deviance`): ``(n, n_active)``;
        the router sends a point to the arg-min."""
        return self.deviance(self.expert_errors(x))

    def route_slots(self, x: torch.Tensor) -> torch.Tensor:
        """Expert slot of every point: its most likely expert (the router, the fit's own labels)."""
        return self.bank.active_slots[self.expert_deviance(x).argmin(1)]

    def fit_labels(self) -> np.ndarray:
        """Cluster of every training point: its most likely expert (the router), then its tree cut."""
        if self.final_slots is None:
            raise RuntimeError("the module has not finished a fit in this process")
        return self.cluster_of_slot[torch.as_tensor(self.final_slots)].cpu().numpy()

    def predict_step(self, batch, batch_idx):
        (x,) = batch
        return self.cluster_of_slot[self.route_slots(x)]

    # ------------------------------------------------------------------ training
    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        if self.current_epoch == 0 and datamodule is not None:
            self.fit_scaling(datamodule.X)

    def training_step(self, batch, batch_idx):
        if self.current_epoch < self.hparams.trunk_epochs:
            return self._trunk_step(batch)
        return self._expert_step(batch)

    def _trunk_step(self, batch):
        x = self.standardize(batch[0])
        trunk = F.mse_loss(self.trunk(F.dropout(x, self.hparams.trunk_dropout))[0][:, 0], x)
        if self.global_step % 2:  # the seed expert trains on every other step (half the cost)
            self._add_to_epoch_log({"train/trunk": trunk}, len(x))
            return trunk
        z = self.to_expert_coordinates(x)
        seed = F.mse_loss(self.bank(z, self.bank.active_slots[:1])[0][:, 0], z)  # one expert: forward is cheaper
        self._add_to_epoch_log({"train/trunk": trunk, "train/seed": seed}, len(x))
        return trunk + seed

    def _expert_step(self, batch):
        x, neighbour, weight, label, neighbour_label = batch
        slots, b = self.bank.active_slots, len(x)
        column = self._columns(slots, label)  # (batch,), -1 where the point has no expert yet
        neighbour_column = self._columns(slots, neighbour_label)
        known = (column >= 0) & (neighbour_column >= 0)
        # Only neighbours across the anchor's border are computed: the border term trains on them.
        across = torch.nonzero(known & (column != neighbour_column)).flatten()
        errors = self.bank_errors(torch.cat([x, neighbour[across]]), slots)
        # The M-step in deviance units: each expert's error weighs 1 / its noise variance.
        errors = self.deviance(errors / self.error_scale)
        probabilities = soft_assignment(errors[:b], self.hparams.temperature)
        neighbour_errors = errors.new_zeros(b, len(slots)).index_put((across,), errors[b:])
        # The E-step's assignment (graph-smoothed, fixed for the epoch) weighs the reconstruction;
        # a point without an expert (an isolated speck) goes by its soft assignment.
        onehot = F.one_hot(column.clamp(min=0), len(slots)).to(errors.dtype)
        responsibilities = torch.where((column >= 0)[:, None], onehot, probabilities)
        total, parts = mixae_objective(
            errors[:b], probabilities, responsibilities, neighbour_errors, None, weight,
            torch.where(known, column, 0), torch.where(known, neighbour_column, 0),
            alpha=0.0, beta=0.0, gamma=0.0,  # the E-step does what MIXAE's regularisers did
            border_weight=self.hparams.border_weight, contrast=self.hparams.contrast,
            anchor_labels=torch.where(column >= 0, column, -1),
        )
        parts = {f"train/{name}": value for name, value in parts.items()}
        self._add_to_epoch_log({**parts, "experts": x.new_tensor(float(len(slots)))}, len(x))
        return total

    def _add_to_epoch_log(self, values: dict[str, torch.Tensor], batch_size: int) -> None:
        """Sum this step's values into the epoch's; they are logged once, at the epoch's end
        (``self.log`` on every step cost about 7% of a CPU epoch)."""
        for name, value in values.items():
            total, count = self._epoch_log.get(name, (0.0, 0))
            self._epoch_log[name] = (total + value.detach() * batch_size, count + batch_size)

    def on_train_epoch_end(self) -> None:
        means = {name: total / count for name, (total, count) in self._epoch_log.items()}
        self._epoch_log = {}
        for name, value in means.items():
            self.log(name, value, prog_bar=name in _PROGRESS_BAR, sync_dist=True)

    def _columns(self, slots: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        lookup = torch.full((self.bank.max_experts + 1,), -1, dtype=torch.long, device=slots.device)
        lookup[slots] = torch.arange(len(slots), device=slots.device)
        return lookup[labels]  # label -1 reads the last entry, which is -1

    def configure_optimizers(self):
        # The fused kernel (one pass per tensor): 17% off a trunk epoch on 2 CPU cores.
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate, fused=fused or None)

    def configure_callbacks(self):
        from .connectivity import ConnectivityCallback

        return [ConnectivityCallback(), FlushSubnormals()]

    # ------------------------------------------------------------------ tree and checkpoints
    @property
    def cluster_tree(self):
        """The cluster tree (a networkx DiGraph) of the last fit."""
        return build_cluster_tree(self.tree_sizes, self.tree_weights, self.recorder.events)

    def fit_state(self) -> dict:
        """What a fit knows besides its tensors: history, tree, graph and labels (tensors and plain
        values only, so that checkpoints load with ``weights_only=True``)."""
        state = {
            "history": self.recorder.state_dict(),
            "tree_sizes": {int(k): int(v) for k, v in self.tree_sizes.items()},
            "tree_weights": [[int(a), int(b), float(w)] for (a, b), w in self.tree_weights.items()],
        }
        if self.final_slots is not None:
            state["final_slots"] = torch.as_tensor(self.final_slots, dtype=torch.long)
        if self.initial_slots is not None:
            state["initial_slots"] = torch.as_tensor(self.initial_slots, dtype=torch.long)
        datamodule = self._trainer.datamodule if self._trainer is not None else None
        if datamodule is not None and datamodule.point_graph is not None:
            state["graph"] = datamodule.point_graph.state_dict()
            state["labels"] = torch.as_tensor(datamodule.labels, dtype=torch.long)
        return state

    def load_fit_state(self, state: dict) -> None:
        self.recorder.load_state_dict(state["history"])
        self.tree_sizes = {int(k): v for k, v in state["tree_sizes"].items()}
        self.tree_weights = {(a, b): w for a, b, w in state["tree_weights"]}
        if "final_slots" in state:
            self.final_slots = state["final_slots"].numpy()
        if "initial_slots" in state:
            self.initial_slots = state["initial_slots"].numpy()
        if "graph" in state:
            self.restored_connectivity = {"graph": PointGraph.from_state_dict(state["graph"]),
                                          "labels": state["labels"].numpy()}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["mixae_graph"] = self.fit_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("mixae_graph")
        if state is None:
            raise ValueError("not a mixae-graph checkpoint: it has no 'mixae_graph' entry")
        self.load_fit_state(state)
