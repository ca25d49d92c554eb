# Two commands set everything up on a fresh machine:
#   make        extract the libraries, write the notebooks, evaluate the default tab
#   make test   lint and unit tests of the toolchain, and the committed library checked against the chapters
PYTHON ?= python3
VENV := build/venv
BIN := $(VENV)/bin
D2LBUILD := $(BIN)/d2lbuild
TAB ?=
TAB_OPTION := $(if $(TAB),--tab $(TAB))
SECTIONS ?=

.PHONY: all tools tools-html tools-jupyter tools-ray extract notebooks check env env-all eval eval-all html pdf test test-slow test-books test-cluster bench clean

all: notebooks eval

$(VENV)/.installed: tools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e 'tools[test,bench]' --config-settings editable_mode=compat
	touch $@

tools: $(VENV)/.installed

# The website's stack (Sphinx and friends) and the browser test's driver: an optional extra.
$(VENV)/.installed-html: tools/pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e 'tools[test,bench,html,browser]' --config-settings editable_mode=compat
	touch $@

# axe-core, the browser test's accessibility checker, from the npm registry (pinned; skipped without npm).
AXE_VERSION := 4.14.1
AXE := build/node/node_modules/axe-core/axe.min.js
$(AXE):
	@if command -v npm >/dev/null; then npm install --prefix build/node --no-audit --no-fund --no-save --loglevel=error axe-core@$(AXE_VERSION); \
	else echo "npm not found: the browser test's accessibility checks will be skipped"; fi

tools-html: $(VENV)/.installed-html $(AXE)

# The Jupyter contents manager that opens chapters as notebooks: an optional extra.
$(VENV)/.installed-jupyter: tools/pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e 'tools[test,bench,jupyter]' --config-settings editable_mode=compat
	touch $@

tools-jupyter: $(VENV)/.installed-jupyter

# eval --cluster: Ray, an optional extra (its tests are skipped without it)
$(VENV)/.installed-ray: tools/pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e 'tools[test,bench,ray]' --config-settings editable_mode=compat
	touch $@

tools-ray: $(VENV)/.installed-ray

extract: tools
	$(D2LBUILD) extract

notebooks: tools
	$(D2LBUILD) build

check: tools
	$(D2LBUILD) check

env: tools
	$(D2LBUILD) env $(TAB_OPTION)

env-all: tools
	$(D2LBUILD) env --tab all

eval: tools
	$(D2LBUILD) eval $(TAB_OPTION) $(SECTIONS)

eval-all: tools
	$(D2LBUILD) eval --tab all --junit build/eval/junit.xml

html: tools-html
	$(D2LBUILD) html

# TeX comes from Debian's packages (.ci/run installs them); d2lbuild pdf names the one that is missing.
pdf: tools-html
	$(D2LBUILD) pdf $(TAB_OPTION)

test: tools tools-html tools-jupyter
	$(BIN)/ruff check tools
	$(BIN)/python -m pytest tools/tests -q -n 2 --dist loadfile
	$(D2LBUILD) extract --check
	$(D2LBUILD) check

# whole books through LaTeX: our book's three PDFs, d2l-en's and d2l-zh's from ../shared when it is there
test-slow: tools tools-html
	$(BIN)/python -m pytest tools/tests -q -m slow -rs

# real books (../shared) evaluated in a framework environment each installs, or compared whole with d2lbook's
# output: CI runs them, the unit suite does not
test-books: tools tools-html
	$(BIN)/python -m pytest tools/tests -q -m book -rs

# a real two-node Ray cluster in a private network namespace (eval --cluster): CI runs them, the unit suite does not
test-cluster: tools-ray
	$(BIN)/python -m pytest tools/tests/test_cluster.py -q -m cluster -rs

# the book's three tabs are timed warm against cold, so their environments come first
bench: tools tools-html env-all
	$(BIN)/python tools/bench/bench_build.py
	$(BIN)/python tools/bench/bench_eval.py
	$(BIN)/python tools/bench/bench_edit.py
	$(BIN)/python tools/bench/bench_pdf.py
	$(BIN)/python tools/bench/bench_cluster.py

clean:
	rm -rf build
