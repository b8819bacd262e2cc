# Every target sets the project up first (idempotent, see scripts/setup.sh).
VENV := .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0
# Compiled modules are kept (in __pycache__, which git ignores): every service and command the suite
# starts, and pytest's rewritten test modules, would otherwise be compiled again each time.
unexport PYTHONDONTWRITEBYTECODE

LINTED := assistant actions voice tests bench

.PHONY: setup run test test-fast lint bench nlu-report train clean

setup:
	@./scripts/setup.sh

## The main job: bring the whole assistant up and open a terminal chat.
run: setup
	$(BIN)/assistant up --chat --worker W001

## The whole test-suite (CI runs exactly this, and `make lint`), in two worker processes.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## While developing (about 1.5 minutes): all but the running stack, browsers, PostgreSQL, the trained model and slow tests.
test-fast: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not stack and not postgres and not browser and not model and not slow"

## Style (ruff lint and format) and types (mypy, configured in pyproject.toml).
lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

## Benchmarks: print figures, compared against a baseline in the same run.
bench: setup
	$(BIN)/python -m bench

## NLU quality on tests/nlu_holdout.yml (intents, entity values; per language form and entity type), and cross-validation.
## It scores the model `assistant up` serves (`assistant train`: trained with `rasa train` if its inputs changed).
nlu-report: setup
	model="$$($(BIN)/assistant train)" && $(BIN)/python -m assistant.nlu.report --model "$$model"

## Retrain the Rasa model if config.yml, domain.yml, nlu/ or dialogue/ changed.
train: setup
	$(BIN)/assistant train

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
