# What a person types. Every target sets up what it needs (Python 3.13 venv from the lock file, pinned uv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python 3.13 that runs (a pyenv shim for an inactive version does not).
PY313 ?= $(shell for p in $$(command -v python3.13) $$(ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null); \
	do "$$p" -c '' 2>/dev/null && echo "$$p" && break; done)
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export AWS_DEFAULT_REGION ?= us-east-1
STAGE ?= dev
STACK ?= serverless-jwt-auth-$(STAGE)
CONSUMER := examples/consumer-api
# sam build and sam sync need the runtime's python3.13 first on PATH to build without Docker.
SAM_PATH := PATH="$(dir $(PY313)):$$PATH"
EXPORT := $(UV) export --frozen --no-dev --no-default-groups --no-emit-project --no-hashes

.PHONY: help setup node chromium run test unit lint format lock-check typecheck validate build deploy sync logs destroy \
	admin rotate-key-emergency lock update-deps openapi botocore-data audit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(UV):
	@test -n "$(PY313)" || { echo "Python 3.13 is needed (python3.13 on PATH or pyenv's 3.13)"; exit 1; }
	$(PY313) -m venv .tools && .tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-groups --compile-bytecode --python $(PY313)
	@touch $@

setup: $(VENV)/.synced ## create .venv from uv.lock (Python 3.13)

infra/node_modules/.installed: infra/package-lock.json infra/package.json
	npm ci --prefix infra --no-audit --no-fund
	@touch $@

node: infra/node_modules/.installed ## install infra/node_modules from infra/package-lock.json (newman, swagger-ui-dist)

chromium: ## Debian's chromium at /usr/bin/chromium for the browser tests (apt-get, as root)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

run: setup node ## the whole API on http://127.0.0.1:3000 with an embedded DynamoDB and Secrets Manager
	$(BIN)/python -m infra.local

test: setup node chromium lint typecheck validate ## everything CI runs: lint, types, template checks, sam build, the test suite
	$(BIN)/pytest --cov --cov-report=term
	$(MAKE) --no-print-directory build

unit: setup ## the fast tests only
	$(BIN)/pytest tests/unit -q

# cfn-lint is skipped here because `make validate` runs it: `make test` lints the template once.
lint: setup ## the pre-commit hooks on every file: ruff (lint, format), the lock files, YAML/TOML/JSON syntax
	SKIP=cfn-lint $(BIN)/pre-commit run --all-files --show-diff-on-failure

format: setup ## fix what ruff can: lint fixes first, then formatting (a fix can leave code unformatted)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock-check: $(UV) ## uv.lock matches pyproject.toml, and layers/shared/requirements.txt matches uv.lock (no network)
	@$(UV) lock --check --offline --quiet --python $(PY313) || { echo "uv.lock is stale: run make lock"; exit 1; }
	@$(EXPORT) --quiet | grep -v '^ *#' | diff -u <(grep -v '^ *#' layers/shared/requirements.txt) - \
		|| { echo "layers/shared/requirements.txt is stale: run make lock"; exit 1; }

typecheck: setup ## mypy --strict on the layer, the functions and infra (pyproject.toml's [tool.mypy])
	$(BIN)/mypy

# sam validate runs the SAM transform (it catches what a linter misses); cfn-lint is the one lint (sam validate
# --lint would run the same cfn-lint a second time).
# The consumer example's AWS::ApiGateway::Authorizer JwtConfiguration is newer than cfn-lint's bundled schema: its
# registry schema (the bundled one plus the documented JwtConfiguration) keeps that property checked, not ignored.
validate: setup ## sam validate (the SAM transform) and cfn-lint, on template.yaml and the consumer example
	$(BIN)/sam validate --template template.yaml
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --template $(CONSUMER)/template.yaml
	$(BIN)/cfn-lint --registry-schemas $(CONSUMER)/cfn-lint-schemas -- $(CONSUMER)/template.yaml

build: setup ## sam build with samconfig.toml's STAGE settings (no Docker), then compile the bytecode
	$(SAM_PATH) $(BIN)/sam build --template template.yaml --config-env $(STAGE)
	@# Lambda's code directory is read-only, so a module without its .pyc is compiled at every cold start.
	@# unchecked-hash: the .pyc stays valid whatever mtimes the zip and its extraction give the sources.
	$(PY313) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build ## sam deploy to STAGE (dev or prod) with samconfig.toml
	$(BIN)/sam deploy --config-env $(STAGE)

# sam sync updates code through the Lambda API, around CloudFormation: for a development stack only.
sync: setup ## sam sync --watch: redeploy the dev stack on every save (STAGE=dev only)
	@test "$(STAGE)" != prod || { echo "sam sync bypasses CloudFormation: never on prod"; exit 1; }
	$(SAM_PATH) $(BIN)/sam sync --watch --template template.yaml --config-env $(STAGE)

logs: setup ## tail the stack's logs: make logs STAGE=prod [FUNCTION=LoginFunction]
	$(BIN)/sam logs --tail --stack-name $(STACK) $(if $(FUNCTION),--name $(FUNCTION))

destroy: setup ## sam delete the STAGE stack (the tables and the signing secret are retained)
	$(BIN)/sam delete --config-env $(STAGE)

admin: setup ## create the first admin in a deployed stack: make admin STAGE=dev EMAIL=you@example.com [PROMOTE=1]
	$(BIN)/python -m infra.create_admin --stack $(STACK) --email "$(EMAIL)" \
		$(if $(PROMOTE),--promote) $(if $(PROMOTE_USER_ID),"--yes-promote-user-id=$(PROMOTE_USER_ID)")

rotate-key-emergency: setup ## after a leak: new keys now, the old ones verify nothing (STAGE=dev [YES=1] [KEY=signing-key|service-secret])
	$(BIN)/python -m infra.emergency_key --stack $(STACK) $(if $(KEY),--key $(KEY)) $(if $(YES),--yes)

bench: build ## performance figures with their floors and ratios (cold start, warm authorizer, login, sizes, cost)
	PY313=$(PY313) $(BIN)/python -m infra.bench

openapi: setup ## regenerate infra/openapi.json from the handlers (commit it)
	$(BIN)/python -m infra.openapi

botocore-data: setup ## regenerate botocore's data for our services (auth_core/botocore_data/) from the locked botocore
	$(BIN)/python -m infra.botocore_data

audit: setup ## pip-audit of the locked dependencies (needs the PyPI JSON API, which CI's registry mirror lacks)
	$(UV) export --frozen --all-groups --no-emit-project --no-hashes --quiet -o .venv/audit-requirements.txt
	$(BIN)/pip-audit --requirement .venv/audit-requirements.txt --disable-pip --no-deps --strict

lock: $(UV) ## re-resolve uv.lock and the layer's requirements.txt after editing pyproject.toml
	$(UV) lock --python $(PY313)
	$(EXPORT) -o layers/shared/requirements.txt
	$(MAKE) --no-print-directory botocore-data

update-deps: $(UV) ## upgrade every locked dependency to the newest allowed by pyproject.toml, and export
	$(UV) lock --upgrade --python $(PY313)
	$(EXPORT) -o layers/shared/requirements.txt
	$(MAKE) --no-print-directory botocore-data

clean: ## remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage
