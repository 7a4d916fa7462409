"""mixae-graph: clustering with a mixture of autoencoder experts whose number and borders follow a
latent kNN graph."""

from .estimator import MixAEGraph

__all__ = ["MixAEGraph"]
__version__ = "0.1.0"
