# Two commands for a fresh machine with only Python: `make demo` and `make test`.
# The first use creates .venv and installs torch 2.13.0 (the CPU build where the machine offers it:
# set TORCH_INDEX=https://download.pytorch.org/whl/cpu elsewhere) before the package itself, so
# pip never pulls a multi-GB CUDA build onto a CPU machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
TORCH_INDEX ?=

.PHONY: setup demo test check browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "torch==2.13.0" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# The main job: a character-level LSTM learns to write Python from this interpreter's own standard
# library (about 3 MB, no download), for three minutes, then writes some.
demo: $(STAMP)
	$(BIN)/recurrente check --quiet
	if [ -f runs/demo/config.json ]; then $(BIN)/recurrente train --out runs/demo --resume; \
	else $(BIN)/recurrente train --out runs/demo --time-budget 180; fi
	$(BIN)/recurrente eval runs/demo --split test
	$(BIN)/recurrente sample runs/demo --prime "def " -n 600 --temperature 0.7 --seed 0

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# Headless Chromium renders the `recurrente inspect` page in one test (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: the page-rendering test will be skipped"

check: $(STAMP)
	$(BIN)/recurrente check

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
