"""The callback that runs the graph steps between epochs: graph, first experts, the E-step after
every expert epoch, merge/split rounds, and the final routing.

It gathers the networks' evidence (the trunk's codes, the experts' likelihoods, the mixture's
M-step), hands it to the steps of :mod:`mixae_graph.steps` (state in, new state and edits out) and
applies their edits to the bank. Slots of the bank are flipped and copied in place, so parameter
shapes never change; the optimizer is rebuilt whenever the experts change, so that no stale moments
carry over.
"""

from __future__ import annotations

import time

import lightning as L
import numpy as np
import torch

from . import steps
from .graph import PointGraph, point_graph
from .merge_split import chain_groups
from .routing import least_shares, soft_assignment, spread
from .state import FitState
from .steps import AddExpert, AssignClusters, RemoveExpert, Slots

# A new expert is a copy of its parent with its weights moved by this share of their scale: small
# enough that it starts where its parent is, large enough that the two part ways in training.
SPLIT_NOISE = 0.01


class ConnectivityCallback(L.Callback):
    """Builds the latent graph after trunk pretraining and merges/splits experts every few epochs.

    Under data parallelism (DDP) every step is decided once, on rank 0, and broadcast with the
    experts' weights, so that every rank holds identical experts and labels.
    """

    def __init__(self):
        self._chains = (None, None)  # (graph, its chain_groups): they depend on the graph only

    def chains(self, module, graph) -> np.ndarray:
        if self._chains[0] is not graph:
            h = module.hparams
            self._chains = (graph, chain_groups(graph, h.graph.chain_share, random_state=h.random_state))
        return self._chains[1]

    def on_train_epoch_end(self, trainer, module) -> None:
        # Runs before the checkpoint callbacks, so every checkpoint holds the experts it trained.
        due = self._steps_due(trainer, module)
        if not due:
            return
        if trainer.world_size == 1:
            changed = any([step(trainer, module) for step in due])
        else:
            changed = _decide_once(trainer, module, due)
        if changed:
            _restart(trainer, module)
        if trainer.current_epoch + 1 == trainer.max_epochs and trainer.world_size > 1:
            _check_ranks_agree(trainer, module)

    def _steps_due(self, trainer, module) -> list:
        done, trunk = trainer.current_epoch + 1, module.hparams.trunk.epochs
        steps = []
        if done == trunk:
            steps.append(self._first_experts)
        elif done > trunk:
            steps.append(self._expectation_step)
            if (done - trunk) % module.hparams.graph.merge_every == 0 and done < trainer.max_epochs:
                steps.append(self._merge_split_round)
        if done == trainer.max_epochs:
            steps.append(self._finish)
        return steps

    @staticmethod
    def _round_ahead(trainer, module) -> bool:
        """Whether a merge/split round is still due at the end of this epoch or a later one."""
        done, trunk, every = trainer.current_epoch + 1, module.hparams.trunk.epochs, module.hparams.graph.merge_every
        return done + (trunk - done) % every < trainer.max_epochs

    # ------------------------------------------------------------------ steps (each: changed?)
    def _graph(self, module, X) -> PointGraph:
        started = time.perf_counter()
        h = module.hparams
        codes = module.trunk_codes(torch.as_tensor(X)).cpu().numpy()
        inputs = module.expert_coordinates(X) if h.graph.input_view else None
        graph = point_graph(codes, h.graph.n_neighbors, h.graph.max_points, h.random_state, inputs)
        on = f"{graph.graph.shape[0]} points" if len(graph.landmarks) == len(codes) else \
            f"{len(graph.landmarks)} landmarks of {len(codes)} points"
        _say(module, f"latent kNN graph: {on}, {graph.graph.nnz // 2} edges "
                     f"({time.perf_counter() - started:.1f} s)")
        return graph

    def _first_experts(self, trainer, module) -> bool:
        X = trainer.datamodule.X
        graph = self._graph(module, X)
        started = time.perf_counter()
        module.calibrate_error_scale(X[graph.landmarks])
        slots = Slots.of(module.bank)
        module.state = steps.first_experts(module.state, graph, slots, rules=_rules(module),
                                           chains=self.chains(module, graph.graph),
                                           n_clusters=module.hparams.n_clusters, epoch=trainer.current_epoch)
        apply_edits(module, slots.edits)
        found = next((len(e["children"]) for e in module.state.history.events if e.get("rule") == "partition"), 1)
        more = f", bisected to {module.bank.n_active} as n_clusters" if module.bank.n_active > found else ""
        _say(module, f"first experts: the graph's {found} parts{more} ({time.perf_counter() - started:.1f} s)")
        return True

    def _expectation_step(self, trainer, module) -> bool:
        """The mixture's scalars from the labels the experts trained on, then new labels from the
        graph-smoothed likelihood (:func:`expectation`, :func:`mixae_graph.steps.expectation_step`)."""
        state = module.state
        landmarks = state.graph.landmarks
        routed = expectation(module, trainer.datamodule.X[landmarks], state.graph.within_fine_parts(),
                             state.labels[landmarks])
        slots = Slots.of(module.bank)
        n_clusters = None if self._round_ahead(trainer, module) else module.hparams.n_clusters
        module.state = steps.expectation_step(state, routed, slots, n_clusters=n_clusters,
                                              min_size=module.hparams.min_cluster_size,
                                              epoch=trainer.current_epoch + 1)
        apply_edits(module, slots.edits)
        return bool(slots.edits)

    def _merge_split_round(self, trainer, module) -> bool:
        """:func:`mixae_graph.steps.merge_split_round`, reported."""
        started, epoch = time.perf_counter(), trainer.current_epoch + 1
        slots = Slots.of(module.bank)
        module.state, splits, merges = steps.merge_split_round(
            module.state, slots, rules=_rules(module), chains=self.chains(module, module.state.graph.graph),
            epoch=epoch, n_clusters=module.hparams.n_clusters)
        apply_edits(module, slots.edits)
        done = [f"split E{e['parent']} -> {', '.join(f'E{c}' for c in e['children'])}" for e in splits]
        done += [f"merged {' + '.join(f'E{x}' for x in e['experts'])} -> E{e['into']} ({e['rule']})"
                 for e in merges]
        _say(module, f"epoch {epoch}: {'; '.join(done) or 'no change'}; {module.bank.n_active} experts "
                     f"({time.perf_counter() - started:.1f} s)")
        return bool(merges or splits)

    def _finish(self, trainer, module) -> bool:
        """Every point to its most likely expert: the fit's labels are the router's. Told
        ``n_clusters``, the mixing weights first make sure that every expert wins points
        (:func:`keep_every_expert`)."""
        X = trainer.datamodule.X
        if module.hparams.n_clusters is not None:
            keep_every_expert(module, X)
        slots = Slots.of(module.bank)
        codes = module.trunk_codes(torch.as_tensor(X[module.state.graph.landmarks])).cpu().numpy()
        module.state = steps.finish(module.state, module.route_slots(torch.as_tensor(X)).cpu().numpy(), slots,
                                    codes, n_clusters=module.hparams.n_clusters, epoch=trainer.current_epoch + 1)
        apply_edits(module, slots.edits)
        return False


def expectation(module, X, graph, labels) -> np.ndarray:
    """One EM round over points ``X`` with kNN ``graph`` and current expert slots ``labels``.

    M-step: each expert's noise variance and mixing weight from the points it trained on
    (:meth:`~mixae_graph.module.MixAEGraphModule.fit_mixture`). E-step: every point's soft
    assignment (:func:`~mixae_graph.routing.deviance`, then
    :func:`~mixae_graph.routing.soft_assignment`), smoothed over the graph
    (:func:`~mixae_graph.routing.spread`, weight ``smoothing``); its new slot is the arg-max.
    """
    h = module.hparams
    slots = module.bank.active_slots.cpu().numpy()
    errors = module.expert_errors(torch.as_tensor(X))
    known = np.flatnonzero(np.isin(labels, slots))
    columns = torch.as_tensor(np.searchsorted(slots, labels[known]), device=errors.device)
    module.fit_mixture(errors[torch.as_tensor(known, device=errors.device)], columns)
    p = soft_assignment(module.deviance(errors), h.experts.temperature).cpu().numpy()  # (n, experts)
    return slots[spread(p, graph, h.graph.smoothing).argmax(1)]


def keep_every_expert(module, X) -> None:
    """Mixing weights under which each active expert is the likeliest for at least
    ``min(min_cluster_size, n // n_experts)`` points of ``X`` (:func:`~mixae_graph.routing.least_shares`):
    the experts kept for a promised ``n_clusters`` all keep points through the final routing."""
    slots = module.bank.active_slots
    errors = module.expert_errors(torch.as_tensor(X))
    least = max(1, min(module.hparams.min_cluster_size, len(X) // len(slots)))
    module.log_prior[slots] = least_shares(errors, module.noise_var[slots], module.log_prior[slots],
                                           module.hparams.n_features, least).to(module.log_prior.dtype)


def apply_edits(module, edits) -> None:
    """Carry out the steps' edits on the module's bank, in order (:mod:`mixae_graph.steps`)."""
    for edit in edits:
        if isinstance(edit, AddExpert):
            _add_child(module, edit.parent, edit.slot)
        elif isinstance(edit, RemoveExpert):
            module.bank.remove_expert(edit.slot)
        elif isinstance(edit, AssignClusters):
            module.cluster_of_slot.fill_(-1)
            for slot, cluster in edit.clusters.items():
                module.cluster_of_slot[slot] = cluster
        else:
            raise TypeError(f"unknown edit {edit!r}")


def _rules(module) -> dict:
    h = module.hparams
    return dict(resolution=h.graph.resolution, chain_share=h.graph.chain_share, min_size=h.min_cluster_size,
                random_state=h.random_state)


def _add_child(module, parent: int, slot: int) -> None:
    """A copy of expert ``parent`` in ``slot``, its weights moved by :data:`SPLIT_NOISE`."""
    placed = module.bank.add_expert(source=parent)
    if placed != slot:
        raise RuntimeError(f"the bank placed a child of E{parent} in slot {placed}, the step planned {slot}")
    module.noise_var[slot] = module.noise_var[parent]
    module.log_prior[slot] = module.log_prior[parent]
    generator = torch.Generator().manual_seed(module.hparams.random_state + slot)
    module.bank.perturb(slot, SPLIT_NOISE, generator=generator)


def _decide_once(trainer, module, due) -> bool:
    """Run the ``due`` steps on rank 0 and send the outcome (experts, graph, labels, history) to every rank."""
    snapshot = None
    if trainer.is_global_zero:
        changed = any([step(trainer, module) for step in due])
        snapshot = {"changed": changed, "weights": module.state_dict(), "fit": module.state.state_dict()}
    snapshot = trainer.strategy.broadcast(snapshot, src=0)
    if not trainer.is_global_zero:
        module.load_state_dict(snapshot["weights"])
        module.state = FitState.from_state_dict(snapshot["fit"])
    return snapshot["changed"]


def _check_ranks_agree(trainer, module) -> None:
    """Fail loudly if the ranks ended with different experts or labels."""
    weights = sum(float(p.detach().double().sum()) for p in module.bank.parameters())
    final = module.state.final_slots
    labels = float(np.sum(final * np.arange(1, len(final) + 1)))
    digest = torch.tensor([weights, labels, float(module.bank.n_active)], dtype=torch.float64,
                          device=module.device)
    every = trainer.strategy.all_gather(digest).reshape(trainer.world_size, -1)
    if not torch.equal(every, every[:1].expand_as(every)):
        raise RuntimeError(f"the {trainer.world_size} ranks ended with different experts: {every.tolist()}")
    _say(module, f"{trainer.world_size} ranks agree: identical experts and labels")


def _restart(trainer, module) -> None:
    """The experts changed: a fresh optimizer, so that no stale moments carry over."""
    trainer.strategy.setup_optimizers(trainer)


def _say(module, message: str) -> None:
    if module.hparams.verbose and module.trainer.is_global_zero:
        print(f"[mixae-graph] {message}", flush=True)
