# The two commands: `make run` (the whole stack on the embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export APP_ENV ?= development
export YCLIENTS_API_URL ?= http://127.0.0.1:5003
export PYTHONUNBUFFERED := 1

DEV_PROCESSES := whatsapp-sim yclients-sandbox web bridge worker sync clock

.PHONY: install run test test-sqlite test-postgres migrate bench clean aiadmin

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

migrate: install
	$(BIN)/aiadmin migrate

# Embedded Redis (var/redis.sock) unless REDIS_URL is set; Ctrl-C stops every process.
run: install
	@mkdir -p var
	$(BIN)/aiadmin migrate
	@echo "Marketplace sandbox: http://127.0.0.1:5003/   Onboarding: http://127.0.0.1:5000/   WhatsApp phone: http://127.0.0.1:5002/"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho -f Procfile.dev start $(if $(REDIS_URL),$(DEV_PROCESSES),)

# The support CLI against the `make run` stack, with the same environment (no APP_ENV to export):
# make aiadmin ARGS="status 962302"   (REDIS_URL / DATABASE_URL as given to make run, if any)
aiadmin: install
	@$(BIN)/aiadmin $(ARGS)

# SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set (CI sets it and requires it).
test: install
	$(BIN)/pytest -p no:cacheprovider --db sqlite $(PYTEST_ARGS)
	@if [ -n "$$TEST_POSTGRES_URL" ] || [ -n "$$CI" ]; then \
		$(BIN)/pytest -p no:cacheprovider --db postgresql -m "not e2e" $(PYTEST_ARGS); \
	else echo "TEST_POSTGRES_URL not set: PostgreSQL run skipped (CI runs it)"; fi

# The benchmark suite over the real processes; prints a table (docs/performance.md). BENCH_ARGS e.g.
# "--only 4,6", "--large" (the large salon at the official budget, ~3 min more), "--json var/bench.json".
bench: install
	@command -v wrk >/dev/null || { SUDO=$$(command -v sudo || true); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
