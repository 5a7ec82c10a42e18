# The two commands of the README: `make run` and `make test`.
.PHONY: run test test-fast lint migration i18n bench screenshots clean

run:            ## set up and run web + scheduler on SQLite with the Suining offices
	scripts/run.sh

test:           ## set up and run every test (SQLite and PostgreSQL, browser included)
	scripts/test.sh

test-fast:      ## the tests on SQLite only, without the browser
	scripts/bootstrap.sh dev
	.venv/bin/python -m pytest --db sqlite -m "not browser and not slow" -q

lint:
	scripts/bootstrap.sh dev
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache

migration:      ## a new schema migration after a model change: make migration MSG="what changed"
	scripts/bootstrap.sh dev
	scripts/make-migration.sh "$(MSG)"

i18n:           ## extract messages and compile the English catalogue
	scripts/bootstrap.sh dev
	scripts/i18n.sh

bench:          ## the recorded benchmarks of bench/RESULTS.md (about 10 minutes; a quiet machine)
	scripts/bootstrap.sh dev
	scripts/bench.sh

screenshots:    ## retake docs/screenshots (the browser tests, writing the pictures that changed)
	XIYUE_WRITE_SCREENSHOTS=1 scripts/test.sh --db sqlite -m browser -q

clean:
	rm -rf .venv instance .pytest_cache
