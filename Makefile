# The two commands a newcomer needs are `make run` and `make test`; both set up the
# virtual environment themselves, so a fresh clone needs nothing but Python 3.11, git and make.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup browser run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or set PYTHON=..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# Debian's Chromium, for the browser tests (installed once if missing; see the script).
browser:
	@bash scripts/install-chromium

# The demo: a generated size-S campaign (planted failure modes), loaded once; loading again is a no-op.
DEMO ?= $(or $(WARRANT_HOME),.warrant)/demo
# The demo library: 50 generated campaigns (themes, channel mixes, planted failure modes, seeds), each
# with its post-mortem, so the library has something to find. After the demo's own post-mortem, whose
# baseline is "every campaign that ended before" (see `warrant sample library --help`).
LIBRARY ?= $(or $(WARRANT_HOME),.warrant)/library

run: $(STAMP)
	$(BIN)/warrant db start
	@[ -f $(DEMO)/manifest.json ] || $(BIN)/warrant sample generate --size S --seed 7 --out $(DEMO)
	$(BIN)/warrant sample load $(DEMO)
	$(BIN)/warrant models sync --promote
	$(BIN)/warrant postmortem run --campaign cmp-2026q3 --report $(DEMO)/postmortem.html
	$(BIN)/warrant sample library --count 50 --out $(LIBRARY)
	$(BIN)/warrant db status
	$(BIN)/warrant people add demo --name "Demo Analyst" --role analyst --role governance_lead
	@echo "An API key for the demo analyst (send it as 'Authorization: Bearer <key>'):"
	@$(BIN)/warrant keys create --person demo --role analyst --name "make run" | tail -1
	$(BIN)/warrant serve

# pytest exits 5 when it collected no test: a suite that runs nothing is a failure here, said plainly.
test: $(STAMP) browser
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark, one process each, then BENCHMARKS.md (machine, versions, date, figures); about an
# hour on 2 cores. One step alone: `make bench BENCH_ARGS="--only lineage-1M"`; the steps are listed
# in tests/bench/suite.py, and each is an ordinary module runnable by itself.
bench: $(STAMP)
	$(BIN)/python -m tests.bench.suite $(BENCH_ARGS)

clean:
	-$(BIN)/warrant db stop
	rm -rf $(VENV) .pytest_cache .ruff_cache
