# The one entry point for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# -qq: errors only (pip still fails loudly); progress is the line above each step
PIP_INSTALL = $(BIN)/python -m pip install -qq --disable-pip-version-check
REQS := requirements/lambda.txt requirements/cdk.txt requirements/dev.txt requirements/constraints.txt
export PYTHONPATH := $(CURDIR)/functions:$(CURDIR)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export JSII_DEPRECATED := quiet
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The CDK CLI is only needed to deploy to a real account. Pinned: 2.1148.0 is the first that reads
# this aws-cdk-lib's cloud assembly (schema 55); the npm `latest` tag (3.x) rejects it.
CDK_CLI := aws-cdk@2.1148.1

.PHONY: help venv demo demo-events lock schema test chaos lint synth bench bench-report deploy clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): $(REQS) pyproject.toml
	@echo "==> installing pinned packages into $(VENV) (first run only)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP_INSTALL) --upgrade pip
	@$(PIP_INSTALL) -r requirements/dev.txt -c requirements/constraints.txt
	@PYTHONWARNINGS=ignore $(PIP_INSTALL) --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP) ## create the virtualenv with the pinned packages

synth: $(STAMP) ## synthesize the CDK app into cdk.out/ (cdk-nag runs on every synth)
	@$(BIN)/python -m rollgate_cdk.synth cdk.out

demo: $(STAMP) ## release four builds of the sample app on the embedded local runtime
	@$(BIN)/python -m rollgate_cli demo

demo-events: $(STAMP) ## the event-driven demo: push-triggered release, alarm remediations
	@$(BIN)/python -m rollgate_cli demo --events

lock: $(STAMP) ## regenerate requirements/constraints.txt from requirements/*.txt with pip-compile (keeps pins; LOCK_ARGS=--upgrade to bump)
	@$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		$(LOCK_ARGS) --output-file requirements/constraints.txt requirements/dev.txt

schema: $(STAMP) ## regenerate schemas/release-manifest.schema.json from the models
	@PYTHONPATH=functions $(BIN)/python -m rollgate.domain.release.manifest > schemas/release-manifest.schema.json

test: lint ## the house rules (make lint), then the whole suite (unit, functional, infra, workflow)
	@$(BIN)/python -m pytest -n 2 --dist loadgroup -q

chaos: $(STAMP) ## the whole fault-injection matrix (one fault per run in every task AWS call); writes chaos-report.json
	@ROLLGATE_CHAOS=1 $(BIN)/python -m pytest -n 0 -q -p no:randomly tests/workflow/test_faults.py -k whole_matrix

lint: $(STAMP) ## ruff (lint and format check), mypy over every package, the import-layer contracts
	@$(BIN)/ruff check functions rollgate_cdk rollgate_cli rollgate_local rollgate_bench tests app.py
	@$(BIN)/ruff format --check -q .
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache --no-logo

bench: $(STAMP) ## run the detection benchmark; writes rollgate_bench/results/ (untracked)
	@$(BIN)/python -m rollgate_bench

bench-report: $(STAMP) ## run it and write the published snapshot, docs/benchmark/ (tracked)
	@$(BIN)/python -m rollgate_bench --report

deploy: $(STAMP) ## deploy the stack to the AWS account of your credentials (needs node)
	@npx --yes $(CDK_CLI) deploy --app "$(BIN)/python app.py" --require-approval broadening

clean: ## remove the virtualenv and build output
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache .mypy_cache
