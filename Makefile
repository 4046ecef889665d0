# Two commands do all set-up on a fresh machine with python3 (>= 3.11), make and git:
#   make demo   runs the end-to-end story
#   make test   runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck layers check clean

# strict editable installs link each file: a new module needs a reinstall, so folders are prerequisites
PACKAGE_DIRS := $(sort $(dir $(wildcard domain/ application/ application/*/ adapters/ adapters/*/ adapters/*/*/ adapters/*/*/*/)))

$(STAMP): pyproject.toml $(PACKAGE_DIRS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=strict -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/arccm demo

test: $(STAMP)
	@bash .ci/test-tools
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck layers test

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
