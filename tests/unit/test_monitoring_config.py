"""Prometheus, its alert rules and the Grafana dashboard refer to metrics the services really expose,
and scrape what docker-compose.yml really runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b((?:doithoai|faststream)_[a-z_]+)")


def exposed_names() -> set[str]:
    for factory in (intake_app, assignment_app, scheduling_app, notification_app):
        factory()  # registers every metric of the service
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names |= {f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum", "_created")}
    return names


def test_alert_rules_are_complete_and_use_real_metrics() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {"DoithoaiServiceDown", "DoithoaiOverdueOpinions", "DoithoaiDeadLetters",
            "DoithoaiNotificationFailureRate", "DoithoaiLinkDown"} <= names  # fmt: skip
    exposed = exposed_names()
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        used = set(METRIC.findall(rule["expr"]))
        assert used <= exposed, (rule["alert"], used - exposed)


def test_dashboard_panels_use_real_metrics_and_the_instance_filter() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/doithoai.json").read_text(encoding="utf-8"))
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["instance"]
    exposed = exposed_names()
    for panel in dashboard["panels"]:
        expr = panel["targets"][0]["expr"]
        assert set(METRIC.findall(expr)) <= exposed, (panel["title"], expr)
        if "doithoai_" in expr:
            assert 'instance=~"$instance"' in expr, panel["title"]


def test_prometheus_scrapes_every_service_of_the_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = {
        f"{name}:{spec['environment']['DOITHOAI_HTTP_PORT']}"
        for name, spec in compose["services"].items()
        if str((spec.get("command") or ["", "", ""])[2]).startswith("services.")
    }
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert set(jobs["doithoai"]) == services and len(services) == 15  # 4 services and a console × 3
    assert jobs["rabbitmq"] == ["rabbitmq:15692"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in compose["services"]["prometheus"]["volumes"]
