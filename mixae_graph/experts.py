"""A bank of MLP autoencoders ("experts") held as batched weights.

Every slot's layers are parameters of their own; a forward pass stacks the chosen experts' weights into
``(k, d_in, d_out)`` tensors, so all experts run together through ``torch.einsum`` and there is no
Python loop over experts in the arithmetic (as in lucidrains' ``mixture-of-experts``). The bank has a
fixed capacity: an ``active`` mask says which slots are experts. Merge and split flip slots and copy
weights, so the set of parameters never changes and optimizers, DDP's gradient buckets and checkpoints
need no special handling; slots outside a forward pass get no gradient, so the optimizer skips them
(32 slots holding 10 experts cost the optimizer 10).

A bank of one slot is a plain autoencoder: the trunk is ``ExpertBank(d, (500, 500, 2000), 10,
max_experts=1)`` with slot 0 active.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

_ACTIVATIONS = {"elu": nn.functional.elu, "relu": nn.functional.relu}
# Up to this many values in the (batch, k, n_features) reconstruction, :meth:`ExpertBank.errors`
# forms it (the plain forward pass); above, it uses the Gram form that never writes it. Measured on
# 2 CPU cores, forward and backward: 0.6-0.7x the Gram form's time for training batches (128-512
# rows, 10-40 experts, 256 features), while for 10-40 experts over 784 features and 512 rows
# (4-16 million values) the plain pass took 1.2-1.6x as long.
PLAIN_ERRORS_SIZE = 2**21
# The Gram form's wide product has a multiple of this many columns (zeros added).
COLUMN_BLOCK = 64


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
    weights, biases : nn.ModuleList of nn.ParameterList
        ``weights[l][slot]`` is layer ``l``'s weight ``(d_in, d_out)`` of one slot and
        ``biases[l][slot]`` its bias ``(d_out,)``; the first ``len(hidden_dims) + 1`` layers are the
        encoder.
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
        self.weights = nn.ModuleList(
            nn.ParameterList(nn.Parameter(torch.empty(d_in, d_out)) for _ in range(max_experts))
            for d_in, d_out in zip(widths, widths[1:])
        )
        self.biases = nn.ModuleList(
            nn.ParameterList(nn.Parameter(torch.empty(d_out)) for _ in range(max_experts))
            for d_out in widths[1:]
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

    def slot_parameters(self, slot: int) -> list[nn.Parameter]:
        """The weights and biases of one slot, layer by layer."""
        return [w[slot] for w in self.weights] + [b[slot] for b in self.biases]

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
        slots = self._resolve(slots).tolist()
        codes = self._run(x, slots, range(self.n_encoder_layers))
        reconstruction = self._run(codes, slots, range(self.n_encoder_layers, len(self.weights)))
        return reconstruction, codes

    def errors(self, x: Tensor, slots: Tensor | None = None, chunk_size: int = 1024) -> Tensor:
        """Mean squared reconstruction error of every point by every expert in ``slots``,
        ``(batch, k)``, equal to ``((forward(x)[0] - x[:, None]) ** 2).mean(2)`` up to rounding.

        A small call (a training batch: at most :data:`PLAIN_ERRORS_SIZE` values in the
        ``(batch, k, n_features)`` reconstruction) forms the reconstruction, which is fastest there,
        the backward pass included. A large one (routing, the E-step, predict) never forms it: with
        the last layer ``x_hat = V h + c``,
        ``|x - x_hat|^2 = |x - c|^2 - 2 (V^T x - V^T c) . h + h^T (V^T V) h``, so ``x`` meets the first
        layer, ``V`` and ``c`` of all experts in one matrix product, and no ``(batch, k, n_features)``
        tensor is written; the Gram matrices ``V^T V`` cost ``k * width^2 * n_features`` per call.
        Rows go through in chunks of ``chunk_size`` (the matrix product runs fastest on a few
        hundred rows at a time); the stacked weights and Gram matrices are made once per call.
        """
        slots, last = self._resolve(slots).tolist(), len(self.weights) - 1
        if len(x) * len(slots) * x.shape[1] <= PLAIN_ERRORS_SIZE:
            return ((self(x, slots)[0] - x[:, None]) ** 2).mean(2)
        first, out = _stack(self.weights[0], slots), _stack(self.weights[last], slots)  # (k,d,h1), (k,h,d)
        bias = _stack(self.biases[last], slots)  # (k, d): c
        k, d, _ = first.shape
        # Columns: the first layer, V and c of every expert, then zeros up to a multiple of
        # COLUMN_BLOCK (the matrix product runs up to 1.7x faster on aligned widths); the offset
        # holds the first layer's bias, -V^T c and 0.
        weights = torch.cat([first.permute(1, 0, 2).reshape(d, -1), out.permute(2, 0, 1).reshape(d, -1), bias.T], 1)
        offset = torch.cat([_stack(self.biases[0], slots).reshape(-1),
                            -torch.einsum("khd,kd->kh", out, bias).reshape(-1), bias.new_zeros(k)])
        padding = -weights.shape[1] % COLUMN_BLOCK
        columns = nn.functional.pad(weights, (0, padding))  # (d, k h1 + k h + k, padded)
        terms = (columns, nn.functional.pad(offset, (0, padding)), out @ out.transpose(1, 2), (bias * bias).sum(1))
        return torch.cat([self._errors(chunk, slots, *terms) for chunk in x.split(chunk_size)])

    def _errors(self, x: Tensor, slots: list[int], columns, offset, gram, square_bias) -> Tensor:
        n, k, last = len(x), len(slots), len(self.weights) - 1
        width = gram.shape[1]
        product = torch.addmm(offset, x, columns)  # one pass over x for every expert
        h1 = self.weights[0][slots[0]].shape[1]
        h = product[:, : k * h1].reshape(n, k, h1).transpose(0, 1)  # (k, n, h1): expert-major
        for layer in range(1, last + 1):  # up to the last layer's input, one batched product each
            if self._activated(layer - 1):
                h = self._act(h)
            if layer < last:
                h = torch.baddbmm(_stack(self.biases[layer], slots)[:, None], h, _stack(self.weights[layer], slots))
        v_end = k * (h1 + width)  # the columns of V end here, those of c follow
        projected = product[:, k * h1 : v_end].reshape(n, k, width).transpose(0, 1)  # V^T (x - c)
        # h . (V^T V h - 2 V^T (x - c)) in one batched product per expert
        quadratic = (torch.baddbmm(projected, h, gram, beta=-2) * h).sum(2).T  # (n, k)
        to_bias = (x * x).sum(1, keepdim=True) - 2 * product[:, v_end : v_end + k] + square_bias  # |x - c|^2
        return (to_bias + quadratic).clamp(min=0) / x.shape[1]

    def encode(self, x: Tensor, slots: Tensor | None = None) -> Tensor:
        """Codes ``(batch, k, latent_dim)`` of ``x`` (batch, n_features) by the experts in ``slots``."""
        return self._run(x, self._resolve(slots).tolist(), range(self.n_encoder_layers))

    def _resolve(self, slots: Tensor | None) -> Tensor:
        if slots is None:
            if self.n_active == 0:
                raise RuntimeError("the expert bank has no active experts; call add_expert() first")
            return self.active_slots
        return torch.as_tensor(slots, dtype=torch.long, device=self.active.device).reshape(-1)

    def _run(self, h: Tensor, slots: list[int], layers: range) -> Tensor:
        # h is (batch, d) for the bank's input and (batch, k, d) once it has passed through an expert.
        one = len(slots) == 1  # one expert (the trunk): plain matrix products, (batch, d) throughout
        if one and h.dim() == 3:
            h = h[:, 0]
        for layer in layers:
            if one:
                h = torch.addmm(self.biases[layer][slots[0]], h, self.weights[layer][slots[0]])
            else:
                weight = _stack(self.weights[layer], slots)  # (k, d_in, d_out)
                pattern = "bi,kio->bko" if h.dim() == 2 else "bki,kio->bko"
                h = torch.einsum(pattern, h, weight) + _stack(self.biases[layer], slots)  # (batch, k, d_out)
            if self._activated(layer):
                h = self._act(h)
        return h[:, None] if one else h

    def _activated(self, layer: int) -> bool:
        """Whether ``layer``'s output passes the activation: every layer but the code and the output."""
        return layer != self.n_encoder_layers - 1 and layer != len(self.weights) - 1

    # --------------------------------------------------------- slot management
    @torch.no_grad()
    def reset_expert(self, slot: int) -> None:
        """Draw fresh weights for ``slot`` the way ``nn.Linear`` does (uniform within 1/sqrt(d_in))."""
        for weight, bias in zip(self.weights, self.biases):
            bound = 1.0 / math.sqrt(weight[slot].shape[0])
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
        for target, source in zip(self.slot_parameters(dst), self.slot_parameters(src)):
            target.copy_(source)

    @torch.no_grad()
    def load_autoencoder(self, slot: int, other: ExpertBank, other_slot: int = 0) -> None:
        """Copy expert ``other_slot`` of bank ``other`` (e.g. a pretrained bank of one) into ``slot``."""
        shapes = [w[0].shape for w in self.weights]
        if [w[0].shape for w in other.weights] != shapes or other.activation != self.activation:
            raise ValueError(
                "cannot load an autoencoder of another shape: "
                f"{other.extra_repr()} into {self.extra_repr()}"
            )
        for target, source in zip(self.slot_parameters(slot), other.slot_parameters(other_slot)):
            target.copy_(source)

    @torch.no_grad()
    def perturb(self, slot: int, scale: float, generator: torch.Generator | None = None) -> None:
        """Add Gaussian noise to ``slot``, ``scale`` times each tensor's RMS, so copies can diverge."""
        for param in self.slot_parameters(slot):
            rms = param.pow(2).mean().sqrt()
            # Drawn on the CPU, so that one seeded generator serves every device.
            noise = torch.randn(param.shape, generator=generator, dtype=param.dtype)
            param += scale * rms * noise.to(param.device)

    @torch.no_grad()
    def reset_optimizer_state(self, optimizer: torch.optim.Optimizer, slots: Sequence[int]) -> None:
        """Forget the optimizer's state (e.g. Adam's moments and step count) of ``slots``.

        Call it after a slot's weights were replaced (split, reuse), so old momentum does not push the
        new expert; the optimizer starts the slot afresh at its next step.
        """
        for slot in slots:
            for param in self.slot_parameters(slot):
                optimizer.state.pop(param, None)

    def _check_active(self, slot: int) -> None:
        if not 0 <= slot < self.max_experts or not self.active[slot]:
            active = self.active_slots.tolist()
            raise ValueError(f"slot {slot} is not an active expert; active slots: {active}")


def _stack(params: nn.ParameterList, slots: list[int]) -> Tensor:
    """The slots' parameters as one ``(k, ...)`` tensor (a view, without a copy, for one slot)."""
    if len(slots) == 1:
        return params[slots[0]].unsqueeze(0)
    return torch.stack([params[slot] for slot in slots])
