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

## NLU quality: intent accuracy, macro F1, entity F1 on tests/nlu_holdout.yml, and cross-validation.
nlu-report: setup
	$(BIN)/python -m assistant.nlu.report

## Retrain the Rasa model if config.yml, domain.yml or nlu/ changed.
train: setup
	$(BIN)/assistant train

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
