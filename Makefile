# livehost: `make demo` goes live on the embedded default; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup dashboard demo test bench soak clean

# The dashboard (frontend/) is built when npm is there; the API and the live work without it.
NPM_STAMP := frontend/node_modules/.installed
DASHBOARD := frontend/dist/index.html
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
                $(wildcard frontend/index.html frontend/*.ts frontend/tsconfig*.json)

setup: $(STAMP) dashboard

dashboard:
	@if [ ! -f frontend/package.json ]; then true; \
	elif command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(DASHBOARD); \
	else echo "note: npm not found: the dashboard is not built. Install Node.js 20+ and run 'make setup'" \
	          "(the API and the live work without it)."; fi

# A stalled download fails after a minute and is retried (npm's default waits five).
NPM_CI := npm ci --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=4
$(NPM_STAMP): frontend/package-lock.json
	cd frontend && ($(NPM_CI) || $(NPM_CI))
	touch $(NPM_STAMP)

$(DASHBOARD): $(NPM_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run build

# Re-installs only when the project's requirements change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/livehost demo

test: setup
	@if [ -f frontend/package.json ] && command -v npm >/dev/null 2>&1; then cd frontend && npm test; \
	elif [ -f frontend/package.json ] && [ "$$LIVEHOST_REQUIRE_SERVERS" = 1 ]; then \
	  echo "npm is required under CI for the dashboard tests" >&2; exit 1; \
	else echo "note: npm not found: the dashboard's unit tests are skipped"; fi
	$(BIN)/python -m pytest -ra --durations=30 $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.lipsync
	$(BIN)/python -m bench.interrupt
	$(BIN)/python -m bench.scheduler
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.audience_parse
	$(BIN)/python -m bench.audience
	$(BIN)/python -m bench.selling
	$(BIN)/python -m bench.scene
	$(BIN)/python -m bench.outputs
	$(BIN)/python -m bench.capacity
	$(BIN)/python -m bench.transcriber
	$(BIN)/python -m bench.voices
	$(BIN)/python -m bench.live2d
	$(BIN)/python -m bench.musetalk_model
	$(BIN)/python -m bench.musetalk_engine

clean:
	rm -rf $(VENV) var frontend/node_modules frontend/dist

soak: setup
	$(BIN)/python -m bench.soak
