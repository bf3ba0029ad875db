.PHONY: run test lint bench

run:    ## set up (first time) and run the server on SQLite in ./.thumbs/
	scripts/serve.sh

test:   ## set up and run the tests (SQLite + PostgreSQL); PYTEST_ARGS go to pytest
	scripts/test.sh $(PYTEST_ARGS)

lint:   ## ruff, ruff format --check, mypy
	scripts/lint.sh

bench:  ## benchmarks (needs wrk); see bench/README.md
	scripts/setup.sh test,dev && .venv/bin/python bench/run.py
