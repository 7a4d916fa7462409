"""The documentation builds without a single warning, and its API reference documents every
parameter of the public classes on its own.

The build is `make docs`'s Sphinx command with the notebooks not executed (``nb_execution_mode=off``:
their pages are the committed notebooks, or copies executed by an earlier ``make docs``), into a
temporary folder; it takes about 20 s.
"""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import myst_nb  # noqa: F401  (the test extra installs the docs packages: a missing one fails here)
import numpydoc  # noqa: F401
import sphinx  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-D", "nb_execution_mode=off", "-d", str(tmp / "doctrees"), "docs", str(tmp / "html")]
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the docs build failed or warned:\n{result.stderr[-8000:]}"
    assert "WARNING" not in result.stderr, result.stderr[-8000:]
    return tmp / "html"


def test_every_page_is_built(html):
    for page in ["index", "how-it-works", "api", "validation", "api/mixae_graph", "api/mixae_graph.moe",
                 "api/mixae_graph.plot", "api/mixae_graph.cli",
                 "notebooks/01_quickstart", "notebooks/02_latent_graph_and_tree",
                 "notebooks/03_cli_and_configs", "notebooks/04_gated_experts"]:
        assert (html / f"{page}.html").is_file(), page
    quickstart = (html / "notebooks" / "01_quickstart.html").read_text()
    assert "<h1>Quickstart: clustering digits" in quickstart
    assert quickstart.count('class="cell_input') >= 7  # the notebook's code cells are on its page
    assert "digits_latent_graph.png" in (html / "how-it-works.html").read_text()


def documented_parameters(page: str, qualified_name: str) -> set[str]:
    """Names of the numpydoc Parameters entries of one class on its API page."""
    text = page.split(f'id="{qualified_name}"', 1)[1]
    text = re.split(r'id="mixae_graph\.', text, maxsplit=1)[0]  # up to the class's first member
    parameters = text.split(">Parameters<", 1)[1].split("</dl>", 1)[0]
    return set(re.findall(r"<dt><strong>(\w+)</strong>", parameters))


def test_api_page_documents_the_estimator(html):
    page = (html / "api" / "mixae_graph.html").read_text()
    documented = documented_parameters(page, "mixae_graph.MixAEGraph")
    assert {"n_clusters", "image_shape", "random_state"} <= documented
    assert "labels_" in page and "predict_proba" in page  # attributes and methods too


@pytest.mark.parametrize("page, qualified_name", [
    ("mixae_graph", "mixae_graph.MixAEGraph"),
    ("mixae_graph.moe", "mixae_graph.moe.GatedExperts"),
    ("mixae_graph.settings", "mixae_graph.settings.Trunk"),
    ("mixae_graph.settings", "mixae_graph.settings.Experts"),
    ("mixae_graph.settings", "mixae_graph.settings.Graph"),
    ("mixae_graph.module", "mixae_graph.module.MixAEGraphModule"),
    ("mixae_graph.datamodule", "mixae_graph.datamodule.MixAEDataModule"),
])
def test_every_parameter_is_documented_on_its_own(html, page, qualified_name):
    module_name, class_name = qualified_name.rsplit(".", 1)
    cls = getattr(__import__(module_name, fromlist=[class_name]), class_name)
    parameters = {name for name, p in inspect.signature(cls).parameters.items()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    documented = documented_parameters((html / "api" / f"{page}.html").read_text(), qualified_name)
    assert parameters - documented == set(), f"{qualified_name}: parameters without an entry of their own"
