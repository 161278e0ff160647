# The two everyday commands: `make run` starts the local stack, `make test` runs the tests.
# Both prepare the machine first (deploy/bootstrap.sh: RabbitMQ, plugins, virtualenv).
.PHONY: bootstrap run test docs bench-reports

bootstrap:
	./deploy/bootstrap.sh

run: bootstrap
	.venv/bin/python -m deploy.localstack

test: bootstrap
	.venv/bin/ruff check shared services deploy tests bench
	.venv/bin/ruff format --check shared services deploy tests bench
	.venv/bin/python -m pytest

# Regenerate docs/asyncapi and docs/openapi after changing events or HTTP APIs (the tests check them).
docs: bootstrap
	env -u DOITHOAI_API_KEYS .venv/bin/python -m deploy.docs

# Report time as the data grows (own opinions; children rolled up): JSON in var/bench/.
bench-reports: bootstrap
	.venv/bin/python -m bench.reports
