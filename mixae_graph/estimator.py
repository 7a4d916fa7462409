"""`MixAEGraph`: the scikit-learn face of mixae-graph. It drives the same Lightning objects as the CLI."""

from __future__ import annotations

import contextlib
import inspect
import logging
import warnings

import lightning as L
import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .datamodule import MixAEDataModule
from .module import MixAEGraphModule
from .routing import cluster_probabilities, soft_assignment
from .settings import check_settings

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


# Trainer settings the estimator decides itself: a user's ``trainer`` cannot set them.
_OWN_TRAINER_SETTINGS = ("max_epochs", "callbacks")


def make_trainer(max_epochs: int, *, verbose: bool = False, settings: dict | None = None) -> L.Trainer:
    """A Lightning ``Trainer`` for an estimator's fit: :data:`TRAINER_DEFAULTS`, no logger and no
    checkpoints, a progress bar when ``verbose``; ``settings`` (the estimator's ``trainer``) win."""
    options = dict(
        TRAINER_DEFAULTS,
        max_epochs=max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=verbose,
        enable_model_summary=False,
    )
    options.update(settings or {})
    return L.Trainer(**options)


def check_trainer(trainer) -> None:
    """Refuse a ``trainer`` setting that is not a dict, or that sets what the fit decides itself."""
    if trainer is None:
        return
    if not hasattr(trainer, "keys"):
        raise TypeError(f"trainer must be None or a dict of Lightning Trainer settings, got {trainer!r}")
    own = [name for name in _OWN_TRAINER_SETTINGS if name in trainer]
    if own:
        raise ValueError(f"trainer cannot set {', '.join(own)}: the epochs are trunk.epochs + experts.epochs "
                         "and the callbacks are the fit's own")


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
    min_cluster_size : int, default=5
        Smallest cluster, in points, as HDBSCAN's ``min_cluster_size``: smaller graph pieces join
        their best-connected neighbour, and no split makes a smaller part.
    image_shape : tuple of int or None, default=None
        Shape of one sample when ``X`` holds flattened images, (height, width) or (height, width,
        channels), e.g. ``data.image_shape`` from :mod:`mixae_graph.datasets`: the images are then blurred
        by ``image_blur`` (default 0.036 of their height) wherever the networks see them.
    image_blur : float, default=0.036
        Blur images by a Gaussian this fraction of their height wide wherever the networks see
        them (1 pixel at 28x28); 0: no blur. Needs ``image_shape``.
    trunk : dict or mixae_graph.settings.Trunk or None, default=None
        The trunk autoencoder's settings (``epochs``, ``hidden``, ``latent_dim``, ``dropout``):
        see :class:`~mixae_graph.settings.Trunk`; a dict sets some of them, None keeps the defaults.
    experts : dict or mixae_graph.settings.Experts or None, default=None
        The experts' settings (``epochs``, ``hidden``, ``latent_dim``, ``dims``, ``max_experts``,
        ``temperature``, ``contrast``, ``border_weight``): see :class:`~mixae_graph.settings.Experts`.
    graph : dict or mixae_graph.settings.Graph or None, default=None
        The latent graph's settings (``n_neighbors``, ``max_points``, ``resolution``,
        ``chain_share``, ``merge_every``, ``smoothing``): see :class:`~mixae_graph.settings.Graph`.
    learning_rate : float, default=1e-3
        Adam's learning rate, for the trunk and the experts alike.
    batch_size : int or None, default=None
        Points per batch; None: about 32 steps an epoch, 64 to 256 points
        (:func:`mixae_graph.datamodule.default_batch_size`).
    trainer : dict or None, default=None
        Settings of the Lightning ``Trainer`` beside :data:`TRAINER_DEFAULTS`, e.g.
        ``{"accelerator": "cpu"}`` (the default ``"auto"`` trains on a GPU when one is present)
        or ``{"precision": "bf16-mixed"}``. Predicting runs on the CPU.
    random_state : int, default=0
        Seed of the networks, the neighbour draws and every random step of the graph.
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
        n_clusters=None,
        *,
        min_cluster_size=_DEFAULTS["min_cluster_size"],
        image_shape=None,
        image_blur=_DEFAULTS["image_blur"],
        trunk=None,
        experts=None,
        graph=None,
        learning_rate=_DEFAULTS["learning_rate"],
        batch_size=None,
        trainer=None,
        random_state=_DEFAULTS["random_state"],
        verbose=False,
    ):
        self.n_clusters = n_clusters
        self.min_cluster_size = min_cluster_size
        self.image_shape = image_shape
        self.image_blur = image_blur
        self.trunk = trunk
        self.experts = experts
        self.graph = graph
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.trainer = trainer
        self.random_state = random_state
        self.verbose = verbose

    def _module_settings(self) -> dict:
        params = self.get_params()
        return {name: params[name] for name in _DEFAULTS if name in params and name != "verbose"}

    def _validate_settings(self, n_samples: int) -> None:
        check_trainer(self.trainer)
        check_settings(self.get_params(), n_samples)

    def fit(self, X, y=None):
        """Fit the experts and their graph on ``X`` (``y`` is ignored)."""
        _check_input(X)
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        self._validate_settings(len(X))
        L.seed_everything(self.random_state, verbose=False)
        datamodule = MixAEDataModule.from_arrays(X, batch_size=self.batch_size, seed=self.random_state)
        module = MixAEGraphModule(n_features=X.shape[1], **self._module_settings(), verbose=self.verbose)
        with warnings.catch_warnings(), _quiet_lightning(not self.verbose):
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*")  # torch/lightning version skew
            epochs = module.hparams.trunk.epochs + module.hparams.experts.epochs
            trainer = make_trainer(epochs, verbose=self.verbose, settings=self.trainer)
            trainer.fit(module, datamodule)
        self.module_ = module.cpu().eval()  # predict runs where the caller's arrays are
        self.latent_graph_ = module.state.full_graph
        self.cluster_tree_ = module.cluster_tree
        self.n_experts_ = int(module.bank.n_active)
        self.labels_ = module.fit_labels()
        self.initial_labels_ = module.state.initial_slots
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
        p = soft_assignment(self._deviance(X), self.module_.hparams.experts.temperature)  # (n, experts)
        clusters = self.module_.cluster_of_slot[self.module_.bank.active_slots]
        return cluster_probabilities(p, clusters, int(clusters.max()) + 1).numpy()

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
