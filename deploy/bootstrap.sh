#!/usr/bin/env bash
# Prepare a fresh machine (Debian, as root) for the local stack and the tests:
# RabbitMQ installed, its plugins enabled and running; a Python virtualenv with the project.
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

PLUGINS="rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management rabbitmq_prometheus"

say() { printf '[bootstrap] %s\n' "$*"; }

missing=""
command -v rabbitmq-server >/dev/null 2>&1 || missing="$missing rabbitmq-server"
# Documents: WeasyPrint lays out PDFs with Pango; Liberation Serif stands in for Times New Roman (same
# metrics, every Vietnamese letter); pdftoppm (poppler) renders pages to PNG for the visual checks.
# The browser tests drive Debian's Chromium (Playwright's own download needs the internet).
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation2 fonts-dejavu-core poppler-utils chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  say "installing from Debian:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing >/dev/null
fi

rabbit_running() { rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }

# Every instance's quorum queues hold file handles in the broker (about 150 an instance): the
# linked local stack and the tests need more than the usual 1024 open files. rabbitmq-server
# runs the node through `su rabbitmq`, whose PAM session sets that limit.
hard=$(ulimit -Hn); [ "$hard" = unlimited ] && hard=65536
soft=$(( hard < 65536 ? hard : 65536 ))
if [ "$(id -u)" = 0 ] && [ -d /etc/security/limits.d ]; then
  printf 'rabbitmq soft nofile %s\nrabbitmq hard nofile %s\n' "$soft" "$hard" > /etc/security/limits.d/doithoai-rabbitmq.conf
fi
file_limit() {
  rabbitmq-diagnostics -q status --formatter json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin)['file_descriptors']['total_limit'])" 2>/dev/null || echo 0
}
start_rabbit() {
  rabbitmq-server -detached
  for _ in $(seq 1 90); do rabbit_running && break; sleep 1; done
  rabbit_running || { say "RabbitMQ did not start; see /var/log/rabbitmq/"; exit 1; }
}

if rabbit_running && [ "$(file_limit)" -lt $(( soft * 8 / 10 )) ]; then
  say "RabbitMQ runs with only $(file_limit) file handles; restarting it with up to $soft"
  rabbitmqctl -q stop >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do rabbit_running || break; sleep 1; done
fi
if rabbit_running; then
  rabbitmq-plugins -q enable $PLUGINS >/dev/null
else
  say "starting RabbitMQ"
  rabbitmq-plugins -q enable --offline $PLUGINS >/dev/null
  start_rabbit
fi
management_up() {
  python3 - <<'PY' >/dev/null 2>&1
import base64, urllib.request
req = urllib.request.Request("http://127.0.0.1:15672/api/overview")
req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
urllib.request.urlopen(req, timeout=2)
PY
}
for _ in $(seq 1 60); do management_up && break; sleep 1; done
management_up || { say "RabbitMQ management API is not answering on 127.0.0.1:15672"; exit 1; }
say "RabbitMQ is running with $PLUGINS"

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  say "installing the project and its dependencies into .venv"
  .venv/bin/pip install -q -e '.[dev]'
  touch .venv/.installed
fi
say "ready"
