"""Shared fixtures: data sets and fitted models, fitted once per test session."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))
os.environ.setdefault("MPLBACKEND", "Agg")
# Two threads fight over two cores when anything else runs; one thread is faster and deterministic.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
# The 10k MNIST digits: ``MIXAE_GRAPH_MNIST`` (the loader's own variable) or ``../shared/data`` beside
# the checkout, where the project's machines keep them.
MNIST_FILE = Path(os.environ.get("MIXAE_GRAPH_MNIST") or ROOT.parent / "shared" / "data" / "mnist10k.npz")

# Small epoch budgets and 256-point batches (a quarter of the default's steps on digits) keep the
# suite fast; quality floors in the tests are set below the benchmark's.
FAST = dict(trunk=dict(epochs=30), experts=dict(epochs=8), graph=dict(merge_every=4), batch_size=256)


@pytest.fixture(scope="session")
def mnist10k_path():
    """The 10k real MNIST digits (:data:`MNIST_FILE`); the tests that need them skip without them,
    since nothing is downloaded at test time."""
    if not MNIST_FILE.exists():
        pytest.skip(f"no MNIST file at {MNIST_FILE}: set MIXAE_GRAPH_MNIST or keep ../shared/data beside the checkout")
    return MNIST_FILE


@pytest.fixture(scope="session")
def digits():
    from mixae_graph.datasets import load_digits

    return load_digits()


@pytest.fixture(scope="session")
def digits_model(digits):
    from mixae_graph import MixAEGraph

    # Batches of 128 (14 steps an epoch, not the default's 32): 48 s instead of 75 s on one thread,
    # 12 experts and ACC 0.912 (the default batch: 14 and 0.898).
    return MixAEGraph(trunk=dict(epochs=60), experts=dict(epochs=12), batch_size=128, image_shape=digits.image_shape,
                      random_state=0).fit(digits.X)


@pytest.fixture(scope="session")
def moons():
    from mixae_graph.datasets import make_moons

    return make_moons(n_samples=1000, random_state=0)


@pytest.fixture(scope="session")
def circles():
    from mixae_graph.datasets import make_circles

    return make_circles(n_samples=1000, random_state=0)


@pytest.fixture(scope="session")
def blobs():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
    return X.astype(np.float32), y


# The slowest test files, slowest first (seconds on 2 cores, 2026-12-04): pytest-xdist's
# `--dist loadfile` hands whole files to the workers in collection order, so the long ones start
# first and the short ones fill the gaps at the end instead of one worker running a long file alone.
SLOW_FILES = ("test_notebooks.py", "test_estimator.py", "test_sklearn_contract.py", "test_cli.py",
              "test_resume.py", "test_n_clusters.py", "test_ddp.py", "test_plot.py", "test_docs.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))  # stable: a file keeps its order
