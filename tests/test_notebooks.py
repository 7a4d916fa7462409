"""The notebooks in notebooks/ run top to bottom, with tiny epoch budgets.

Each notebook keeps its epoch counts in one code cell tagged ``parameters``; it is replaced here by
small settings before the notebook is executed in a fresh kernel (cwd = notebooks/), as a user would
run it. The kernel is the ``python3`` kernelspec, which jupyter_client starts with this very Python
(the virtual environment's); the first injected cell checks that.
"""

import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

# notebook -> source of its parameters cell during the test
FAST_PARAMETERS = {
    "01_quickstart.ipynb": "TRUNK_EPOCHS = 3\nEXPERT_EPOCHS = 1\n",
    "02_latent_graph_and_tree.ipynb": "TRUNK_EPOCHS = 3\nEXPERT_EPOCHS = 1\nMNIST_SAMPLES = 500\nMOONS_SAMPLES = 400\n",
    "03_cli_and_configs.ipynb": "TRUNK_EPOCHS = 3\nEXPERT_EPOCHS = 1\n",
    "04_gated_experts.ipynb": "TRUNK_EPOCHS = 3\nEXPERT_EPOCHS = 1\n",
}


def kernel_env(tmp_path) -> dict:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(ROOT / ".cache" / "numba")
    env["MPLBACKEND"] = "Agg"
    env.setdefault("OMP_NUM_THREADS", "1")  # two cores, often shared: one thread is faster
    # Notebook 02 takes MNIST only from a local copy; point both places it looks at nothing,
    # so the test always runs the (small) two-moons branch.
    env.pop("MIXAE_GRAPH_MNIST", None)
    env["MIXAE_GRAPH_CACHE"] = str(tmp_path / "mixae_graph_cache")
    return env


def run_notebook(name, tmp_path):
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    assert "EPOCHS" in tagged[0].source
    tagged[0].source = FAST_PARAMETERS[name]
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print('KERNEL', sys.executable)"))

    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute(env=kernel_env(tmp_path))  # raises CellExecutionError if any cell fails
    finally:
        nbformat.write(nb, tmp_path / name)  # the executed copy, to look at when a check fails

    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                text.append(out.data.get("text/plain", ""))
                images += "image/png" in out.data
    text = "".join(text)
    assert f"KERNEL {sys.executable}" in text, "the kernel does not run this test's Python"
    return text, images


def test_notebooks_are_stored_without_outputs():
    for name in FAST_PARAMETERS:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"


def test_quickstart(tmp_path):
    text, images = run_notebook("01_quickstart.ipynb", tmp_path)
    assert "experts found:" in text
    assert "ACC" in text and "NMI" in text and "ARI" in text
    assert "predict    :" in text
    assert images >= 2  # latent graph and cluster tree


def test_latent_graph_and_tree(tmp_path):
    text, images = run_notebook("02_latent_graph_and_tree.ipynb", tmp_path)
    assert "lifted two moons" in text and "latent graph:" in text
    assert " K   ACC    NMI    ARI" in text
    assert images >= 4  # latent graph, experts over time, two dendrograms


def test_cli_and_configs(tmp_path):
    text, images = run_notebook("03_cli_and_configs.ipynb", tmp_path)
    assert "[mixae-graph]" in text and "experts" in text
    assert "labels.csv" in text and "metrics.csv" in text and "config.yaml" in text
    agreement = re.search(r"agreement with labels.csv: ([0-9.]+)", text)
    assert agreement and float(agreement.group(1)) >= 0.9  # the checkpoint predicts what the fit wrote
    assert "200 new points: ACC" in text
    assert images >= 1  # training curves
    assert "No artists with labels" not in text  # the curves found their metrics.csv columns


def test_gated_experts(tmp_path):
    text, images = run_notebook("04_gated_experts.ipynb", tmp_path)
    assert "gate clusters:" in text and "RMSE  mixae-graph gate" in text and "one Ridge" in text
    assert "accuracy on the 1747 unlabelled digits: gated experts" in text and "LabelSpreading" in text
    assert "tree of gates (node: parent):" in text
    assert "retrained: [" in text
    assert images >= 1  # which expert serves which region
