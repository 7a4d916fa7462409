"""`MixAEGraph`: the scikit-learn face of mixae-graph. It drives the same Lightning objects as the CLI."""

from __future__ import annotations

import contextlib
import inspect
import logging
import numbers
import warnings

import lightning as L
import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .datamodule import MixAEDataModule
from .module import MixAEGraphModule

# One copy of the defaults: the LightningModule's signature.
_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(MixAEGraphModule.__init__).parameters.items()
    if p.default is not inspect.Parameter.empty
}


@contextlib.contextmanager
def _quiet_lightning(quiet: bool):
    """Hide Lightning's start-up chatter (accelerator lines, tips) while the estimator fits."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# The Trainer settings every fit needs, from the estimator and from the CLI (which adds its run
# folder and logging); accelerator and devices are the user's.
TRAINER_DEFAULTS = dict(
    accelerator="auto",
    devices=1,
    reload_dataloaders_every_n_epochs=1,  # neighbour pairs and expert labels change every epoch
    deterministic=True,
)


def make_trainer(max_epochs: int, *, verbose: bool = False, **overrides) -> L.Trainer:
    """A Lightning ``Trainer`` for an estimator's fit: :data:`TRAINER_DEFAULTS`, no logger and no
    checkpoints, a progress bar when ``verbose``; ``overrides`` win."""
    settings = dict(
        TRAINER_DEFAULTS,
        max_epochs=max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=verbose,
        enable_model_summary=False,
    )
    settings.update(overrides)
    return L.Trainer(**settings)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and bool(np.isfinite(value))


def check_settings(settings: dict, n_samples: int | None = None) -> None:
    """Refuse out-of-range settings with a ``ValueError`` that names the setting and its value.

    ``settings`` maps :class:`~mixae_graph.module.MixAEGraphModule` parameter names (and the
    estimator's ``batch_size``) to values; names it lacks are not checked. With ``n_samples``, also
    checks that there are enough samples for the kNN graph. Shared by the estimator and the CLI.
    """
    def refuse(name, rule):
        raise ValueError(f"{name} must be {rule}, got {settings[name]!r}")

    def given(*names):
        return [name for name in names if name in settings]

    for name in given("trunk_epochs", "max_experts", "latent_dim", "merge_every"):
        if not _is_int(settings[name]) or settings[name] < 1:
            refuse(name, "a positive integer")
    if settings.get("batch_size") is not None and (not _is_int(settings["batch_size"]) or settings["batch_size"] < 1):
        refuse("batch_size", "a positive integer or None")
    for name in given("expert_epochs",):
        if not _is_int(settings[name]) or settings[name] < 0:
            refuse(name, "a non-negative integer")
    if settings.get("n_neighbors") is not None and (not _is_int(settings["n_neighbors"]) or settings["n_neighbors"] < 2):
        refuse("n_neighbors", "None or an integer of at least 2 (a point counts among its own neighbours)")
    for name in given("temperature", "learning_rate"):
        if not _is_real(settings[name]) or settings[name] <= 0:
            refuse(name, "a positive finite number")
    if settings.get("resolution") is not None and (not _is_real(settings["resolution"]) or settings["resolution"] <= 0):
        refuse("resolution", "None or a positive finite number")
    for name in given("border_weight", "image_blur", "contrast"):
        if not _is_real(settings[name]) or settings[name] < 0:
            refuse(name, "a non-negative finite number")
    for name in given("chain_share",):
        if not (_is_real(settings[name]) and 0 < settings[name] <= 1):
            refuse(name, "a number in (0, 1]")
    if "smoothing" in settings and not (_is_real(settings["smoothing"]) and 0 <= settings["smoothing"] < 1):
        refuse("smoothing", "a number in [0, 1)")
    if "trunk_dropout" in settings and not (_is_real(settings["trunk_dropout"]) and 0 <= settings["trunk_dropout"] < 1):
        refuse("trunk_dropout", "a number in [0, 1)")
    if "min_cluster_size" in settings and not (_is_int(settings["min_cluster_size"]) and settings["min_cluster_size"] >= 2):
        refuse("min_cluster_size", "an integer of at least 2")
    for name in given("trunk_hidden", "expert_hidden"):
        widths = settings[name]
        if not isinstance(widths, (list, tuple)) or not all(_is_int(w) and w >= 1 for w in widths):
            refuse(name, "a tuple of positive layer widths, e.g. (128,)")
    graph_points = settings.get("max_graph_points")
    if graph_points is not None and (not _is_int(graph_points) or graph_points <= (settings.get("n_neighbors") or 2)):
        refuse("max_graph_points", "None or an integer above n_neighbors (the landmarks' kNN graph needs them)")
    if settings.get("expert_dims") is not None and (not _is_int(settings["expert_dims"]) or settings["expert_dims"] < 1):
        refuse("expert_dims", "None or a positive integer")
    if settings.get("n_clusters") is not None and (not _is_int(settings["n_clusters"]) or settings["n_clusters"] < 1):
        refuse("n_clusters", "None or a positive integer")
    if "random_state" in settings and not (_is_int(settings["random_state"]) and 0 <= settings["random_state"] < 2**32):
        refuse("random_state", "an integer seed from 0 to 2**32 - 1")
    if n_samples is not None and settings.get("n_clusters") is not None and settings["n_clusters"] > n_samples // 2:
        raise ValueError(
            f"n_clusters={settings['n_clusters']} is more than half of the {n_samples} samples: a cluster "
            f"needs two points at least, so at most n_clusters={n_samples // 2}"
        )
    if n_samples is not None and settings.get("n_neighbors") is not None and n_samples <= settings["n_neighbors"]:
        raise ValueError(
            f"n_samples={n_samples} is too few for the kNN graph: it needs more than "
            f"n_neighbors={settings['n_neighbors']} samples (lower n_neighbors or add data)"
        )


def _check_input(X) -> None:
    """Refuse, with a message that names the problem, the input scikit-learn's checks word poorly:
    None, text, ragged rows, complex numbers, 1-D or 3-D arrays, NaN or infinite values.

    Sparse matrices, empty arrays and the feature count at predict time are left to ``validate_data``,
    whose messages say what is wrong.
    """
    if X is None:
        raise TypeError("X is None; pass an array of shape (n_samples, n_features)")
    if sparse.issparse(X):
        return
    try:
        array = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"X could not be made into an array (rows of different lengths?): {exc}") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: X must hold real numbers, got dtype {array.dtype}")
    if array.dtype.kind in "OSUV":  # objects, bytes, text
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            reason = str(exc)
            if array.dtype.kind in "SU":  # say 'red', not np.str_('red')
                try:
                    array.astype(object).astype(np.float64)
                except (TypeError, ValueError) as plain:
                    reason = str(plain)
            raise TypeError(
                f"X must hold numbers, but it holds non-numeric values ({reason}); encode text columns as numbers"
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        hint = ""
        if array.ndim == 1:
            hint = ". Reshape your data: X.reshape(-1, 1) if it has one feature, X.reshape(1, -1) if it is one sample"
        elif array.ndim > 2:
            hint = "; flatten each sample first: X.reshape(len(X), -1)"
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {array.ndim}-D with shape {array.shape}{hint}")
    if array.dtype.kind == "f" and array.size:
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        if rows.size:
            raise ValueError(
                f"X has NaN or infinite values in {rows.size} of {len(array)} rows (first: row {rows[0]}); "
                "drop or impute them first"
            )
        if array.dtype.itemsize > 4:  # beyond float32's range: infinite once converted
            rows = np.flatnonzero((np.abs(array) > np.finfo(np.float32).max).any(axis=1))
            if rows.size:
                raise ValueError(
                    f"X has values beyond float32's range (|x| > 3.4e38) in {rows.size} of {len(array)} rows "
                    f"(first: row {rows[0]}); rescale them first"
                )


class MixAEGraph(ClusterMixin, TransformerMixin, BaseEstimator):
    """Clustering by a mixture of autoencoder experts whose number comes from a latent kNN graph.

    A trunk (denoising) autoencoder is pretrained; its codes give a kNN graph (UMAP's fuzzy
    graph); Louvain pieces of the graph, joined by connectivity rules, are the first experts.
    The experts are then a mixture model trained EM-style: each epoch they fit the points assigned
    to them (MIXAE's weighted reconstruction with border and contrast terms), then every point's
    likelihood under every expert (reconstruction error over the expert's own noise variance) is
    smoothed over the graph and reassigns it; merge/split rounds follow the graph. A point belongs
    to the expert under which it is most likely, for the fit's own points as for new ones.

    Parameters
    ----------
    n_clusters : int or None, default=None
        None: the number of clusters is found (one per expert). An int from 1 to ``n_samples // 2``:
        exactly that many clusters, with at least as many experts (split or joined as needed;
        the cluster tree is cut at that many). More than half the samples is a ``ValueError``
        before training.
    image_shape : tuple of int or None, default=None
        Shape of one sample when ``X`` holds flattened images, (height, width) or (height, width,
        channels), e.g. ``data.image_shape`` from :mod:`mixae_graph.datasets`: the images are then blurred
        by ``image_blur`` (default 0.036 of their height) wherever the networks see them.
    trunk_epochs, expert_epochs, ... :
        See :class:`mixae_graph.module.MixAEGraphModule`, whose defaults these are.
    batch_size : int or None, default=None
        Points per batch; None: about 32 steps an epoch, 64 to 256 points
        (:func:`mixae_graph.datamodule.default_batch_size`).
    accelerator : str, default="auto"
        Lightning's accelerator: ``"auto"`` trains on a GPU when one is present, ``"cpu"`` never.
        Predicting runs on the CPU.
    devices : int, default=1
        Devices to train on (one process; for several, use the CLI's DDP config).
    verbose : bool, default=False
        Progress bar and a line per graph step.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training point: the router's, so ``predict(X) == labels_``.
    initial_labels_ : ndarray of shape (n_samples,)
        The graph's first partition (expert slots, -1 for isolated specks), before any expert
        trained: what the experts start from and, in the benchmark, what they must improve on.
    n_experts_ : int
    cluster_tree_ : networkx.DiGraph
        Leaves are the experts; node attribute ``size``; ``graph["history"]`` lists merges/splits.
    latent_graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
    n_features_in_ : int
    module_ : MixAEGraphModule
        The trained Lightning module.

    Examples
    --------
    >>> from mixae_graph import MixAEGraph
    >>> from mixae_graph.datasets import load_digits
    >>> data = load_digits()
    >>> model = MixAEGraph(random_state=0).fit(data.X)     # doctest: +SKIP
    >>> model.n_experts_, model.predict(data.X[:5])        # doctest: +SKIP
    """

    def __init__(
        self,
        n_clusters=_DEFAULTS["n_clusters"],
        *,
        trunk_epochs=_DEFAULTS["trunk_epochs"],
        expert_epochs=_DEFAULTS["expert_epochs"],
        trunk_hidden=_DEFAULTS["trunk_hidden"],
        latent_dim=_DEFAULTS["latent_dim"],
        expert_hidden=_DEFAULTS["expert_hidden"],
        expert_dims=_DEFAULTS["expert_dims"],
        max_experts=_DEFAULTS["max_experts"],
        n_neighbors=_DEFAULTS["n_neighbors"],
        max_graph_points=_DEFAULTS["max_graph_points"],
        resolution=_DEFAULTS["resolution"],
        chain_share=_DEFAULTS["chain_share"],
        min_cluster_size=_DEFAULTS["min_cluster_size"],
        merge_every=_DEFAULTS["merge_every"],
        smoothing=_DEFAULTS["smoothing"],
        temperature=_DEFAULTS["temperature"],
        contrast=_DEFAULTS["contrast"],
        border_weight=_DEFAULTS["border_weight"],
        trunk_dropout=_DEFAULTS["trunk_dropout"],
        learning_rate=_DEFAULTS["learning_rate"],
        image_shape=_DEFAULTS["image_shape"],
        image_blur=_DEFAULTS["image_blur"],
        batch_size=None,
        accelerator="auto",
        devices=1,
        random_state=_DEFAULTS["random_state"],
        verbose=False,
    ):
        self.n_clusters = n_clusters
        self.trunk_epochs = trunk_epochs
        self.expert_epochs = expert_epochs
        self.trunk_hidden = trunk_hidden
        self.latent_dim = latent_dim
        self.expert_hidden = expert_hidden
        self.expert_dims = expert_dims
        self.max_experts = max_experts
        self.n_neighbors = n_neighbors
        self.max_graph_points = max_graph_points
        self.resolution = resolution
        self.chain_share = chain_share
        self.min_cluster_size = min_cluster_size
        self.merge_every = merge_every
        self.smoothing = smoothing
        self.temperature = temperature
        self.contrast = contrast
        self.border_weight = border_weight
        self.trunk_dropout = trunk_dropout
        self.learning_rate = learning_rate
        self.image_shape = image_shape
        self.image_blur = image_blur
        self.batch_size = batch_size
        self.accelerator = accelerator
        self.devices = devices
        self.random_state = random_state
        self.verbose = verbose

    def _module_settings(self) -> dict:
        params = self.get_params()
        return {name: params[name] for name in _DEFAULTS if name in params}

    def _validate_settings(self, n_samples: int) -> None:
        check_settings(self.get_params(), n_samples)

    def fit(self, X, y=None):
        """Fit the experts and their graph on ``X`` (``y`` is ignored)."""
        _check_input(X)
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        self._validate_settings(len(X))
        L.seed_everything(self.random_state, verbose=False)
        datamodule = MixAEDataModule.from_arrays(X, batch_size=self.batch_size, seed=self.random_state)
        module = MixAEGraphModule(n_features=X.shape[1], **self._module_settings())
        with warnings.catch_warnings(), _quiet_lightning(not self.verbose):
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*")  # torch/lightning version skew
            trainer = make_trainer(self.trunk_epochs + self.expert_epochs, verbose=self.verbose,
                                   accelerator=self.accelerator, devices=self.devices)
            trainer.fit(module, datamodule)
        self.module_ = module.cpu().eval()  # predict runs where the caller's arrays are
        self.latent_graph_ = datamodule.graph
        self.cluster_tree_ = module.cluster_tree
        self.n_experts_ = int(module.bank.n_active)
        self.labels_ = module.fit_labels()
        self.initial_labels_ = module.initial_slots
        return self

    def _deviance(self, X) -> torch.Tensor:
        return self.module_.expert_deviance(torch.as_tensor(X, dtype=torch.float32))

    def _validated(self, X) -> np.ndarray:
        check_is_fitted(self, "module_")
        _check_input(X)
        return validate_data(self, X, dtype=np.float32, reset=False)

    def predict(self, X) -> np.ndarray:
        """Cluster of each point: the expert under which it is most likely (no graph, no refit); on
        the training points, ``labels_``."""
        X = self._validated(X)
        slots = self.module_.route_slots(torch.as_tensor(X, dtype=torch.float32))
        return self.module_.cluster_of_slot[slots].numpy()

    def predict_proba(self, X) -> np.ndarray:
        """Soft assignment to the clusters: ``softmax(-deviance / temperature)`` summed per cluster
        (:func:`mixae_graph.routing.deviance`)."""
        X = self._validated(X)
        from .routing import soft_assignment

        p = soft_assignment(self._deviance(X), self.temperature)  # (n, experts)
        clusters = self.module_.cluster_of_slot[self.module_.bank.active_slots]
        n_clusters = int(clusters.max()) + 1
        out = torch.zeros(len(X), n_clusters).index_add_(1, clusters, p)
        return out.numpy()

    def transform(self, X) -> np.ndarray:
        """Deviance of each point under each expert, ``(n_samples, n_experts_)``
        (:func:`mixae_graph.routing.deviance`: its reconstruction error over the expert's noise
        variance, plus the log variance and prior; like k-means' distances to centres: small means
        close)."""
        return self._deviance(self._validated(X)).numpy()

    def score_samples(self, X) -> np.ndarray:
        """Negative smallest deviance: higher means more typical."""
        return -self._deviance(self._validated(X)).min(1).values.numpy()

    def fit_predict(self, X, y=None, **kwargs):
        return self.fit(X, y).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
