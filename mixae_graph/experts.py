"""A bank of MLP autoencoders ("experts") held as batched weights.

Every layer of every expert lives in one tensor of shape ``(max_experts, d_in, d_out)``, so all experts
run together through ``torch.einsum`` and there is no Python loop over experts (as in lucidrains'
``mixture-of-experts``). The bank has a fixed capacity: an ``active`` mask says which slots are experts.
Merge and split flip slots and copy weights, so parameter shapes never change and optimizers, DDP's
gradient buckets and checkpoints need no special handling.

A bank of one slot is a plain autoencoder: the trunk is ``ExpertBank(d, (500, 500, 2000), 10,
max_experts=1)`` with slot 0 active.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

_ACTIVATIONS = {"elu": nn.functional.elu, "relu": nn.functional.relu}


class ExpertBank(nn.Module):
    """Up to ``max_experts`` MLP autoencoders with identical shapes, computed together.

    Encoder ``n_features -> *hidden_dims -> latent_dim``, decoder its mirror
    ``latent_dim -> *reversed(hidden_dims) -> n_features``. Hidden layers use ``activation``; the code
    and the reconstruction are linear.

    Parameters
    ----------
    n_features : int
        Input (and output) dimension.
    hidden_dims : sequence of int, default=(128,)
        Widths of the encoder's hidden layers; the decoder uses them reversed. May be empty.
    latent_dim : int, default=10
        Dimension of each expert's code.
    max_experts : int, default=32
        Number of slots. Fixed for the life of the bank.
    activation : {"elu", "relu"}, default="elu"
        Non-linearity after every hidden layer.

    Attributes
    ----------
    weights, biases : nn.ParameterList
        Layer ``l`` has weight ``(max_experts, d_in, d_out)`` and bias ``(max_experts, d_out)``; the
        first ``len(hidden_dims) + 1`` layers are the encoder.
    active : BoolTensor of shape (max_experts,)
        Buffer (saved in checkpoints); all False at construction.

    Examples
    --------
    >>> bank = ExpertBank(64, hidden_dims=(32,), latent_dim=4, max_experts=8)
    >>> first = bank.add_expert()
    >>> child = bank.add_expert(source=first)
    >>> reconstruction, codes = bank(torch.randn(5, 64))
    >>> reconstruction.shape, codes.shape
    (torch.Size([5, 2, 64]), torch.Size([5, 2, 4]))
    """

    def __init__(
        self,
        n_features: int,
        hidden_dims: Sequence[int] = (128,),
        latent_dim: int = 10,
        max_experts: int = 32,
        activation: str = "elu",
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        dims = [n_features, *hidden_dims, latent_dim]
        if min(dims) < 1 or max_experts < 1:
            raise ValueError(f"sizes must be positive, got dims {dims}, max_experts={max_experts}")
        self.n_features = n_features
        self.hidden_dims = tuple(hidden_dims)
        self.latent_dim = latent_dim
        self.max_experts = max_experts
        self.activation = activation
        self._act = _ACTIVATIONS[activation]

        widths = dims + dims[-2::-1]  # encoder dims, then the decoder mirror
        self.n_encoder_layers = len(dims) - 1
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(max_experts, d_in, d_out))
            for d_in, d_out in zip(widths, widths[1:])
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.empty(max_experts, d_out)) for d_out in widths[1:]
        )
        self.register_buffer("active", torch.zeros(max_experts, dtype=torch.bool))
        for slot in range(max_experts):
            self.reset_expert(slot)

    # ------------------------------------------------------------------ state
    @property
    def active_slots(self) -> Tensor:
        """Sorted slot ids of the active experts, a LongTensor ``(n_active,)``."""
        return torch.nonzero(self.active).flatten()

    @property
    def n_active(self) -> int:
        return int(self.active.sum())

    def extra_repr(self) -> str:
        dims = [self.n_features, *self.hidden_dims, self.latent_dim]
        return f"dims={dims}, activation={self.activation}, active={self.n_active}/{self.max_experts}"

    # ---------------------------------------------------------------- compute
    def forward(self, x: Tensor, slots: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Reconstruct every point with every expert in ``slots``.

        Parameters
        ----------
        x : Tensor of shape (batch, n_features)
        slots : LongTensor of shape (k,), default=None
            Slots to run, in the order wanted (inactive slots are allowed). None means
            :attr:`active_slots`.

        Returns
        -------
        reconstruction : Tensor of shape (batch, k, n_features)
        codes : Tensor of shape (batch, k, latent_dim)
        """
        slots = self._resolve(slots)
        codes = self._run(x, slots, range(self.n_encoder_layers))
        reconstruction = self._run(codes, slots, range(self.n_encoder_layers, len(self.weights)))
        return reconstruction, codes

    def encode(self, x: Tensor, slots: Tensor | None = None) -> Tensor:
        """Codes ``(batch, k, latent_dim)`` of ``x`` (batch, n_features) by the experts in ``slots``."""
        return self._run(x, self._resolve(slots), range(self.n_encoder_layers))

    def _resolve(self, slots: Tensor | None) -> Tensor:
        if slots is None:
            if self.n_active == 0:
                raise RuntimeError("the expert bank has no active experts; call add_expert() first")
            return self.active_slots
        return torch.as_tensor(slots, dtype=torch.long, device=self.active.device).reshape(-1)

    def _run(self, h: Tensor, slots: Tensor, layers: range) -> Tensor:
        # h is (batch, d) for the bank's input and (batch, k, d) once it has passed through an expert.
        for layer in layers:
            weight = self.weights[layer][slots]  # (k, d_in, d_out)
            bias = self.biases[layer][slots]  # (k, d_out)
            pattern = "bi,kio->bko" if h.dim() == 2 else "bki,kio->bko"
            h = torch.einsum(pattern, h, weight) + bias  # (batch, k, d_out)
            if layer != self.n_encoder_layers - 1 and layer != len(self.weights) - 1:
                h = self._act(h)
        return h

    # --------------------------------------------------------- slot management
    @torch.no_grad()
    def reset_expert(self, slot: int) -> None:
        """Draw fresh weights for ``slot`` the way ``nn.Linear`` does (uniform within 1/sqrt(d_in))."""
        for weight, bias in zip(self.weights, self.biases):
            bound = 1.0 / math.sqrt(weight.shape[1])
            weight[slot].uniform_(-bound, bound)
            bias[slot].uniform_(-bound, bound)

    @torch.no_grad()
    def add_expert(self, source: int | None = None) -> int:
        """Activate the lowest free slot and return its id.

        Its weights are copied from the active slot ``source`` (a split's child), or drawn fresh.
        """
        free = torch.nonzero(~self.active).flatten()
        if len(free) == 0:
            raise RuntimeError(
                f"the expert bank is full ({self.max_experts} slots in use); raise max_experts"
            )
        slot = int(free[0])
        if source is None:
            self.reset_expert(slot)
        else:
            self._check_active(source)
            self.copy_expert(source, slot)
        self.active[slot] = True
        return slot

    @torch.no_grad()
    def remove_expert(self, slot: int) -> None:
        """Deactivate ``slot``; its weights stay until the slot is reused."""
        self._check_active(slot)
        self.active[slot] = False

    @torch.no_grad()
    def copy_expert(self, src: int, dst: int) -> None:
        """Overwrite slot ``dst``'s weights with slot ``src``'s; the active mask is unchanged."""
        for weight, bias in zip(self.weights, self.biases):
            weight[dst] = weight[src]
            bias[dst] = bias[src]

    @torch.no_grad()
    def load_autoencoder(self, slot: int, other: ExpertBank, other_slot: int = 0) -> None:
        """Copy expert ``other_slot`` of bank ``other`` (e.g. a pretrained bank of one) into ``slot``."""
        shapes = [w.shape[1:] for w in self.weights]
        if [w.shape[1:] for w in other.weights] != shapes or other.activation != self.activation:
            raise ValueError(
                "cannot load an autoencoder of another shape: "
                f"{other.extra_repr()} into {self.extra_repr()}"
            )
        for weight, bias, other_weight, other_bias in zip(
            self.weights, self.biases, other.weights, other.biases
        ):
            weight[slot] = other_weight[other_slot]
            bias[slot] = other_bias[other_slot]

    @torch.no_grad()
    def perturb(self, slot: int, scale: float, generator: torch.Generator | None = None) -> None:
        """Add Gaussian noise to ``slot``, ``scale`` times each tensor's RMS, so copies can diverge."""
        for param in [*self.weights, *self.biases]:
            rms = param[slot].pow(2).mean().sqrt()
            # Drawn on the CPU, so that one seeded generator serves every device.
            noise = torch.randn(param.shape[1:], generator=generator, dtype=param.dtype)
            noise = noise.to(param.device)
            param[slot] += scale * rms * noise

    @torch.no_grad()
    def reset_optimizer_state(self, optimizer: torch.optim.Optimizer, slots: Sequence[int]) -> None:
        """Zero the optimizer's per-parameter state (e.g. Adam's moments) of ``slots``.

        Call it after a slot's weights were replaced (merge, split, reuse), so old momentum does not
        push the new expert. The step counters are shared by all slots and are left alone.
        """
        slots = list(slots)
        for param in [*self.weights, *self.biases]:
            for value in optimizer.state.get(param, {}).values():
                if torch.is_tensor(value) and value.shape == param.shape:
                    value[slots] = 0

    def _check_active(self, slot: int) -> None:
        if not 0 <= slot < self.max_experts or not self.active[slot]:
            active = self.active_slots.tolist()
            raise ValueError(f"slot {slot} is not an active expert; active slots: {active}")
