# Development tasks. Run `make` (or `make help`) for the list.
#
# Every target uses the tools in .venv (created by `make setup` with the Python version in
# .python-version). Override the interpreter with `make setup PYTHON=/path/to/python3.13`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON_VERSION := $(shell cut -d. -f1,2 .python-version)
PYTHON := python$(PYTHON_VERSION)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
PTH_FILE := batch-scratch-dev.pth
# The scanner (checkov) has an environment of its own: it pins an older boto3 than .venv's.
SCAN_VENV := .venv-scan
SCAN_BIN := $(SCAN_VENV)/bin
SCAN_STAMP := $(SCAN_VENV)/.requirements-installed
# Where `make lint-scan` writes the rendered template of every mode (python -m tools.scan).
SCAN_DIR := .scan
# No Prisma Cloud download (offline; skips are by CKV_* id), failures only, one line each.
CHECKOV = $(SCAN_BIN)/checkov --skip-download --quiet --compact

# Region for the offline template checks (cfn-lint needs one; nothing calls AWS).
LINT_REGION := $(or $(AWS_DEFAULT_REGION),$(AWS_REGION),us-east-1)

# The scenario folder of every mode (scenarios/<mode>), from the mode registry: `make rehearse`
# runs each folder's *.yaml. Read only when a target uses it, after `make setup`.
SCENARIO_DIRS = $(shell $(BIN)/python -c 'from batchscratch.modes import MODES; \
	print(*(mode.scenarios for mode in MODES.values()))')
SCENARIOS = $(sort $(foreach dir,$(SCENARIO_DIRS),$(wildcard $(dir)/*.yaml)))

TEST_DIRS := tests/unit tests/template tests/e2e tests/docker tests/cli tests/docs
MYPY_DIRS = $(foreach dir,layers/common/batchscratch batchscratch_cli functions tools scripts,\
	$(if $(shell find $(dir) -name '*.py' -print -quit 2>/dev/null),$(dir)))
ASL_FILES = $(wildcard statemachine/*.asl.json)
SHELL_SCRIPTS = .ci/run $(shell find docker layers/common/batchscratch -type f -name '*.sh' 2>/dev/null | sort)
DOCKERFILES = $(shell find docker -type f -name Dockerfile 2>/dev/null | sort)

.PHONY: help setup lock lint lint-python lint-types lint-template lint-asl lint-shell \
	lint-docker lint-scan lint-pins lint-docs lint-diagrams asl diagrams docs format test check rehearse bench build \
	clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------- setup

define require_python
@if ! $(PYTHON) -c 'import sys' >/dev/null 2>&1; then \
		echo "error: $(PYTHON) was not found on PATH (or does not run)." >&2; \
		echo "This project needs Python $(PYTHON_VERSION), as .python-version says. Either:" >&2; \
		echo "  pyenv:  pyenv install $(PYTHON_VERSION)   (with pyenv's shims on PATH, .python-version selects it here)" >&2; \
		echo "  uv:     uv python install $(PYTHON_VERSION) && make setup PYTHON=\"\$$(uv python find $(PYTHON_VERSION))\"" >&2; \
		echo "  or install Python $(PYTHON_VERSION) from python.org or your package manager." >&2; \
		exit 1; \
	fi
endef

setup: $(STAMP) $(SCAN_STAMP) ## Create .venv and .venv-scan (Python from .python-version) with the pinned tools
	@$(BIN)/python -c 'import pathlib, sys, sysconfig; \
		pth = pathlib.Path(sysconfig.get_paths()["purelib"], "$(PTH_FILE)"); \
		text = "".join(line + "\n" for line in sys.argv[1:]); \
		pth.exists() and pth.read_text() == text or pth.write_text(text)' \
		"$(CURDIR)/layers/common" "$(CURDIR)"
	@[ -x $(BIN)/batch-scratch ] || $(BIN)/python -m pip install --disable-pip-version-check \
		--quiet --no-deps --no-build-isolation --editable .

# $(call install_venv,VENV,REQUIREMENTS,LOCK): create VENV with $(PYTHON) if it is missing
# (refusing one made with another Python version), then install REQUIREMENTS at LOCK's versions.
define install_venv
	$(require_python)
	@if [ -x $(1)/bin/python ] && ! $(1)/bin/python -c \
		'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYTHON_VERSION)")'; then \
		echo "error: $(1) was made with another Python version; run 'make distclean setup'" >&2; \
		exit 1; \
	fi
	@[ -x $(1)/bin/python ] || { echo "Creating $(1) with $$(command -v $(PYTHON))"; $(PYTHON) -m venv $(1); }
	@echo "Installing $(2) (versions from $(3)) into $(1)"
	$(1)/bin/python -m pip install --disable-pip-version-check --quiet -r $(2) -c $(3)
	@touch $@
endef

# Each re-runs only when its requirements (or the Python version) change.
$(STAMP): requirements-dev.txt requirements-dev.lock .python-version
	$(call install_venv,$(VENV),requirements-dev.txt,requirements-dev.lock)

$(SCAN_STAMP): requirements-scan.txt requirements-scan.lock .python-version
	$(call install_venv,$(SCAN_VENV),requirements-scan.txt,requirements-scan.lock)

# $(call resolve,REQUIREMENTS,LOCK,WHAT): install REQUIREMENTS alone into a throwaway venv and
# write its pip freeze to LOCK, under a header naming WHAT.
define resolve
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --disable-pip-version-check --quiet -r $(1); \
	{ \
		echo "# Every package of $(3) at an exact version: the resolution of"; \
		echo "# $(1) on Python $(PYTHON_VERSION). \`make setup\` uses it as a constraints file."; \
		echo "# Regenerate with \`make lock\`; do not edit by hand."; \
		"$$tmp/venv/bin/python" -m pip freeze --disable-pip-version-check; \
	} > $(2)
	@echo "Wrote $(2)"
endef

lock: ## Re-resolve requirements-dev.txt and requirements-scan.txt into their .lock files
	$(require_python)
	$(call resolve,requirements-dev.txt,requirements-dev.lock,the development environment)
	$(call resolve,requirements-scan.txt,requirements-scan.lock,the scanner's environment ($(SCAN_VENV)))

# ---------------------------------------------------------------------------- lint

lint: lint-python lint-types lint-template lint-asl lint-shell lint-docker lint-scan lint-pins lint-docs lint-diagrams ## Run every linter, type check and scan

lint-python: setup ## ruff: lint and formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lint-types: setup ## mypy (strict for the layer package batchscratch)
	$(BIN)/mypy $(MYPY_DIRS)

lint-template: setup ## cfn-lint and sam validate --lint on template.yaml
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=$(LINT_REGION) SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template-file template.yaml

lint-asl: setup ## statemachine/ is what `make asl` writes; statelint on each file
	$(BIN)/python -m tools.asl --check
	$(BIN)/python scripts/lint_asl.py $(ASL_FILES)

lint-shell: setup ## shellcheck on the shell scripts
	$(BIN)/shellcheck $(SHELL_SCRIPTS)

lint-docker: setup ## hadolint on docker/**/Dockerfile
	$(BIN)/hadolint $(DOCKERFILES)

# checkov fails on any failed check. A check that does not apply is skipped next to what it
# is about, with the reason: a resource's `Metadata: checkov: skip: [{id, comment}]` in
# template.yaml, a `# checkov:skip=CKV_DOCKER_n: reason` line in a Dockerfile.
lint-scan: setup ## checkov on the rendered template of every mode and docker/**/Dockerfile
	@rm -rf $(SCAN_DIR)
	$(BIN)/python -m tools.scan $(SCAN_DIR)
	$(CHECKOV) --framework cloudformation --directory $(SCAN_DIR)
	$(CHECKOV) --framework dockerfile $(addprefix --file ,$(DOCKERFILES))

# Every pin of layers/common/requirements.txt (name==version) must be the version that
# requirements-dev.lock installs, so that the tests run what the layer ships. Names compare in
# their normal form (PEP 503: lower case, runs of - _ . as one -).
PIN_NORMAL = awk -F'==' '!/^[[:space:]]*(\#|$$)/ { name = tolower($$1); gsub(/[-_.]+/, "-", name); print name "==" $$2 }'

lint-pins: ## Check that the layer's pins are the versions requirements-dev.lock installs
	@unlocked="$$(comm -23 <($(PIN_NORMAL) layers/common/requirements.txt | sort) \
		<($(PIN_NORMAL) requirements-dev.lock | sort))"; \
	if [ -n "$$unlocked" ]; then \
		echo "layers/common/requirements.txt pins what requirements-dev.lock does not install:" >&2; \
		echo "$$unlocked" >&2; \
		exit 1; \
	fi

asl: setup ## Write statemachine/*.asl.json from the spine and each mode's slots (tools/asl)
	$(BIN)/python -m tools.asl

# Graphviz is needed here only: `python -m tools.diagrams --check` and the unit tests compare
# the DOT text with docs/img/diagrams.json without drawing.
diagrams: setup ## Draw docs/img/*.png from statemachine/ and template.yaml (needs Graphviz)
	@command -v dot >/dev/null 2>&1 || { echo "error: Graphviz's dot is not on PATH; install it: apt-get install graphviz / brew install graphviz" >&2; exit 1; }
	$(BIN)/python -m tools.diagrams

docs: setup ## Fill the generated tables of every tracked Markdown file (tools/docs_tables)
	$(BIN)/python -m tools.docs_tables

lint-diagrams: setup ## The pictures in docs/img are drawn from the current ASL and template (no Graphviz needed)
	$(BIN)/python -m tools.diagrams --check

lint-docs: setup ## The generated tables of the Markdown files are what `make docs` writes
	$(BIN)/python -m tools.docs_tables --check

format: setup ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# ---------------------------------------------------------------------------- test

test: lint build ## Everything CI runs: lint, sam build, then every test suite
	$(BIN)/pytest $(TEST_DIRS)

check: test ## Same as test

rehearse: setup ## Rehearse every scenario of the implemented modes locally (no AWS account)
	@if [ -z "$(SCENARIO_DIRS)" ]; then \
		echo "error: could not read the modes' scenario folders from batchscratch.modes" >&2; \
		exit 1; \
	fi
	@if [ -z "$(SCENARIOS)" ]; then \
		echo "error: no scenario files match $(foreach dir,$(SCENARIO_DIRS),$(dir)/*.yaml)" >&2; \
		exit 1; \
	fi
	$(BIN)/python -m tools.rehearse $(SCENARIOS)

# The standard run of every mode at 1, 2 and 24 hours in the rehearsal, beside the original
# design's polling model, and the built handlers' cold imports and sizes (hence `build`).
# It reports and writes docs/benchmarks.md; `python -m tools.bench --check` also exits 1
# when an acceptance limit is broken.
bench: build ## Orchestration overhead, cost and transitions per run; writes docs/benchmarks.md
	$(BIN)/python -m tools.bench

# ---------------------------------------------------------------------------- build

# sam build looks for python3.13 on PATH: the venv's comes first.
build: setup ## sam build: the functions and the layer, into .aws-sam/
	PATH="$(CURDIR)/$(BIN):$$PATH" SAM_CLI_TELEMETRY=0 $(BIN)/sam build

clean: ## Remove build output and caches (keeps .venv and .venv-scan)
	rm -rf .aws-sam $(SCAN_DIR) .pytest_cache .mypy_cache .ruff_cache
	find . \( -path ./$(VENV) -o -path ./$(SCAN_VENV) \) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean ## Remove .venv and .venv-scan too
	rm -rf $(VENV) $(SCAN_VENV)
