# The two everyday commands: `make run` starts the local stack, `make test` runs the tests.
# Both prepare the machine first (deploy/bootstrap.sh: RabbitMQ, plugins, virtualenv).
.PHONY: bootstrap run test docs bench bench-reports bench-console bench-province chaos

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

# End to end through the linked local stack: rates, latencies per stage, escalation round trip,
# memory, cost per opinion at 1k/10k/100k stored, against a hand-written floor (var/bench/).
bench: bootstrap
	.venv/bin/python -m bench.pipeline

# Report time as the data grows (own opinions; children rolled up): JSON in var/bench/.
bench-reports: bootstrap
	.venv/bin/python -m bench.reports

# The console's pages at 20 concurrent signed-in users (record an opinion, the agency inbox) against the same
# requests straight to the services' APIs, in the same run: var/bench/console.json.
bench-console: bootstrap
	.venv/bin/python -m bench.console

# A generated province in hosted mode (one process per service for every instance) at 1, 32 and 127
# instances: start-up, idle memory and CPU, RabbitMQ's memory and queues, latency at 10 opinions/s with
# one in five escalated, each on a fresh RabbitMQ node of its own with the province settings
# (deploy/rabbitmq/province.conf), then 127 on RabbitMQ's defaults for comparison: var/bench/province.json, .png.
bench-province: bootstrap
	.venv/bin/python -m bench.province

# Faults under steady load (SIGKILL of every service, RabbitMQ and database restarts, SMTP and shovel
# outages), then what was lost and what came twice: var/chaos/chaos.json; exits 1 on a loss.
chaos: bootstrap
	.venv/bin/python -m bench.chaos
