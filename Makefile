# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba
export MPLBACKEND := Agg

.PHONY: install demo test docs clean

install: $(STAMP)

# uv installs (in parallel, bytecode compiled) in about half pip's time, and pip is the fallback.
# CPU torch first (a bare `torch` can pull a multi-GB CUDA build), then the package. uv does not
# read pip's configuration: pip's local wheel folder, if the machine sets one, is passed on.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv || true
	if [ -x $(VENV)/bin/uv ]; then install="$(VENV)/bin/uv pip install --python $(PY) --compile-bytecode --quiet"; \
	else install="$(PY) -m pip install --quiet"; fi; \
	if [ -n "$$PIP_FIND_LINKS" ]; then export UV_FIND_LINKS="$$(echo $$PIP_FIND_LINKS | tr ' ' ',')"; fi; \
	{ $$install "torch==$(TORCH_VERSION)" || $$install torch --index-url https://download.pytorch.org/whl/cpu; } && \
	$$install -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mixae-graph fit --config configs/digits.yaml

# One test file per core (pytest-xdist); one thread per process (torch's and numba's), subprocesses
# included, so that the fits of the two files do not fight over the cores.
test: $(STAMP)
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist loadfile --durations=15

# Executes the notebooks (several minutes) so their pages carry the plots; warnings fail the build.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html

clean:
	rm -rf $(VENV) .cache runs lightning_logs docs/_build docs/api docs/notebooks
