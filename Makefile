# Two entry points (see README.md):
#   make book   set up .venv and build the book (HTML in _build/html)
#   make test   set up .venv and run the test suite
#   make test-fast   everything except end-to-end grading and the book build (minutes)
#   make publish  build the book and write the student edition (no solutions) into _site/
#   make pdf      the whole book as one PDF (_build/pdf/book.pdf), printed by headless Chromium
# Data: without internet, point RNNBOOK_DATA_MIRROR at a copy of the data sets; ../shared/data is used
# automatically when it exists beside the checkout.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MIRROR_DEFAULT := $(wildcard ../shared/data)
export RNNBOOK_DATA_MIRROR ?= $(if $(MIRROR_DEFAULT),$(abspath $(MIRROR_DEFAULT)),)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup book test test-fast release check-release publish pdf clean

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

setup: $(BIN)/.installed

book: setup
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Open _build/html/index.html"

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

release: setup
	$(BIN)/course release

check-release: setup
	$(BIN)/course release --check

publish: book
	$(BIN)/course publish _site

pdf: book
	$(BIN)/jupyter-book build . --builder singlehtml
	$(BIN)/python book/_ext/print_pdf.py _build/singlehtml book/intro.html _build/pdf/book.pdf

clean:
	rm -rf _build
