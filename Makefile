# Two commands do all the set-up: `make run` (the app on the default library) and `make test`.
# `make lint` runs ruff, mypy and the import-linter contracts (all configured in pyproject.toml).
# BIN=/path/to/venv/bin uses an existing environment as it is (nothing is installed into it).
PYTHON ?= python3
VENV ?= .venv
# The torch build to install; any recent torch works (e.g. TORCH_SPEC="torch torchvision").
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
BIN ?= $(VENV)/bin
# Install into $(VENV) only when BIN is ours.
INSTALLED := $(if $(filter $(VENV)/bin,$(BIN)),$(BIN)/.installed,)
# This checkout first on the path, also when BIN's environment has another one installed.
RUN := QT_QPA_PLATFORM=offscreen PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH),)

.PHONY: run test test-quick lint bench package package-smoke clean

$(VENV)/bin/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip wheel
	$(VENV)/bin/pip install --quiet $(TORCH_SPEC)
	$(VENV)/bin/pip install --quiet -e '.[test,dev]'
	touch $@

run: $(INSTALLED)
	$(BIN)/photoclust $(ARGS)

test: $(INSTALLED)
	$(RUN) $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Leaves out the tests marked slow (those that load real model weights).
test-quick: $(INSTALLED)
	$(RUN) $(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check photoclust tests bench resources tools
	$(RUN) $(BIN)/mypy
	$(RUN) $(BIN)/lint-imports

bench: $(INSTALLED)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

# The app carries no torch: the build environment (which has it) builds the ONNX models first.
package: $(INSTALLED)
	$(BIN)/pip install --quiet -e '.[package]'
	$(RUN) $(BIN)/python packaging/build_models.py build/models
	$(BIN)/pyinstaller --noconfirm photoclust.spec

# Starts the built app and organizes 20 photos headless (CI: after make package).
package-smoke:
	PYTHON=$(BIN)/python packaging/smoke_test.sh dist/photoclust

clean:
	rm -rf $(VENV) build dist
