# Two commands do all the set-up: `make run` (the app on the default library) and `make test`.
PYTHON ?= python3
VENV ?= .venv
# The torch build to install; any recent torch works (e.g. TORCH_SPEC="torch torchvision").
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
BIN := $(VENV)/bin

.PHONY: run test bench package clean

$(BIN)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/photoclust $(ARGS)

test: $(BIN)/.installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(BIN)/.installed
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

package: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[package]'
	$(BIN)/pyinstaller --noconfirm photoclust.spec

clean:
	rm -rf $(VENV) build dist
