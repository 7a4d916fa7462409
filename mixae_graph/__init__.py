"""mixae-graph: clustering with a mixture of autoencoder experts whose number and borders follow a
latent kNN graph."""

import os
from pathlib import Path

# The plots' UMAP layout uses numba kernels that compile for seconds in every new process unless
# numba may cache them on disk: in the user's cache folder, unless the user chose a folder (numba
# reads this on import). The fit itself compiles nothing.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                             / "mixae_graph" / "numba"))

from .estimator import MixAEGraph  # noqa: E402

__all__ = ["MixAEGraph"]
__version__ = "0.1.0"
