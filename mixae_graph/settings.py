"""The settings of a fit, in three groups (:class:`Trunk`, :class:`Experts`, :class:`Graph`) and a
few top-level ones, and the one table that validates them all (:func:`check_settings`).

The estimator, the Lightning module and the CLI take the same groups: ``MixAEGraph(trunk={"epochs":
20})``, ``MixAEGraphModule(trunk=Trunk(epochs=20))`` and, in a config, ``model: {trunk: {epochs:
20}}`` or ``--model.trunk.epochs 20`` on the command line.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Trunk:
    """The trunk: a denoising autoencoder pretrained on all points, whose codes give the kNN graph.

    Parameters
    ----------
    epochs : int, default=50
        Epochs of pretraining (an epoch is at least 32 optimizer steps at the default batch size,
        :func:`mixae_graph.datamodule.default_batch_size`).
    hidden : tuple of int, default=(500, 500, 2000)
        Hidden layer widths of the encoder (the decoder mirrors them): DEC/N2D's d-500-500-2000-10.
    latent_dim : int, default=10
        Code size: the space in which the kNN graph is built.
    dropout : float, default=0.2
        Share of the input features zeroed (after centring: set to their mean) in every trunk
        step, the rest scaled by 1 / (1 - p): the trunk is a denoising autoencoder, as in DEC's
        pretraining (Xie et al., arXiv 1511.06335, 20%), whose codes gather classes tighter.
    """

    epochs: int = 50
    hidden: tuple[int, ...] = (500, 500, 2000)
    latent_dim: int = 10
    dropout: float = 0.2


@dataclass(frozen=True)
class Experts:
    """The experts: small autoencoders, one per cluster, trained as a mixture model (EM).

    Parameters
    ----------
    epochs : int, default=30
        Epochs of expert training after the trunk's, each followed by an E-step.
    hidden : tuple of int, default=(128,)
        Hidden layer widths of each expert's encoder (the decoder mirrors them).
    latent_dim : int, default=10
        Code size of each expert.
    dims : int or None, default=256
        The experts see and reconstruct the data's top ``dims`` principal directions (fitted with
        the scaling); what lies outside them is the same for every expert and still counts in each
        point's error, so routing compares full reconstruction errors. Wide inputs cost the
        experts' largest products (and predict) in proportion: on MNIST (784 pixels) 256
        directions hold 98% of the variance. None, or at least the input's width: the input itself.
    max_experts : int, default=64
        Slots in the expert bank: the most experts a fit can hold (only the active ones compute).
        Told ``n_clusters``, the bank has at least that many.
    temperature : float, default=0.1
        Softness of the soft assignments, in units of the per-feature deviance
        (:func:`mixae_graph.routing.deviance`); the hard routing does not depend on it.
    contrast : float, default=1.0
        Weight of the contrast term: a hinge that asks each point's own expert to beat the best
        other expert by a margin (:data:`mixae_graph.objective.CONTRAST_MARGIN`), so an expert
        also learns what its cluster is not. It is on for the second half of the expert epochs
        only (:func:`mixae_graph.objective.contrast_weight`): first the experts move points
        freely, then they part, so that the router reproduces the partition even in a short fit.
        0: off.
    border_weight : float, default=0.0
        Weight of the border term: each expert also reconstructs the graph neighbours just
        outside its cluster, so that its border is learnt from both sides. 0 (the default): off;
        measured on, it changes nothing on most sets and merges small clusters with their
        neighbours (the ``border term`` row of ``benchmarks/quality.py``).
    """

    epochs: int = 30
    hidden: tuple[int, ...] = (128,)
    latent_dim: int = 10
    dims: int | None = 256
    max_experts: int = 64
    temperature: float = 0.1
    contrast: float = 1.0
    border_weight: float = 0.0


@dataclass(frozen=True)
class Graph:
    """The latent kNN graph and the steps that follow it.

    Parameters
    ----------
    n_neighbors : int or None, default=None
        Neighbours per point (the point included). None: ``round(log2(n))`` for a graph over ``n``
        points (:func:`mixae_graph.graph.neighbors_for`), 9 for 400 points, 13 for 10,000: a kNN
        graph needs about ``log n`` neighbours to hold each cluster together, and more neighbours
        than a small cluster has points would tie it to its neighbours.
    max_points : int or None, default=20000
        Largest graph: with more points, the graph is built on this many landmarks drawn at random,
        every other point follows its nearest landmark while training and its best expert at the
        end, so the graph's cost stops growing with the data. None: always every point.
    resolution : float or None, default=None
        Louvain resolution of the graph's first parts. None: the finest resolution whose partition
        is as reproducible across Louvain runs as the most reproducible one, within one standard
        error, and of its runs the one that agrees best with the others; read on the kNN graph, or
        on its strong edges where those give a clearly more reproducible partition
        (:func:`mixae_graph.graph.reproducible_communities`). A number: Louvain on the kNN graph.
    chain_share : float, default=0.8
        Chain rule: small graph pieces that send this share of their outside weight to their two
        strongest neighbours, linked end to end, are one thin manifold
        (:func:`mixae_graph.merge_split.chain_groups`).
    merge_every : int, default=4
        Expert epochs between merge/split rounds.
    smoothing : float, default=0.9
        Weight ``alpha`` of the graph in the E-step (:func:`mixae_graph.routing.spread`): after
        every expert epoch each point's soft assignment is smoothed over its kNN neighbours within
        its part of the fine graph (:meth:`mixae_graph.graph.PointGraph.within_fine_parts`), and its
        expert for the next epoch is the arg-max. 0: every point goes to its most likely expert.
    input_view : bool, default=True
        The first experts' borders follow the kNN edges that the input confirms: the codes' graph
        intersected with the kNN graph of the input as the experts see it (blurred, in their
        principal directions; :func:`mixae_graph.graph.intersection`), cut into as many parts as
        the codes' graph gives (:func:`mixae_graph.merge_split.parts_at_count`). An edge that only
        one view draws (two classes the trunk's codes bring close) fades. The count, the
        merge/split rounds and the E-step's smoothing read the codes' graph. False: the first
        experts are the codes' graph's own parts.
    """

    n_neighbors: int | None = None
    max_points: int | None = 20000
    resolution: float | None = None
    chain_share: float = 0.8
    merge_every: int = 4
    smoothing: float = 0.9
    input_view: bool = True


GROUPS = {"trunk": Trunk, "experts": Experts, "graph": Graph}


def as_group(name: str, value) -> Trunk | Experts | Graph:
    """The settings group ``name`` (``trunk``, ``experts`` or ``graph``) from ``value``: None (the
    defaults), a mapping of some of its fields, or the group itself."""
    cls = GROUPS[name]
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not hasattr(value, "keys"):
        raise TypeError(f"{name} must be None, a dict or a mixae_graph.settings.{cls.__name__}, got {value!r}")
    fields = [field.name for field in dataclasses.fields(cls)]
    for key in value:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{name} has no setting {key!r}{hint}; its settings are: {', '.join(fields)}")
    return cls(**{key: tuple(v) if isinstance(v, list) else v for key, v in value.items()})


def as_dict(group) -> dict:
    """A group as plain values (for checkpoints, which load with ``weights_only=True``)."""
    return dataclasses.asdict(group)


# ----------------------------------------------------------------------------- validation


def _int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and bool(np.isfinite(value))


def _widths(value) -> bool:
    return isinstance(value, (list, tuple)) and all(_int(w) and w >= 1 for w in value)


POSITIVE_INT = (lambda v: _int(v) and v >= 1, "a positive integer")
NON_NEGATIVE_INT = (lambda v: _int(v) and v >= 0, "a non-negative integer")
POSITIVE = (lambda v: _real(v) and v > 0, "a positive finite number")
NON_NEGATIVE = (lambda v: _real(v) and v >= 0, "a non-negative finite number")
WIDTHS = (_widths, "a tuple of positive layer widths, e.g. (128,)")
SHARE = (lambda v: _real(v) and 0 <= v < 1, "a number in [0, 1)")


def _or_none(rule: tuple[Callable[[Any], bool], str]) -> tuple[Callable[[Any], bool], str]:
    check, text = rule
    return (lambda v: v is None or check(v), f"None or {text}")


# Every setting and the values it takes: one table for the estimator and the CLI.
CONSTRAINTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "n_clusters": _or_none(POSITIVE_INT),
    "min_cluster_size": (lambda v: _int(v) and v >= 2, "an integer of at least 2"),
    "image_blur": NON_NEGATIVE,
    "learning_rate": POSITIVE,
    "batch_size": _or_none(POSITIVE_INT),
    "random_state": (lambda v: _int(v) and 0 <= v < 2**32, "an integer seed from 0 to 2**32 - 1"),
    "trunk.epochs": POSITIVE_INT,
    "trunk.hidden": WIDTHS,
    "trunk.latent_dim": POSITIVE_INT,
    "trunk.dropout": SHARE,
    "experts.epochs": NON_NEGATIVE_INT,
    "experts.hidden": WIDTHS,
    "experts.latent_dim": POSITIVE_INT,
    "experts.dims": _or_none(POSITIVE_INT),
    "experts.max_experts": POSITIVE_INT,
    "experts.temperature": POSITIVE,
    "experts.contrast": NON_NEGATIVE,
    "experts.border_weight": NON_NEGATIVE,
    "graph.n_neighbors": (lambda v: v is None or (_int(v) and v >= 2),
                          "None or an integer of at least 2 (a point counts among its own neighbours)"),
    "graph.max_points": _or_none(POSITIVE_INT),
    "graph.resolution": _or_none(POSITIVE),
    "graph.chain_share": (lambda v: _real(v) and 0 < v <= 1, "a number in (0, 1]"),
    "graph.merge_every": POSITIVE_INT,
    "graph.smoothing": SHARE,
    "graph.input_view": (lambda v: isinstance(v, bool), "True or False"),
}


def check_settings(settings: dict, n_samples: int | None = None) -> None:
    """Refuse out-of-range settings with a ``ValueError`` that names the setting and its value.

    ``settings`` maps top-level names (``n_clusters``, ``trunk``, ...) to values; groups may be
    None, dicts or group objects; names it lacks are not checked. With ``n_samples``, also checks
    that the data can give what the settings ask (a K of at most half the points, a kNN graph with
    more points than neighbours). Shared by the estimator and the CLI.
    """
    flat = {}
    for name, value in settings.items():
        if name in GROUPS:
            group = as_group(name, value)
            flat.update({f"{name}.{key}": v for key, v in dataclasses.asdict(group).items()})
        else:
            flat[name] = value
    for name, (check, rule) in CONSTRAINTS.items():
        if name in flat and not check(flat[name]):
            raise ValueError(f"{name} must be {rule}, got {flat[name]!r}")
    graph_points, neighbours = flat.get("graph.max_points"), flat.get("graph.n_neighbors")
    if graph_points is not None and graph_points <= (neighbours or 2):
        raise ValueError(f"graph.max_points must be None or an integer above graph.n_neighbors (the "
                         f"landmarks' kNN graph needs them), got {graph_points!r}")
    if n_samples is None:
        return
    k = flat.get("n_clusters")
    if k is not None and k > n_samples // 2:
        raise ValueError(
            f"n_clusters={k} is more than half of the {n_samples} samples: a cluster needs two points "
            f"at least, so at most n_clusters={n_samples // 2}"
        )
    if neighbours is not None and n_samples <= neighbours:
        raise ValueError(
            f"n_samples={n_samples} is too few for the kNN graph: it needs more than "
            f"graph.n_neighbors={neighbours} samples (lower it or add data)"
        )
