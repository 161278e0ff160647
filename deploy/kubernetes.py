"""`python -m deploy.kubernetes`: Kubernetes manifests (a Kustomize base) for a linked deployment, generated from
its hierarchy file, for a province that outgrows one host.

    python -m deploy.kubernetes --hierarchy deploy/hierarchy.compose.yaml --out deploy/kubernetes
    kubectl apply -k deploy/kubernetes      # after the secrets below exist in the namespace

What it writes, per instance of the hierarchy: a ConfigMap with the instance's settings (who it is, its parent
and children), and for each of its five processes (intake, scheduling, assignment, notification, console) a
Deployment with two replicas (competing consumers on the same queues and databases: the services are safe so,
see tests/e2e/test_replicas.py), its Service, a PodDisruptionBudget (one replica always up) and probes on
`/health/live` and `/health/ready`; resource requests come from `make bench` (every service peaked under
100 MB resident; requests 128 Mi and a tenth of a core, limits 384 Mi and one core). Assignment and
notification get a KEDA ScaledObject that adds replicas (2 to 6) when their main queue holds more than 100
messages. Shared: a RabbitMQ cluster of three nodes (the RabbitMQ Cluster Operator's `RabbitmqCluster`, with
the shovel and prometheus plugins; the services' consumer and link queues are quorum queues, replicated on the
three nodes; dead-letter queues are classic), a
MongoDB replica set of three members (the MongoDB Community Operator's `MongoDBCommunity`), and the two link
jobs of docker-compose.yml (`deploy.links prepare`, then `connect`).

A province hosting its communes (`--hosted`, written to deploy/kubernetes-hosted/): instead of a Deployment per
process per instance, one per process serves every instance (shared/hosting.py), two replicas or more (a
HorizontalPodAutoscaler on CPU adds up to six: a hosted process's backlog is spread over one queue per
instance); the ConfigMap `doithoai-hosted` holds each process's instances file, and requests and limits grow
with the number of instances by the cost `make bench-province` measured. An instance is added by adding its
secrets, then its entry (generate again and apply): the pods see both where they are mounted and start it
without a restart. Its secrets: `doithoai-broker` as above, `doithoai-keys` (per instance
`<instance>.api_keys` and `<instance>.console.pub`) and `doithoai-console-keys` (`<instance>.pem`, the
console's private key, mounted in the console only).

The operators (RabbitMQ Cluster Operator, MongoDB Community Operator, KEDA) are installed by the cluster's
administrators; this base only declares what doithoai needs of them. Secrets are not generated; create them
first: `doithoai-links` (the link credentials file of deploy.links), `doithoai-broker` (one key per instance:
`<instance>` = its broker password), `doithoai-mongo` (`password` of the database user `doithoai`),
`doithoai-broker-uris` (one key per instance: its AMQP URI with that
password and vhost, for KEDA), `doithoai-ack` (`ACK_SECRET`), and per instance `<instance>-keys` (`api_keys`,
`console.pem`, `console.pub`). The image is `doithoai:latest` from
deploy/Dockerfile; `kustomize edit set image` pins it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from deploy.links import Hierarchy
from shared.hosting import entry_from_env
from shared.messaging.topology import queue_name


class _Plain(yaml.SafeDumper):
    """YAML without anchors and aliases: each manifest reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    """A file held in a ConfigMap reads as itself (`|`), not as one quoted line of escapes."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Plain.add_representer(str, _block)


RABBITMQ = Path(__file__).parent / "rabbitmq"
IMAGE = "doithoai:latest"
HOSTING = "doithoai"  # in hosted mode, the one "instance" whose processes serve them all: doithoai-intake, …
NAMESPACE = "doithoai"
SERVICES = ("intake", "scheduling", "assignment", "notification")
PORTS = {"intake": 8101, "scheduling": 8102, "assignment": 8103, "notification": 8104, "console": 8105}
# From `make bench`: peak resident memory 83–92 MB per service; CPU by the load.
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "384Mi"}}
# Hosted mode, from `make bench-province` (var/bench/province.json, 2026-12-01): each process's resident memory
# in MB after the load at 1 instance, plus MB per instance it hosts (1 → 127); the console was not measured
# there: the figures of intake, whose work it most resembles. RabbitMQ: MB at rest plus MB per instance.
HOSTED_MEMORY_MB = {"intake": (89, 1.24), "scheduling": (86, 0.68), "assignment": (97, 2.1), "notification": (87, 1.0),
                    "console": (89, 1.24)}  # fmt: skip
BROKER_MB = (137, 3.9)
SCALED_QUEUES = {"assignment": queue_name("assignment"), "notification": queue_name("notification")}
HEADER = "# Generated by `python -m deploy.kubernetes` from {source}; do not edit, generate again.\n"


def _labels(instance: str, process: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "doithoai", "app.kubernetes.io/instance": instance,
            "app.kubernetes.io/component": process}  # fmt: skip


def _name(instance: str, process: str) -> str:
    return f"{instance}-{process}"


def _secret(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def _env(hierarchy: Hierarchy, instance: str, process: str, public: str) -> list[dict[str, Any]]:
    """What the compose file gives the same process, with the cluster's names for the broker, database and mail."""
    env: list[dict[str, Any]] = [
        {"name": "DOITHOAI_HTTP_PORT", "value": str(PORTS[process])},
        {"name": "DOITHOAI_MONGO_PASSWORD", "valueFrom": _secret("doithoai-mongo", "password")},
        {"name": "DOITHOAI_MONGO_URL",
         "value": "mongodb://doithoai:$(DOITHOAI_MONGO_PASSWORD)@mongo-svc:27017/?replicaSet=mongo&authSource=admin"},
        {"name": "DOITHOAI_BROKER_PASSWORD", "valueFrom": _secret("doithoai-broker", instance)},
        {"name": "DOITHOAI_BROKER_URL",
         "value": f"amqp://doithoai-{instance}:$(DOITHOAI_BROKER_PASSWORD)@rabbitmq:5672/{instance}"},
    ]  # fmt: skip
    if process == "console":
        env = [
            *env[:3],
            {"name": "DOITHOAI_SIGNING_KEY_FILE", "value": "/run/secrets/console.pem"},
            {"name": "DOITHOAI_PUBLIC_URL", "value": public},
        ]  # its accounts in the database; no broker
        env += [
            {"name": f"DOITHOAI_{s.upper()}_URL", "value": f"http://{_name(instance, s)}:{PORTS[s]}"} for s in SERVICES
        ]
        return env
    if process in ("assignment", "notification"):
        env.append({"name": "DOITHOAI_CONSOLE_URL", "value": public})
    if process == "notification":
        env += [
            {"name": "DOITHOAI_SMTP_HOST", "value": "smtp"},
            {"name": "DOITHOAI_SMTP_PORT", "value": "25"},
            {"name": "DOITHOAI_PUBLIC_URL", "value": f"{public}/thong-bao"},
            {"name": "DOITHOAI_ACK_SECRET", "valueFrom": _secret("doithoai-ack", "ACK_SECRET")},
        ]
    return env


def _deployment(instance: str, process: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    labels = _labels(instance, process)
    probe = {"httpGet": {"path": "/health/ready", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": _name(instance, process), "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true",
                                                               "prometheus.io/port": str(PORTS[process])}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": process,
                        "image": IMAGE,
                        "command": ["python", "-m", f"services.{process}"],
                        "ports": [{"name": "http", "containerPort": PORTS[process]}],
                        "envFrom": [{"configMapRef": {"name": f"{instance}-settings"}}],
                        "env": env,
                        "volumeMounts": [{"name": "keys", "mountPath": "/run/secrets", "readOnly": True}],
                        "readinessProbe": probe,
                        "livenessProbe": {**probe, "httpGet": {"path": "/health/live", "port": "http"},
                                          "initialDelaySeconds": 10},
                        "startupProbe": {**probe, "failureThreshold": 30, "periodSeconds": 2},
                        "resources": RESOURCES,
                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                    }],  # fmt: skip
                    "volumes": [{"name": "keys", "secret": {"secretName": f"{instance}-keys"}}],
                },
            },
        },
    }  # fmt: skip


def _service(instance: str, process: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": _name(instance, process), "labels": _labels(instance, process)},
        "spec": {"selector": _labels(instance, process),
                 "ports": [{"name": "http", "port": PORTS[process], "targetPort": "http"}]},
    }  # fmt: skip


def _budget(instance: str, process: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": _name(instance, process)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _labels(instance, process)}},
    }


def _scaler(instance: str, process: str) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": _name(instance, process)},
        "spec": {
            "scaleTargetRef": {"name": _name(instance, process)},
            "minReplicaCount": 2,
            "maxReplicaCount": 6,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "amqp",
                        "queueName": SCALED_QUEUES[process],
                        "mode": "QueueLength",
                        "value": "100",
                        "vhostName": instance,
                    },
                    "authenticationRef": {"name": f"{instance}-rabbitmq"},
                }
            ],  # fmt: skip
        },
    }


def _trigger_auth(instance: str) -> dict[str, Any]:
    """How KEDA reads the instance's queue depth: its AMQP address, from the secret `doithoai-broker-uris`."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": f"{instance}-rabbitmq"},
        "spec": {"secretTargetRef": [{"parameter": "host", "name": "doithoai-broker-uris", "key": instance}]},
    }


def _settings(hierarchy: Hierarchy, instance: str) -> dict[str, Any]:
    data = {
        **hierarchy.settings_env(instance),
        # The console forwards each person's address from the pod network; nobody else is believed (adjust).
        "DOITHOAI_TRUSTED_PROXIES": '["10.0.0.0/8"]',
        "DOITHOAI_API_KEYS_FILE": "/run/secrets/api_keys",
        "DOITHOAI_CONSOLE_PUBLIC_KEY_FILE": "/run/secrets/console.pub",
        "DOITHOAI_HTTP_HOST": "0.0.0.0",
        "DOITHOAI_LOG_JSON": "true",
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{instance}-settings"}, "data": data}


def _shared(hierarchy_file: str, broker_memory: str = "2Gi", hosting: bool = False) -> list[dict[str, Any]]:
    rabbit = {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "RabbitmqCluster",
        "metadata": {"name": "rabbitmq"},
        "spec": {
            "replicas": 3,
            "rabbitmq": {"additionalPlugins": ["rabbitmq_shovel", "rabbitmq_shovel_management",
                                               "rabbitmq_prometheus"]},
            "resources": {"requests": {"cpu": "500m", "memory": broker_memory},
                          "limits": {"cpu": "2", "memory": broker_memory}},
            "persistence": {"storage": "20Gi"},
        },
    }  # fmt: skip
    if hosting:  # thousands of queues at rest: the settings measured by `make bench-province`
        rabbit["spec"]["rabbitmq"]["additionalConfig"] = (RABBITMQ / "province.conf").read_text(encoding="utf-8")
        rabbit["spec"]["rabbitmq"]["envConfig"] = (RABBITMQ / "province-env.conf").read_text(encoding="utf-8")
    mongo = {
        "apiVersion": "mongodbcommunity.mongodb.com/v1",
        "kind": "MongoDBCommunity",
        "metadata": {"name": "mongo"},
        "spec": {
            "members": 3,
            "type": "ReplicaSet",
            "version": "7.0.14",
            "security": {"authentication": {"modes": ["SCRAM"]}},
            "users": [
                {
                    "name": "doithoai",
                    "db": "admin",
                    "passwordSecretRef": {"name": "doithoai-mongo"},
                    "roles": [
                        {"name": "readWriteAnyDatabase", "db": "admin"},
                        {"name": "dbAdminAnyDatabase", "db": "admin"},
                    ],
                    "scramCredentialsSecretName": "doithoai-mongo-scram",
                }
            ],  # fmt: skip
        },
    }
    jobs = []
    for step in ("prepare", "connect"):  # connect retries (backoffLimit) until prepare has made the vhosts
        job: dict[str, Any] = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": f"links-{step}"},
            "spec": {
                "backoffLimit": 20,
                "template": {
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [{
                            "name": f"links-{step}",
                            "image": IMAGE,
                            "command": ["python", "-m", "deploy.links", step, "--hierarchy",
                                        f"/etc/doithoai/{Path(hierarchy_file).name}", "--credentials",
                                        "/run/secrets/links"],
                            "volumeMounts": [{"name": "links", "mountPath": "/run/secrets", "readOnly": True},
                                             {"name": "hierarchy", "mountPath": "/etc/doithoai", "readOnly": True}],
                        }],
                        "volumes": [{"name": "links", "secret": {"secretName": "doithoai-links"}},
                                    {"name": "hierarchy", "configMap": {"name": "doithoai-hierarchy"}}],
                    }
                },
            },
        }  # fmt: skip
        jobs.append(job)
    return [rabbit, mongo, *jobs]


def _mebibytes(mb: float) -> str:
    return f"{64 * -(-int(mb) // 64)}Mi"  # up to a multiple of 64 Mi


def _hosted_entry(hierarchy: Hierarchy, instance: str, process: str, public: str) -> dict[str, Any]:
    """One instance's entry in a hosted process's instances file: who it is, and where its secrets lie."""
    entry: dict[str, Any] = {
        **entry_from_env(hierarchy.settings_env(instance)),
        "api_keys_file": f"/run/secrets/keys/{instance}.api_keys",
        "console_public_key_file": f"/run/secrets/keys/{instance}.console.pub",
    }
    if process == "console":
        backends = {f"{s}_url": f"http://{_name(HOSTING, s)}:{PORTS[s]}/i/{instance}" for s in SERVICES}
        return {**entry, **backends, "signing_key_file": f"/run/secrets/console/{instance}.pem", "public_url": public}
    entry["broker_url"] = f"amqp://doithoai-{instance}@rabbitmq:5672/{instance}"
    entry["broker_password_file"] = f"/run/secrets/broker/{instance}"
    if process in ("assignment", "notification"):
        entry["console_url"] = public
    if process == "notification":
        entry["public_url"] = f"{public}/thong-bao"
    return entry


def _hosted_env(process: str) -> list[dict[str, Any]]:
    """What every instance of a hosted process shares: its HTTP server, the database, mail."""
    env = [
        {"name": "DOITHOAI_HTTP_HOST", "value": "0.0.0.0"},
        {"name": "DOITHOAI_HTTP_PORT", "value": str(PORTS[process])},
        {"name": "DOITHOAI_LOG_JSON", "value": "true"},
        {"name": "DOITHOAI_TRUSTED_PROXIES", "value": '["10.0.0.0/8"]'},
        {"name": "DOITHOAI_MONGO_PASSWORD", "valueFrom": _secret("doithoai-mongo", "password")},
        {"name": "DOITHOAI_MONGO_URL",
         "value": "mongodb://doithoai:$(DOITHOAI_MONGO_PASSWORD)@mongo-svc:27017/?replicaSet=mongo&authSource=admin"},
    ]  # fmt: skip
    if process == "notification":
        env += [
            {"name": "DOITHOAI_SMTP_HOST", "value": "smtp"},
            {"name": "DOITHOAI_SMTP_PORT", "value": "25"},
            {"name": "DOITHOAI_ACK_SECRET", "valueFrom": _secret("doithoai-ack", "ACK_SECRET")},
        ]
    return env


def _hosted_deployment(process: str, instances: int) -> dict[str, Any]:
    """One Deployment serving every instance: the instances file and the secrets are read where they are
    mounted, so an instance added to them (kubectl apply, secrets first) starts without a restart."""
    deployment = _deployment(HOSTING, process, _hosted_env(process))
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["command"] += ["--hosted", f"/etc/doithoai/hosted/{process}.yaml"]
    del container["envFrom"]
    # A pod serves once its file is applied (it answers HTTP only after trying every listed instance: about a
    # second each at start, measured); an instance that failed answers 503 alone, and /health/ready, which
    # names it, is for the operator's alert — as a probe it would take the whole province out for one commune.
    for probe in ("readinessProbe", "startupProbe"):
        container[probe]["httpGet"]["path"] = "/health/live"
    container["startupProbe"]["failureThreshold"] = 30 + instances  # tried every 2 s
    base, per_instance = HOSTED_MEMORY_MB[process]
    request = _mebibytes(1.25 * (base + per_instance * instances))
    container["resources"] = {
        "requests": {"cpu": "250m", "memory": request},
        "limits": {"cpu": "2", "memory": _mebibytes(2.5 * (base + per_instance * instances))},
    }
    mounts = [
        ("hosted", "/etc/doithoai/hosted", {"configMap": {"name": "doithoai-hosted"}}),
        ("keys", "/run/secrets/keys", {"secret": {"secretName": "doithoai-keys"}}),
    ]
    mounts.append(
        ("console", "/run/secrets/console", {"secret": {"secretName": "doithoai-console-keys"}})
        if process == "console"
        else ("broker", "/run/secrets/broker", {"secret": {"secretName": "doithoai-broker"}})
    )
    container["volumeMounts"] = [{"name": name, "mountPath": path, "readOnly": True} for name, path, _ in mounts]
    pod["volumes"] = [{"name": name, **source} for name, _, source in mounts]
    return deployment  # fmt: skip


def _hosted_autoscaler(process: str) -> dict[str, Any]:
    """More replicas when busy. A hosted process's backlog is spread over one queue per instance, so its
    CPU, not one queue's depth, tells the load."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": _name(HOSTING, process)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": _name(HOSTING, process)},
            "minReplicas": 2,
            "maxReplicas": 6,
            "metrics": [{"type": "Resource",
                         "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }  # fmt: skip


def _hosted(hierarchy: Hierarchy, public_domain: str) -> list[dict[str, Any]]:
    files = {}
    for process in (*SERVICES, "console"):
        listed = [_hosted_entry(hierarchy, i.id, process, f"https://{i.id}.{public_domain}")
                  for i in hierarchy.instances]  # fmt: skip
        files[f"{process}.yaml"] = yaml.dump({"instances": listed}, Dumper=_Plain, sort_keys=False, allow_unicode=True)
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "doithoai-hosted"}, "data": files}
    ]
    for process in (*SERVICES, "console"):
        docs += [_hosted_deployment(process, len(hierarchy.instances)), _service(HOSTING, process),
                 _budget(HOSTING, process), _hosted_autoscaler(process)]  # fmt: skip
    return docs


def _instance(hierarchy: Hierarchy, instance: str, public_domain: str) -> list[dict[str, Any]]:
    """One instance's own processes: settings, and per process a Deployment, Service, budget (and scaler)."""
    public = f"https://{instance}.{public_domain}"
    docs: list[dict[str, Any]] = [_settings(hierarchy, instance), _trigger_auth(instance)]
    for process in (*SERVICES, "console"):
        docs += [_deployment(instance, process, _env(hierarchy, instance, process, public)),
                 _service(instance, process), _budget(instance, process)]  # fmt: skip
        if process in SCALED_QUEUES:
            docs.append(_scaler(instance, process))
    return docs


def generate(hierarchy_file: Path, public_domain: str = "doithoai.example.vn", hosted: bool = False) -> dict[str, str]:
    """File name → YAML text of the Kustomize base: per instance, or hosted (one Deployment per process)."""
    hierarchy = Hierarchy.from_yaml(hierarchy_file)
    header = HEADER.format(source=f"deploy/{hierarchy_file.name}" + (" --hosted" if hosted else ""))
    instances = len(hierarchy.instances)
    broker = _mebibytes(max(2048, 1.25 * (BROKER_MB[0] + BROKER_MB[1] * instances))) if hosted else "2Gi"
    files: dict[str, list[dict[str, Any]]] = {"shared.yaml": _shared(str(hierarchy_file), broker, hosted)}
    files["shared.yaml"].append({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "doithoai-hierarchy"},
        "data": {hierarchy_file.name: hierarchy_file.read_text(encoding="utf-8")},
    })  # fmt: skip
    if hosted:
        files["hosted.yaml"] = _hosted(hierarchy, public_domain)
    else:
        files |= {f"{inst.id}.yaml": _instance(hierarchy, inst.id, public_domain) for inst in hierarchy.instances}
    out = {name: header + yaml.dump_all(docs, Dumper=_Plain, sort_keys=False, allow_unicode=True)
           for name, docs in files.items()}  # fmt: skip
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": sorted(files),
        "images": [{"name": "doithoai", "newTag": "latest"}],
    }
    out["kustomization.yaml"] = header + yaml.dump(kustomization, Dumper=_Plain, sort_keys=False)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hierarchy", type=Path, default=Path("deploy/hierarchy.compose.yaml"))
    parser.add_argument("--out", type=Path, default=Path("deploy/kubernetes"))
    parser.add_argument("--domain", default="doithoai.example.vn", help="each console at https://<instance>.<domain>")
    parser.add_argument("--hosted", action="store_true", help="one Deployment per process serves every instance")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in generate(args.hierarchy, args.domain, args.hosted).items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
