# ModelRollout: every set-up step lives here, so a fresh machine needs only `make demo` / `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE ?= $(HOME)/.cache/modelrollout
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-12)
PYTEST_ARGS ?=
# The unit tests are CPU-bound simulations and share nothing: one process per core. The cluster
# tests share one control plane per session and stay in one process.
UNIT_WORKERS ?= 2

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(DEPS_STAMP): pyproject.toml constraints.txt
	@command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v openssl >/dev/null \
	  && command -v buildah >/dev/null && command -v mmdebstrap >/dev/null && command -v umoci >/dev/null \
	  && command -v wrk >/dev/null && command -v nginx >/dev/null && command -v ip >/dev/null \
	  && $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus openssl python3-venv \
	      buildah mmdebstrap umoci wrk nginx iproute2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.deps-* && touch $@

.PHONY: deps
deps: $(DEPS_STAMP) tools ## Install everything: Debian packages, the Python package with its dev extra, the Go-built tools

.PHONY: tools
tools: ## Build kube-apiserver, controller-manager, scheduler, kubectl, etcd, kwok, helm (cached by version)
	MODELROLLOUT_CACHE=$(CACHE) bash hack/build-tools.sh

.PHONY: image
image: $(DEPS_STAMP) ## Operator image (buildah; cached by the wheel set's hash) and its OCI archive for kind/docker
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev.image

.PHONY: image-context
image-context: $(DEPS_STAMP) ## Only the image's build context (the wheel set), for `docker build -f Dockerfile build/image-context`
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev.image --context build/image-context

.PHONY: cluster-up
cluster-up: deps ## Start the local control plane and Prometheus in the background
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev cluster-up

.PHONY: cluster-down
cluster-down: ## Stop them (by pid)
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev cluster-down

.PHONY: demo
demo: deps ## Bring up the cluster and Prometheus, run a sample rollout to a verdict, show it
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev demo

.PHONY: lint
lint: $(DEPS_STAMP) tools ## ruff, mypy --strict, import-linter, CRD, CRD-reference, chart and install.yaml drift, helm lint
	$(VENV)/bin/ruff check operator tests benchmarks
	$(VENV)/bin/ruff format --check operator tests benchmarks
	$(VENV)/bin/mypy operator/
	$(VENV)/bin/lint-imports
	@if [ -f operator/modelrollout/api/v1alpha1/crd.py ]; then \
	  $(PY) -m modelrollout.api.v1alpha1.crd --check crds/modelrollout.io_modelrollouts.yaml; fi
	$(PY) -m modelrollout.api.v1alpha1.crd_reference --check docs/crd-reference.md
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev.chart --check
	$(PY) -m modelrollout_dev.chart_docs --check
	$(CACHE)/bin/helm lint --strict charts/modelrollout-operator

.PHONY: crds
crds: $(DEPS_STAMP) ## Regenerate crds/ and docs/crd-reference.md from the pydantic models
	$(PY) -m modelrollout.api.v1alpha1.crd > crds/modelrollout.io_modelrollouts.yaml
	$(PY) -m modelrollout.api.v1alpha1.crd_reference > docs/crd-reference.md

.PHONY: manifests
manifests: $(DEPS_STAMP) tools ## Render manifests/install.yaml and the chart's CRD copy and README from the chart
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m modelrollout_dev.chart
	$(PY) -m modelrollout_dev.chart_docs

.PHONY: test
test: deps ## Unit, integration (real control plane, real Prometheus) and e2e tests
	$(VENV)/bin/pytest tests/unit -q -p no:cacheprovider -n $(UNIT_WORKERS) $(PYTEST_ARGS)
	MODELROLLOUT_CACHE=$(CACHE) $(VENV)/bin/pytest tests/integration tests/e2e -q -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: $(DEPS_STAMP) ## Unit tests only (no cluster)
	$(VENV)/bin/pytest tests/unit -q -p no:cacheprovider -n $(UNIT_WORKERS) $(PYTEST_ARGS)

.PHONY: bench
bench: bench-stats ## All benchmarks (results under benchmarks/)

.PHONY: bench-router
bench-router: $(DEPS_STAMP) ## Router vs nginx vs direct on loopback with wrk (about 2 minutes; not in CI)
	$(PY) -m benchmarks.router --out benchmarks/results/router.json

bench-bandit: $(DEPS_STAMP) ; $(PY) -m benchmarks.bandit --out benchmarks/results/bandit.json ## Bandit and interleaving simulations: the operator's policy and test against the baselines (minutes; not in CI)

.PHONY: bench-stats
bench-stats: $(DEPS_STAMP) ## Statistics simulator: our sequential test against the baselines
	$(PY) -m benchmarks.stats --runs 1000 --out benchmarks/results/stats.json
	$(PY) -m benchmarks.stats --judge --runs 1000 --out benchmarks/results/stats-judge.json

# Rollout counts of `make bench-scale` (e.g. SCALE_LEVELS=100,300,1000,3000 if the machine holds it).
SCALE_LEVELS ?= 100,300,1000

.PHONY: bench-scale
bench-scale: deps ## Operator at 100/300/1,000 idle rollouts on the local control plane (minutes; not in CI)
	MODELROLLOUT_CACHE=$(CACHE) $(PY) -m benchmarks.scale --levels $(SCALE_LEVELS) --out benchmarks/results/scale.json
