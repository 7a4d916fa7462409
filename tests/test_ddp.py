"""A real two-process data-parallel fit (Lightning's DDP over gloo, on CPU), through the CLI.

Graph steps are decided on rank 0 and broadcast; at the end every rank compares a digest of its
experts and labels with the others' and the fit fails if they differ (``ranks agree`` line).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_blobs

from mixae_graph import MixAEGraph
from mixae_graph.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NUMBA_CACHE_DIR": str(ROOT / ".cache" / "numba")}
EPOCHS = dict(trunk=dict(epochs=4, hidden=(64, 64)), experts=dict(epochs=8), graph=dict(merge_every=2))


def test_two_process_ddp_fit_agrees_across_ranks_and_matches_single_process(tmp_path):
    X, y = make_blobs(n_samples=1200, n_features=30, centers=4, random_state=0)
    data = tmp_path / "blobs.npz"
    np.savez(data, X=X.astype(np.float32), y=y)
    settings = [f"--model.{group}.{key}={list(value) if isinstance(value, tuple) else value}"
                for group, values in EPOCHS.items() for key, value in values.items()]
    result = subprocess.run(
        [sys.executable, "-m", "mixae_graph.cli", "fit", "--data.source", str(data),
         "--config", str(ROOT / "configs" / "trainer" / "ddp.yaml"),
         "--trainer.accelerator", "cpu", "--trainer.devices", "2",
         "--data.batch_size", "128",  # per process: two ranks take the single process's 256 per step
         "--trainer.default_root_dir", str(tmp_path / "runs"), "--trainer.enable_progress_bar", "false",
         *settings],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "[mixae-graph] 2 ranks agree: identical experts and labels" in output
    assert output.count("[mixae-graph] labels:") == 1  # rank 0 writes the outputs, once
    labels = np.loadtxt(tmp_path / "runs" / "version_0" / "labels.csv", skiprows=1, dtype=int)

    single = MixAEGraph(random_state=0, batch_size=256, **EPOCHS).fit(X)
    ddp_score, single_score = evaluate(y, labels), evaluate(y, single.labels_)
    assert single_score["ari"] > 0.95
    assert ddp_score["ari"] >= single_score["ari"] - 0.05, (ddp_score, single_score)
