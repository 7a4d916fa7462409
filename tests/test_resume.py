"""Interruption and determinism, with real `mixae-graph fit` processes.

An uninterrupted run and a run killed (SIGKILL) just after a merge/split round start together (two
cores); the killed one, resumed from its ``last.ckpt`` in a new process, must end with the same
experts and every label of the uninterrupted one: the new process repeats the rest of the fit
exactly (run-to-run determinism of whole fits is tested in-process, in test_estimator.py).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NUMBA_CACHE_DIR": str(ROOT / ".cache" / "numba")}
TRUNK_EPOCHS = 4
SETTINGS = ["--model.trunk.epochs", str(TRUNK_EPOCHS), "--model.experts.epochs", "8",
            "--model.graph.merge_every", "2", "--model.trunk.hidden", "[64,64]",
            "--data.batch_size", "256",  # 12 steps an epoch, not the default's 33: three runs share two cores
            "--trainer.enable_progress_bar", "false", "--checkpoint.save_top_k", "-1",
            "--report", "false"]  # no plots: test_cli.py tests the report


def command(data, root, *extra):
    return [sys.executable, "-m", "mixae_graph.cli", "fit", "--data.source", str(data),
            "--trainer.default_root_dir", str(root), *SETTINGS, *map(str, extra)]


def read_labels(run_dir) -> np.ndarray:
    return np.loadtxt(Path(run_dir) / "labels.csv", skiprows=1, dtype=int)


def experts_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if " experts, " in line)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    X, y = make_blobs(n_samples=3000, n_features=30, centers=4, random_state=0)
    data = tmp / "blobs.npz"
    np.savez(data, X=X.astype(np.float32), y=y)
    spawn = dict(cwd=tmp, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = subprocess.Popen(command(data, tmp / "first"), **spawn)
    killed = subprocess.Popen(command(data, tmp / "killed"), **spawn)
    seen = []
    for line in killed.stdout:  # kill right after the first merge/split round's line
        seen.append(line)
        if line.startswith(f"[mixae-graph] epoch {TRUNK_EPOCHS + 2}:"):
            killed.send_signal(signal.SIGKILL)
            break
    killed.wait(timeout=60)
    output = first.communicate(timeout=600)[0]
    assert first.returncode == 0, output[-3000:]
    checkpoint = tmp / "killed" / "version_0" / "checkpoints" / "last.ckpt"
    resumed = subprocess.run(command(data, tmp / "resumed", "--ckpt_path", checkpoint),
                             cwd=tmp, env=ENV, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    return dict(tmp=tmp, first=output, killed_returncode=killed.returncode,
                killed_output="".join(seen), checkpoint=checkpoint, resumed=resumed.stdout)


def test_uninterrupted_run_finds_the_four_blobs(runs):
    assert len(np.unique(read_labels(runs["tmp"] / "first" / "version_0"))) == 4
    assert not (runs["tmp"] / "first" / "version_0" / "report.md").exists()  # --report false


def test_killed_run_resumes_to_the_same_experts_and_labels(runs):
    assert runs["killed_returncode"] == -signal.SIGKILL, runs["killed_output"][-2000:]
    state = torch.load(runs["checkpoint"], weights_only=True, map_location="cpu")
    assert state["epoch"] >= TRUNK_EPOCHS - 1  # past the first experts: graph and labels were saved
    assert "graph" in state["mixae_graph"]
    assert experts_line(runs["resumed"]) == experts_line(runs["first"])
    np.testing.assert_array_equal(read_labels(runs["tmp"] / "resumed" / "version_0"),
                                  read_labels(runs["tmp"] / "first" / "version_0"))


def test_checkpoint_saved_right_after_the_first_experts_reloads(runs):
    """The partition into the first experts is a structure change (a split of the seed expert)."""
    from mixae_graph.module import MixAEGraphModule

    folder = runs["tmp"] / "first" / "version_0" / "checkpoints"
    path = next(folder.glob(f"epoch={TRUNK_EPOCHS - 1}-*.ckpt"))
    module = MixAEGraphModule.load_from_checkpoint(path, weights_only=True, map_location="cpu")
    assert module.bank.n_active >= 4  # the 4 blobs, and any small group that holds together
    assert [event["kind"] for event in module.state.history.events] == ["split"]
    assert module.state.history.events[0]["children"] == module.bank.active_slots.tolist()
    labels = module.state.labels
    assert labels.shape == (3000,)
    assert set(np.unique(labels[labels >= 0])) <= set(module.bank.active_slots.tolist())
    assert module.state.graph.graph.shape == (3000, 3000)
    np.testing.assert_array_equal(module.state.initial_slots, labels)  # saved before any E-step


def test_corrupted_checkpoint_is_refused_with_one_line(runs, tmp_path):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(runs["checkpoint"].read_bytes()[:1000])
    result = subprocess.run(command(runs["tmp"] / "blobs.npz", tmp_path / "runs", "--ckpt_path", broken),
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "checkpoint" in result.stderr.lower()
