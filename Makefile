# Every target sets the project up first (idempotent, see scripts/setup.sh).
VENV := .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0

.PHONY: setup run test bench nlu-report train clean

setup:
	@./scripts/setup.sh

## The main job: bring the whole assistant up and open a terminal chat.
run: setup
	$(BIN)/assistant up --chat

## The whole test-suite (CI runs exactly this).
test: setup
	$(BIN)/python -m pytest

## Benchmarks: print figures, compared against a baseline in the same run.
bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
