"""The callback that runs the graph steps between epochs: graph, first experts, merge/split rounds.

It only applies decisions; the rules themselves live in :mod:`mixae_graph.merge_split`. Slots of the
bank are flipped and copied in place, so parameter shapes never change; the optimizer is rebuilt
whenever the experts change, so that no stale moments carry over.
"""

from __future__ import annotations

import time

import lightning as L
import numpy as np
import scipy.sparse as sp
import torch

from .graph import expert_weights, latent_graph
from .merge_split import join_pieces, partition, reassign_fragments, split_experts
from .routing import soft_assignment


class ConnectivityCallback(L.Callback):
    """Builds the latent graph after trunk pretraining and merges/splits experts every few epochs."""

    def on_train_start(self, trainer, module) -> None:
        # Resumed past the trunk phase: the graph is not in the checkpoint, rebuild it (deterministic).
        if trainer.current_epoch >= module.hparams.trunk_epochs and trainer.datamodule.graph is None:
            datamodule = trainer.datamodule
            datamodule.graph = self._graph(module, datamodule.X)
            datamodule.labels = graph_routing(module, datamodule.X, datamodule.graph)

    def on_train_epoch_end(self, trainer, module) -> None:
        # Runs before the checkpoint callbacks, so every checkpoint holds the experts it trained.
        done = trainer.current_epoch + 1
        trunk = module.hparams.trunk_epochs
        if done == trunk:
            self._first_experts(trainer, module)
        elif done > trunk and (done - trunk) % module.hparams.merge_every == 0 and done < trainer.max_epochs:
            self._merge_split_round(trainer, module, done)
        if done == trainer.max_epochs:
            datamodule = trainer.datamodule
            labels = graph_routing(module, datamodule.X, datamodule.graph)
            labels = reassign_fragments(datamodule.graph, labels, _rules(module, len(labels))["min_size"])
            finish(module, datamodule.graph, labels)

    # ------------------------------------------------------------------ steps
    def _graph(self, module, X):
        started = time.perf_counter()
        codes = module.trunk_codes(torch.as_tensor(X, device=module.device)).cpu().numpy()
        graph = latent_graph(codes, module.hparams.n_neighbors, module.hparams.random_state)
        _say(module, f"latent kNN graph: {graph.shape[0]} points, {graph.nnz // 2} edges "
                     f"({time.perf_counter() - started:.1f} s)")
        return graph

    def _first_experts(self, trainer, module) -> None:
        datamodule = trainer.datamodule
        graph = self._graph(module, datamodule.X)
        started = time.perf_counter()
        parts = partition(graph, **_rules(module, graph.shape[0]))
        seed = int(module.bank.active_slots[0])
        slots = [seed] + [_add_child(module, seed) for _ in range(parts.max())]
        labels = np.where(parts >= 0, np.asarray(slots)[np.maximum(parts, 0)], -1)
        if len(slots) > 1:
            module.recorder.record_split(seed, slots, trainer.current_epoch,
                                         sizes=np.bincount(parts[parts >= 0]).tolist(), rule="partition")
        datamodule.graph, datamodule.labels = graph, labels
        _say(module, f"first experts: {len(slots)} from the graph's parts "
                     f"({time.perf_counter() - started:.1f} s)")
        _restart(trainer, module)

    def _merge_split_round(self, trainer, module, epoch: int) -> None:
        """Stray points back to their neighbours, then splits, then merges (which may undo a split
        whose parts the merge rules join again, never the other way round)."""
        started = time.perf_counter()
        datamodule = trainer.datamodule
        graph = datamodule.graph
        rules = _rules(module, graph.shape[0])
        labels = reassign_fragments(graph, graph_routing(module, datamodule.X, graph), rules["min_size"])
        for slot in module.bank.active_slots.tolist():  # experts that own no point vanish
            if not np.any(labels == slot):
                module.bank.remove_expert(slot)
        split_labels, splits = split_experts(graph, labels, min_size=rules["min_size"])
        for event in splits:
            children = [event["parent"]]
            for child in event["children"][1:]:
                slot = _add_child(module, event["parent"])
                labels[split_labels == child] = slot
                children.append(slot)
            module.recorder.record_split(event["parent"], children, epoch, sizes=event["sizes"],
                                         rule=event["rule"])
        labels, merges = join_pieces(graph, labels, min_size=rules["min_size"], threshold=None,
                                     chain_share=rules["chain_share"], random_state=rules["random_state"])
        for event in merges:
            for slot in event["experts"]:
                if slot != event["into"]:
                    module.bank.remove_expert(slot)
            module.recorder.record_merge(event["experts"], event["into"], epoch,
                                         sizes=event["sizes"], rule=event["rule"])
        datamodule.labels = labels
        done = [f"split E{e['parent']} -> {', '.join(f'E{c}' for c in e['children'])}" for e in splits]
        done += [f"merged {' + '.join(f'E{x}' for x in e['experts'])} -> E{e['into']} ({e['rule']})"
                 for e in merges]
        _say(module, f"epoch {epoch}: {'; '.join(done) or 'no change'}; {module.bank.n_active} experts "
                     f"({time.perf_counter() - started:.1f} s)")
        if merges or splits:
            _restart(trainer, module)


def graph_routing(module, X, graph, alpha: float = 0.9, steps: int = 20) -> np.ndarray:
    """Expert slot of every point from the experts' soft assignments spread over the graph.

    Label spreading (Zhou et al. 2004): ``p <- (1 - alpha) p0 + alpha D^-1 W p``, with ``p0`` the
    routing by reconstruction error. Where experts hesitate (borders, points their bottleneck
    generalises to), the neighbours decide, so clusters follow connectivity. Measured on digits: raw
    routing agreed with the classes at ACC 0.82, spread routing at 0.85.
    """
    errors = module.expert_errors(torch.as_tensor(X, device=module.device))
    start = soft_assignment(errors, module.hparams.temperature).cpu().numpy()  # (n, experts)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    walk = sp.diags(1.0 / np.maximum(degree, 1e-12)) @ graph
    p = start
    for _ in range(steps):
        p = (1 - alpha) * start + alpha * (walk @ p)
    return module.bank.active_slots.cpu().numpy()[p.argmax(1)]


def finish(module, graph, labels: np.ndarray) -> None:
    """Final clusters: the tree over the experts, cut at ``n_clusters`` when given."""
    from .tree import cut_tree

    module.final_slots = labels
    slots = module.bank.active_slots.tolist()
    weights, ids = expert_weights(graph, labels)
    sizes = {int(s): int(np.sum(labels == s)) for s in slots}
    module.tree_sizes = sizes
    module.tree_weights = {
        (int(ids[i]), int(ids[j])): float(weights[i, j])
        for i in range(len(ids)) for j in range(i + 1, len(ids)) if weights[i, j] > 0
    }
    cluster = {slot: column for column, slot in enumerate(slots)}
    k = module.hparams.n_clusters
    if k is not None:
        cluster = cut_tree(module.cluster_tree, min(k, len(slots)))
    module.cluster_of_slot.fill_(-1)
    for slot, c in cluster.items():
        module.cluster_of_slot[slot] = c


def _rules(module, n_points: int) -> dict:
    h = module.hparams
    return dict(resolution=h.resolution, threshold=h.merge_threshold, chain_share=h.chain_share,
                min_size=max(h.n_neighbors, int(h.min_cluster_fraction * n_points)),
                random_state=h.random_state)


def _add_child(module, parent: int) -> int:
    slot = module.bank.add_expert(source=parent)
    generator = torch.Generator().manual_seed(module.hparams.random_state + slot)
    module.bank.perturb(slot, 0.01, generator=generator)
    return slot


def _restart(trainer, module) -> None:
    """The experts changed: warm up again on graph labels, with a fresh optimizer."""
    module.structure_epoch = trainer.current_epoch + 1
    trainer.strategy.setup_optimizers(trainer)


def _say(module, message: str) -> None:
    if module.hparams.verbose:
        print(f"[mixae-graph] {message}", flush=True)
