# The RNN Primer: build the book, run the tests, open the chapters in JupyterLab.
#
#   make book   execute every chapter and write the HTML to _build/html
#   make test   every test: rnnlib's unit tests and every chapter notebook (nbval, on 2
#               processes), then the book build with warnings as errors, then the
#               browser tests of the rendered pages (headless Chromium)
#   make lab    open book/ in JupyterLab
#
# The parts of `make test` run alone: make test-unit, make book, make test-browser.
#
# Each target creates the virtual environment .venv on first use and reuses it; a stamp
# file per requirements set makes pip run again only when a requirements file changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE := _build/.jupyter_cache
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
# Processes for the test suite; the book's executor uses one per core.
TEST_WORKERS ?= 2
# Seconds a notebook cell may run, in the build and in the tests (as in _config.yml).
CELL_TIMEOUT := 300

# Every process (a test worker, a notebook kernel) gets one BLAS thread: the arrays
# are small, and the work is already spread over the cores one process each.
# Progress bars are for people; builds and test logs stay clean.
RUN_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RNNLIB_PROGRESS=0

.PHONY: help book test test-unit test-browser lab clean

help:
	@echo "make book          execute the chapters and build the HTML book in _build/html"
	@echo "make test          all tests: test-unit, the book build (-W), test-browser"
	@echo "make test-unit     the tests of rnnlib and every chapter notebook (nbval)"
	@echo "make test-browser  the rendered pages in headless Chromium (after make book)"
	@echo "make lab           open the chapters in JupyterLab"
	@echo "make pdf           the whole book as one PDF, _build/pdf/rnn-primer.pdf (headless Chromium)"
	@echo "make clean         remove _build (the executed-notebook cache included)"

# --- the virtual environment ------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "error: '$(PYTHON) -m venv' failed; install the venv module (Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }

# The book: requirements.txt and rnnlib (editable, so changes to rnnlib are picked up).
$(VENV)/.book-installed: requirements.txt pyproject.toml | $(BIN)/python
	@echo "Installing requirements.txt and rnnlib into $(VENV) (the first time takes a few minutes)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

# The tests: the book's requirements plus torch (CPU) and pytest-xdist.
$(VENV)/.test-installed: requirements-test.txt requirements.txt pyproject.toml | $(BIN)/python
	@echo "Installing requirements-test.txt and rnnlib into $(VENV) (the first time takes a few minutes)"
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -e .
	touch $@

# The browser tests: Debian's Chromium (installed by .ci/install-browser, as root) driven
# by Playwright; no browser is downloaded.
$(VENV)/.browser-installed: requirements-browser.txt .ci/install-browser | $(BIN)/python
	.ci/install-browser
	$(BIN)/python -m pip install --quiet -r requirements-browser.txt
	touch $@

# JupyterLab 4 and jupyterlab-myst, which renders the chapters' MyST markup ({cite},
# {doc}, {ref}, admonitions) in markdown cells as the book does.
$(VENV)/.lab-installed: $(VENV)/.book-installed
	$(BIN)/python -m pip install --quiet "jupyterlab>=4.2,<5" "jupyterlab-myst==2.7.0"
	touch $@

# --- the targets ------------------------------------------------------------------

# Chapters that are not in the execution cache yet are first executed in parallel
# (jupyter-cache's local-parallel executor, one process per core) into the cache that
# the build reads; the build then executes only what that step could not (a notebook
# that failed is executed again there and fails the build with its traceback).
# -W -n --keep-going: every Sphinx warning (broken reference, unknown citation,
# malformed docstring, output on stderr) is reported and fails the build.
book: $(VENV)/.book-installed
	$(BIN)/python -c "import matplotlib.pyplot"  # build matplotlib's font cache here, not on a chapter's stderr
	mkdir -p $(CACHE)
	$(BIN)/jcache notebook -p $(CACHE) add $(NOTEBOOKS) > /dev/null
	$(RUN_ENV) $(BIN)/jcache notebook -p $(CACHE) execute --executor local-parallel \
	  --timeout $(CELL_TIMEOUT) --verbosity WARNING $(NOTEBOOKS) > /dev/null \
	  || echo "warning: parallel pre-execution failed; the build executes the chapters one by one" >&2
	$(RUN_ENV) $(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo
	@echo "The book is in _build/html; open _build/html/index.html in a browser."

# pytest exits with 5 when it collected nothing: that is a broken suite, not a pass.
# --dist loadfile keeps the cells of one notebook on one worker, in order.
test:
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory test-browser

# tests/browser is left out here: it needs the built book (make test-browser).
test-unit: $(VENV)/.test-installed
	@rc=0; \
	$(RUN_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  --ignore=tests/browser tests $(NOTEBOOKS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then \
	  echo "error: pytest collected no tests from tests/ and book/*.ipynb" >&2; exit 1; \
	fi; \
	exit $$rc

test-browser: $(VENV)/.browser-installed
	@rc=0; $(RUN_ENV) $(BIN)/python -m pytest -p no:cacheprovider tests/browser || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no browser tests" >&2; exit 1; fi; \
	exit $$rc

# Extra options for JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port 8889".
# .jupyter/jupyter_server_config.py saves the chapters without outputs and keeps new
# notebooks in book/scratch/. The kernels inherit one BLAS thread per process, as in
# the tests and the build (progress bars stay on: they are meant for Lab). JupyterLab
# refuses to run as root unless told to (the README asks for root for `make test`).
lab: $(VENV)/.lab-installed
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(BIN)/jupyter lab --config=.jupyter/jupyter_server_config.py --ServerApp.root_dir=book \
	  $$([ "$$(id -u)" -eq 0 ] && echo --allow-root) $(LAB_ARGS)

clean:
	rm -rf _build

# --- the book as one PDF ----------------------------------------------------------

# The whole book on one HTML page (jupyter-book's singlehtml builder, reading the same
# execution cache as `make book`: after it, no chapter is executed again; without it,
# this build executes them one by one), printed to A4 by headless Chromium
# (scripts/build_pdf.py), which first checks that every formula is typeset, every
# figure loaded and nothing came from the network.
.PHONY: pdf
pdf: $(VENV)/.book-installed $(VENV)/.browser-installed
	$(BIN)/python -c "import matplotlib.pyplot"  # build matplotlib's font cache here, not on a chapter's stderr
	$(RUN_ENV) $(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going
	$(BIN)/python scripts/build_pdf.py --html-dir _build/singlehtml --output _build/pdf/rnn-primer.pdf
