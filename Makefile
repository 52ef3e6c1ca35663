# One command sets everything up and runs the job:
#   make demo   - create .venv, install mmgap (CPU torch), run `mmgap demo`
#   make test   - create .venv, install mmgap + test extras (incl. ray), run the test suite
#   make bench  - the core speed/accuracy benchmark (writes docs/benchmarks/core.md)
VENV ?= .venv
PYTHON ?= python3
# On these machines torch 2.13.0 is a local CPU build; override e.g. TORCH_SPEC="torch>=2.1"
TORCH_SPEC ?= torch==2.13.0
# test workers (pytest-xdist; each runs torch on one thread): one per core, at most 4
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgap-installed

.PHONY: setup demo test test-slow bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[plot,io,images,test,ray]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/mmgap demo

test: setup
	$(PY) -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist worksteal

test-slow: setup
	$(PY) -m pytest -q -m slow

bench: setup
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
