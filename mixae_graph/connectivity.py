"""The callback that runs the graph steps between epochs: graph, first experts, the E-step after
every expert epoch, merge/split rounds, and the final routing.

It only applies decisions; the rules themselves live in :mod:`mixae_graph.merge_split`. Slots of the
bank are flipped and copied in place, so parameter shapes never change; the optimizer is rebuilt
whenever the experts change, so that no stale moments carry over.
"""

from __future__ import annotations

import time

import lightning as L
import numpy as np
import torch

from .graph import PointGraph, expert_weights, point_graph
from .merge_split import bisect_expert, chain_groups, join_pieces, partition, reassign_fragments, split_experts
from .routing import least_shares, soft_assignment, spread
from .state import FitState

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
        steps = self._steps_due(trainer, module)
        if not steps:
            return
        if trainer.world_size == 1:
            changed = any([step(trainer, module) for step in steps])
        else:
            changed = _decide_once(trainer, module, steps)
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

    # ------------------------------------------------------------------ steps (each: changed?)
    def _graph(self, module, codes) -> PointGraph:
        started = time.perf_counter()
        h = module.hparams
        graph = point_graph(codes, h.graph.n_neighbors, h.graph.max_points, h.random_state)
        on = f"{graph.graph.shape[0]} points" if len(graph.landmarks) == len(codes) else \
            f"{len(graph.landmarks)} landmarks of {len(codes)} points"
        _say(module, f"latent kNN graph: {on}, {graph.graph.nnz // 2} edges "
                     f"({time.perf_counter() - started:.1f} s)")
        return graph

    def _first_experts(self, trainer, module) -> bool:
        X, state = trainer.datamodule.X, module.state
        codes = module.trunk_codes(torch.as_tensor(X)).cpu().numpy()
        graph = self._graph(module, codes)
        started = time.perf_counter()
        module.calibrate_error_scale(X[graph.landmarks])
        rules, chains = _rules(module, graph.graph.shape[0]), self.chains(module, graph.graph)
        # The graph's own parts: the experts' EM moves their borders from there.
        parts = _largest(partition(graph.graph, **rules, chains=chains), module.bank.max_experts)
        seed = int(module.bank.active_slots[0])
        slots = [seed] + [_add_child(module, seed) for _ in range(parts.max())]
        labels = np.where(parts >= 0, np.asarray(slots)[np.maximum(parts, 0)], -1)
        if len(slots) > 1:
            state.history.record_split(seed, slots, trainer.current_epoch,
                                       sizes=np.bincount(parts[parts >= 0]).tolist(), rule="partition")
        found = len(slots)
        labels, _ = honour_n_clusters(module, graph.graph, labels, trainer.current_epoch)
        state.set_graph(graph)
        state.labels = graph.to_points(labels)
        state.initial_slots = state.labels.copy()
        more = f", bisected to {module.bank.n_active} as n_clusters" if module.bank.n_active > found else ""
        _say(module, f"first experts: the graph's {found} parts{more} ({time.perf_counter() - started:.1f} s)")
        return True

    def _expectation_step(self, trainer, module) -> bool:
        """The mixture's scalars from the labels the experts trained on, then new labels from the
        graph-smoothed likelihood. Experts left without a point vanish; told ``n_clusters``, the
        largest experts are bisected until there are that many again."""
        state = module.state
        graph = state.graph
        labels = expectation(module, trainer.datamodule.X[graph.landmarks], graph.graph, state.labels[graph.landmarks])
        changed = drop_empty_experts(module, labels) > 0
        labels, splits = honour_n_clusters(module, graph.graph, labels, trainer.current_epoch + 1)
        changed |= bool(splits)
        state.labels = graph.to_points(labels)
        return changed

    def _merge_split_round(self, trainer, module) -> bool:
        """Stray points back to their neighbours, then splits, then merges (which may undo a split
        whose parts the merge rules join again, never the other way round)."""
        started, epoch = time.perf_counter(), trainer.current_epoch + 1
        state = module.state
        graph = state.graph.graph
        rules = _rules(module, graph.shape[0])
        labels = reassign_fragments(graph, state.labels[state.graph.landmarks], rules["min_size"])
        drop_empty_experts(module, labels)
        split_labels, splits = split_experts(graph, labels, min_size=rules["min_size"])
        splits = _within_capacity(module, splits)
        for event in splits:
            children = [event["parent"]]
            for child in event["children"][1:]:
                slot = _add_child(module, event["parent"])
                labels[split_labels == child] = slot
                children.append(slot)
            state.history.record_split(event["parent"], children, epoch, sizes=event["sizes"],
                                       rule=event["rule"])
        labels, merges = join_pieces(graph, labels, min_size=rules["min_size"],
                                     chain_share=rules["chain_share"], chains=self.chains(module, graph))
        for event in merges:
            for slot in event["experts"]:
                if slot != event["into"]:
                    module.bank.remove_expert(slot)
            state.history.record_merge(event["experts"], event["into"], epoch,
                                       sizes=event["sizes"], rule=event["rule"])
        state.labels = state.graph.to_points(labels)
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
        finish(module, module.state.full_graph, module.route_slots(torch.as_tensor(X)).cpu().numpy())
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


def honour_n_clusters(module, graph, labels, epoch: int) -> tuple[np.ndarray, int]:
    """Told ``n_clusters=K``, bisect the expert with the most points (:func:`bisect_expert`) until
    there are ``K`` experts; the number of splits made."""
    k, splits = module.hparams.n_clusters, 0
    while k is not None and module.bank.n_active < k:
        slots, sizes = np.unique(labels[labels >= 0], return_counts=True)
        parent = int(slots[np.argmax(sizes)])
        child = _add_child(module, parent)
        labels = bisect_expert(graph, labels, parent, child)
        module.state.history.record_split(parent, [parent, child], epoch, rule="n_clusters",
                                          sizes=[int(np.sum(labels == parent)), int(np.sum(labels == child))])
        splits += 1
    return labels, splits


def keep_every_expert(module, X) -> None:
    """Mixing weights under which each active expert is the likeliest for at least
    ``min(min_cluster_size, n // n_experts)`` points of ``X`` (:func:`~mixae_graph.routing.least_shares`):
    the experts kept for a promised ``n_clusters`` all keep points through the final routing."""
    slots = module.bank.active_slots
    errors = module.expert_errors(torch.as_tensor(X))
    least = max(1, min(module.hparams.min_cluster_size, len(X) // len(slots)))
    module.log_prior[slots] = least_shares(errors, module.noise_var[slots], module.log_prior[slots],
                                           module.hparams.n_features, least).to(module.log_prior.dtype)


def finish(module, graph, labels: np.ndarray) -> None:
    """Final clusters: the tree over the experts, cut at ``n_clusters`` when given."""
    from .tree import cut_tree

    drop_empty_experts(module, labels)
    state = module.state
    state.final_slots = labels
    slots = module.bank.active_slots.tolist()
    weights, ids = expert_weights(graph, labels)
    state.tree_sizes = {int(s): int(np.sum(labels == s)) for s in slots}
    state.tree_weights = {  # (slot, slot): the weight inside an expert, which its volume needs
        (int(ids[i]), int(ids[j])): float(weights[i, j])
        for i in range(len(ids)) for j in range(i, len(ids)) if weights[i, j] > 0
    }
    cluster = {slot: column for column, slot in enumerate(slots)}
    k = module.hparams.n_clusters
    if k is not None:
        if k > len(slots):  # honour_n_clusters and keep_every_expert rule this out
            raise RuntimeError(f"n_clusters={k}, but the fit ended with {len(slots)} experts that own points")
        cluster = cut_tree(module.cluster_tree, k)
    module.cluster_of_slot.fill_(-1)
    for slot, c in cluster.items():
        module.cluster_of_slot[slot] = c


def drop_empty_experts(module, labels: np.ndarray) -> int:
    """Experts that own no point in ``labels`` vanish; how many did."""
    empty = [slot for slot in module.bank.active_slots.tolist() if not np.any(labels == slot)]
    for slot in empty:
        module.bank.remove_expert(slot)
    return len(empty)


def _within_capacity(module, splits: list[dict]) -> list[dict]:
    """The splits the bank has free slots for, in order; the rest wait (their experts stay whole)."""
    free, kept = module.bank.max_experts - module.bank.n_active, []
    for event in splits:
        if len(event["children"]) - 1 <= free:
            kept.append(event)
            free -= len(event["children"]) - 1
    return kept


def _largest(parts: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest parts (``0..k-1``); points of the others (``-1``) go to the experts."""
    sizes = np.bincount(parts[parts >= 0])
    if len(sizes) <= k:
        return parts
    keep = np.argsort(-sizes, kind="stable")[:k]
    relabel = np.full(len(sizes), -1)
    relabel[np.sort(keep)] = np.arange(k)
    return np.where(parts >= 0, relabel[np.maximum(parts, 0)], -1)


def _rules(module, n_points: int) -> dict:
    h = module.hparams
    return dict(resolution=h.graph.resolution, chain_share=h.graph.chain_share,
                min_size=h.min_cluster_size,
                random_state=h.random_state)


def _add_child(module, parent: int) -> int:
    slot = module.bank.add_expert(source=parent)
    module.noise_var[slot] = module.noise_var[parent]
    module.log_prior[slot] = module.log_prior[parent]
    generator = torch.Generator().manual_seed(module.hparams.random_state + slot)
    module.bank.perturb(slot, SPLIT_NOISE, generator=generator)
    return slot


def _decide_once(trainer, module, steps) -> bool:
    """Run ``steps`` on rank 0 and send the outcome (experts, graph, labels, history) to every rank."""
    snapshot = None
    if trainer.is_global_zero:
        changed = any([step(trainer, module) for step in steps])
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
