# One entry point for people and CI. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup system-deps tools demo test lint typecheck unit integration conformance interop bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=77"
	$(BIN)/pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the integration tests run for real (registry, skopeo, softhsm2, git).
system-deps:
	scripts/system-deps

# The real cosign (2.5, 3.1) and crane from Debian, and an OPA server built from Debian's Go packages, into
# the git-ignored .tools/ (or $KONFLUX_SUPPLY_TOOLS_DIR). Both scripts return at once when the tools are there.
tools:
	scripts/fetch-tools
	scripts/build-opa

demo: setup
	$(BIN)/konflux-supply demo

lint: setup
	$(BIN)/ruff check konflux_supply tests benchmarks
	$(BIN)/ruff format --check konflux_supply tests benchmarks

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

interop: setup tools
	$(BIN)/pytest -m interop tests/interop

test: system-deps setup tools lint typecheck
	$(BIN)/pytest -n 2

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
