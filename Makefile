# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAGE ?= dev
export PYTHONPATH := $(CURDIR)

.PHONY: run test fuzz bench package layer deploy secrets menu-push lint typecheck audit test-audit clean lock models pages screenshots

$(VENV)/.installed: requirements/runtime.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -r requirements/runtime.txt -r requirements/dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(VENV)/.installed

## run: the whole stack on 127.0.0.1:$(PORT) with demo data
run: $(VENV)/.installed node_modules/.installed
	$(PY) -m infra.local.cli run --port $(PORT)

# two workers; a module or a named group per worker; groups dealt out in the order tests/conftest.py gives
XDIST = -n 2 --dist loadgroup --no-loadscope-reorder

## test: the whole suite, and the audit as `make test` runs it (test-audit), at the same time:
## the audit mostly waits on the network; its report follows the suite's, and either failing fails
test: $(VENV)/.installed node_modules/.installed
	@mkdir -p build
	@$(TEST_AUDIT) > build/test-audit.txt 2>&1 & audit=$$!; \
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS); suite=$$?; \
	wait $$audit; audited=$$?; echo "--- $(TEST_AUDIT)"; cat build/test-audit.txt; \
	exit $$(( suite ? suite : audited ))

## fuzz: the state-aware schemathesis run, FUZZ_EXAMPLES cases per documented operation (500);
## the per-operation figures go to test-artifacts/hardening/operations/ (see docs/security.md)
FUZZ_EXAMPLES ?= 500
fuzz: $(VENV)/.installed node_modules/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/hardening/test_openapi.py $(XDIST) $(PYTEST_ARGS)

## bench: measurements into bench/results.json and docs/
bench: $(VENV)/.installed node_modules/.installed
	$(PY) -m bench.run

ARCH ?= x86_64
LAYER_ZIP := build/layer/runtime-$(ARCH).zip

$(LAYER_ZIP): requirements/runtime.txt scripts/build_layer.py | $(VENV)/.installed
	$(PY) scripts/build_layer.py --arch $(ARCH) --out $@

## layer: the Lambda layer of requirements/runtime.txt (ARCH=x86_64|arm64)
layer: $(VENV)/.installed
	$(PY) scripts/build_layer.py --arch $(ARCH) --out $(LAYER_ZIP)

## package: template + one zip per function in build/package/$(STAGE)/, offline; prints sizes
package: $(VENV)/.installed node_modules/.installed $(LAYER_ZIP)
	$(PY) -m scripts.packaging --stage $(STAGE) --arch $(ARCH) $(if $(REGION),--region $(REGION))

## deploy: STAGE=dev|prod [REGION=...] the whole stack; FUNCTION=<feature or function key> that
## code only (e.g. booking: all of booking's functions); BASE=<sha> what changed since <sha>
deploy: $(VENV)/.installed node_modules/.installed $(LAYER_ZIP)
	$(PY) -m scripts.deploy_plan --stage $(STAGE) --arch $(ARCH) --layer $(LAYER_ZIP) $(if $(REGION),--region $(REGION)) \
	  $(if $(FUNCTION),--function $(FUNCTION),$(if $(BASE),--base $(BASE) --head $(or $(HEAD),HEAD),--all)) --execute

## secrets: put the stage's WeChat and signing secrets in SSM (one SecureString each), asking
## for what is missing; refuses published or malformed values
secrets: $(VENV)/.installed node_modules/.installed
	$(PY) -m scripts.put_secrets --stage $(STAGE)

## audit: pip-audit on the pinned requirements, bandit on functions/ and infra/ (security/)
audit: $(VENV)/.installed
	$(PY) -m scripts.audit

# the audit as `make test` runs it: vulnerability data out of reach warns instead of failing
TEST_AUDIT = $(PY) -m scripts.audit --allow-unreachable
test-audit: $(VENV)/.installed
	$(TEST_AUDIT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check functions infra tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## models: the functions' AWS service descriptions (functions/common/models) from the pinned
## botocore's, after `make lock` moves it or functions.common.aws.OPERATIONS changes
models: $(VENV)/.installed
	$(PY) -m scripts.service_models

## screenshots: every customer page at 375 px into docs/screenshots/ (the phone-width test)
screenshots: $(VENV)/.installed node_modules/.installed
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/browser/test_phone_width.py

## pages: every pages/ folder's templates compiled (pages/compiled.zip), which the functions
## render from; after changing a template or `make lock` moving Jinja2
pages: $(VENV)/.installed
	$(PY) -m scripts.compile_pages

lock:
	$(VENV)/bin/uv pip compile --python-version 3.11 requirements/runtime.in -o requirements/runtime.txt -q
	$(VENV)/bin/uv pip compile --python-version 3.11 requirements/dev.in -o requirements/dev.txt -q

clean:
	rm -rf $(VENV) node_modules .serverless build .pytest_cache
