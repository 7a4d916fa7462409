"""Sphinx configuration: API reference from the numpydoc docstrings, markdown pages and the
notebooks executed into pages (``make docs``; the HTML lands in ``docs/_build/html``)."""

import shutil
from pathlib import Path

import nbformat

import mixae_graph

DOCS = Path(__file__).resolve().parent
NOTEBOOKS = DOCS.parent / "notebooks"  # the committed notebooks, stored without outputs
PAGES = DOCS / "notebooks"             # their copies that become pages (generated, git-ignored)

project = "mixae-graph"
author = "mixae-graph developers"
copyright = "2026, mixae-graph developers"
release = version = mixae_graph.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # markdown pages (MyST) and notebooks
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
templates_path = ["_templates"]
html_theme = "furo"
html_title = f"mixae-graph {release}"

# API reference: one generated page per module (docs/api/, git-ignored), each member in full.
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections carry the types
autodoc_inherit_docstrings = False  # an override without a docstring of its own (a Lightning hook) is left out
numpydoc_show_class_members = False  # members are documented in full by autodoc, not listed again
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# Notebooks. A notebook runs from notebooks/, as a reader runs it (03 reads ../configs/moons.yaml),
# so this file executes it there, with its own parameters, before myst-nb reads the executed copy;
# myst-nb itself never executes. nb_execution_mode keeps myst-nb's meaning:
#   "force": execute every notebook (what `make docs` does, several minutes on 2 cores);
#   "cache": execute only the notebooks whose cells changed since their copy was executed;
#   "off":   execute nothing: a copy executed earlier for the same cells is kept, else the
#            committed notebook (no outputs) is copied (what tests/test_docs.py does).
nb_execution_mode = "force"
nb_execution_timeout = 600  # seconds per cell
nb_merge_streams = True


def _same_cells(a, b) -> bool:
    return [(c.cell_type, c.source) for c in a.cells] == [(c.cell_type, c.source) for c in b.cells]


def _executed(nb) -> bool:
    return any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def _execute(nb, timeout):
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, failing the build, if a cell fails


def _write(nb, path: Path):
    part = path.with_suffix(".part")
    nbformat.write(nb, part)
    part.replace(path)  # a build running beside this one never reads half a notebook


def prepare_notebooks(app, config):
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    mode = config.nb_execution_mode
    if mode not in ("force", "cache", "off"):
        raise ValueError(f"nb_execution_mode must be 'force', 'cache' or 'off', got {mode!r}")
    PAGES.mkdir(exist_ok=True)
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        page = PAGES / source.name
        nb = nbformat.read(source, as_version=4)
        old = nbformat.read(page, as_version=4) if page.exists() else None
        current = old is not None and _same_cells(old, nb)
        if mode == "force" or (mode == "cache" and not (current and _executed(old))):
            log.info(f"executing {source.name} in {NOTEBOOKS} ...")
            _execute(nb, config.nb_execution_timeout)
            _write(nb, page)
        elif not current:
            shutil.copyfile(source, page)
    for page in PAGES.glob("*.ipynb"):
        if not (NOTEBOOKS / page.name).exists():
            page.unlink()  # a notebook removed from notebooks/
    config.nb_execution_mode = "off"  # myst-nb renders the copies as they are


def skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing setters (set_fit_request, ...), made for every estimator
    # whose fit takes more than X and y: their docstrings point into scikit-learn's own docs.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("config-inited", prepare_notebooks, priority=100)
    app.connect("autodoc-skip-member", skip_member)
