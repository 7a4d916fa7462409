"""The command line, run as real subprocesses: one fit, one predict from its checkpoint, one --print_config.

Each process pays seconds of imports and a fit, so the fit is shared by every test.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NUMBA_CACHE_DIR": str(ROOT / ".cache" / "numba")}
# A 3-epoch trunk at 256-point batches (2 steps an epoch on 300 points), without the denoising noise:
# the plumbing is under test here. Such a short, narrow trunk splits one of the blobs on seed 0 at
# the default batches (5 steps), or with the default 20% input dropout (at every default the blobs
# come out 3 / 3 / 3 on seeds 0-2).
TINY = ["--model.trunk.epochs", "3", "--model.experts.epochs", "4", "--model.trunk.hidden", "[64,64]",
        "--model.trunk.dropout", "0", "--data.batch_size", "256", "--quiet", "true"]


def run_cli(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "mixae_graph.cli", *map(str, args)],
                            cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def read_labels(path) -> np.ndarray:
    lines = Path(path).read_text().split()
    assert lines[0] == "label"
    return np.array(lines[1:], dtype=int)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Three well-separated blobs: the graph has three parts, so labels are not trivially all equal."""
    tmp = tmp_path_factory.mktemp("cli")
    X, y = make_blobs(n_samples=300, n_features=20, centers=3, random_state=0)
    data = tmp / "blobs.npz"
    np.savez(data, X=X.astype(np.float32), y=y)
    result = run_cli("fit", "--data.source", data, "--trainer.default_root_dir", tmp / "runs", *TINY, cwd=tmp)
    run_dir = tmp / "runs" / "version_0"
    return dict(tmp=tmp, data=data, y=y, run_dir=run_dir, stdout=result.stdout)


def test_fit_writes_labels_checkpoint_config_and_metrics(fitted):
    run_dir = fitted["run_dir"]
    labels = read_labels(run_dir / "labels.csv")
    assert labels.shape == fitted["y"].shape
    assert labels.min() >= 0  # every point has a cluster
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "metrics.csv").is_file()
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["trunk"]["epochs"] == 3 and config["model"]["experts"]["epochs"] == 4
    assert config["model"]["trunk"]["hidden"] == [64, 64] and config["model"]["graph"]["merge_every"] == 4
    assert config["data"]["source"] == str(fitted["data"])
    assert "experts" in fitted["stdout"] and "ARI" in fitted["stdout"]
    assert str(run_dir / "labels.csv") in fitted["stdout"]


def test_fit_writes_a_report_with_its_pictures(fitted):
    run_dir = fitted["run_dir"]
    report = (run_dir / "report.md").read_text()
    # Blobs have classes but are not images: no expert_reconstructions.png.
    for name in ("latent_graph.png", "cluster_tree.png", "training_curves.png", "confusion.png"):
        assert (run_dir / name).stat().st_size > 1000, name
        assert f"]({name})" in report, name
    assert not (run_dir / "expert_reconstructions.png").exists()
    assert "experts found" in report and "ARI" in report and "| join |" in report
    assert str(run_dir / "report.md") in fitted["stdout"]


def test_fit_finds_the_blobs(fitted):
    from sklearn.metrics import adjusted_rand_score

    labels = read_labels(fitted["run_dir"] / "labels.csv")
    assert adjusted_rand_score(fitted["y"], labels) >= 0.9


def test_predict_from_last_checkpoint_repeats_the_fit(fitted):
    run_dir, out = fitted["run_dir"], fitted["tmp"] / "predicted.csv"
    run_cli("predict", "--config", run_dir / "config.yaml", "--ckpt_path", run_dir / "checkpoints" / "last.ckpt",
            "--labels_path", out, cwd=fitted["tmp"])
    predicted = read_labels(out)
    np.testing.assert_array_equal(predicted, read_labels(run_dir / "labels.csv"))
    assert len(np.unique(predicted)) > 1


def test_print_config(tmp_path):
    result = run_cli("fit", "--print_config", cwd=tmp_path)
    config = yaml.safe_load(result.stdout)
    from mixae_graph.settings import Trunk

    assert config["model"]["trunk"] == {"epochs": 50, "hidden": [500, 500, 2000], "latent_dim": 10, "dropout": 0.2}
    assert Trunk().epochs == 50  # the group's own default, not a copy in the CLI
    assert config["model"]["verbose"] is True  # the CLI shows its graph steps (--quiet hides them)
    assert config["trainer"]["reload_dataloaders_every_n_epochs"] == 1
    assert config["checkpoint"]["save_last"] is True
    assert "max_epochs" not in config["trainer"]  # linked: trunk.epochs + experts.epochs


def test_bad_data_gives_one_readable_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mixae_graph.cli", "fit", "--data.source", str(tmp_path / "missing.npz")],
        capture_output=True, text=True, cwd=tmp_path, env=ENV,
    )
    assert result.returncode == 2
    assert "missing.npz" in result.stderr
    assert "Traceback" not in result.stderr


def test_images_carry_their_shape_into_the_model_and_its_checkpoint(tmp_path):
    """An ``.npz`` with ``image_shape`` (here 400 of scikit-learn's digits): the data module hands the
    shape to the model, the checkpoint keeps it with the blur asked for, and predict routes by the
    restored model's errors, which are those of blurred images."""
    import torch
    from sklearn.datasets import load_digits

    from mixae_graph.module import MixAEGraphModule

    digits = load_digits()
    data = tmp_path / "digits.npz"
    np.savez(data, X=(digits.data[:400] / 16).astype(np.float32), y=digits.target[:400], image_shape=(8, 8))
    run_cli("fit", "--data.source", data, "--trainer.default_root_dir", tmp_path / "runs", *TINY,
            "--model.image_blur", "0.1", cwd=tmp_path)
    run_dir = tmp_path / "runs" / "version_0"
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert tuple(checkpoint["hyper_parameters"]["image_shape"]) == (8, 8)
    assert (run_dir / "expert_reconstructions.png").stat().st_size > 1000
    out = tmp_path / "predicted.csv"
    run_cli("predict", "--config", run_dir / "config.yaml", "--ckpt_path", run_dir / "checkpoints" / "last.ckpt",
            "--labels_path", out, cwd=tmp_path)
    restored = MixAEGraphModule.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert restored.hparams.image_shape == (8, 8) and restored.hparams.image_blur == 0.1
    x = torch.as_tensor(np.load(data)["X"])
    best = restored.expert_deviance(x).argmin(1)
    routed = restored.cluster_of_slot[restored.bank.active_slots[best]].numpy()
    np.testing.assert_array_equal(read_labels(out), routed)
    assert np.mean(routed == read_labels(run_dir / "labels.csv")) >= 0.995  # the fit's labels are the router's
