"""The hierarchy of linked instances, and the RabbitMQ set-up that links them.

The hierarchy is data (a YAML file): each instance names its level and its parent, so a
ward → district → city chain and a two-level ward → city chain are the same code. From it,
`provision` makes on each broker: a vhost per instance, a user per instance that reaches only
its own vhost, a shovel user that may only read link queues and write inbound exchanges, and
one dynamic shovel per direction of every parent–child link (ack-mode on-confirm). Running it
again updates the shovels to match the file and removes link shovels no longer in it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import LEVEL_RANKS
from shared.events.vocabulary import Level
from shared.messaging.admin import RabbitAdmin
from shared.messaging.links import link_user, shovel_name
from shared.messaging.migration import per_event_queues, retire_per_event_queues
from shared.messaging.topology import INBOUND_EXCHANGE, link_queue_name
from shared.settings import check_instance_id

SHOVEL_USER = "doithoai-link"  # the single shovel user of earlier versions; `prepare` removes it
# What an instance's own services may publish to or bind: its events, links and dead-letter
# exchanges (declaring a queue with a dead-letter exchange needs write on it) and its queues. Not
# `doithoai.inbound` (only link users write there) nor `amq.default` (which reaches any queue by
# name). A message an instance user puts in a dead-letter queue carries that user's own user_id,
# so replaying it into an inbound queue makes no forgery either.
INSTANCE_WRITE = (
    r"^(doithoai[.](events|links|dead-letter)|(intake|assignment|scheduling|notification)[.].+|link[.]to[.].+)$"
)


class InstanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    level: Level
    parent: str | None = None
    amqp: str = Field(default="amqp://127.0.0.1:5672", description="Broker address (no credentials, no vhost).")
    management: str = Field(default="http://127.0.0.1:15672", description="Broker's management API.")

    _id = field_validator("id")(check_instance_id)

    @property
    def user(self) -> str:
        return f"doithoai-{self.id}"

    def uri(self, user: str, password: str) -> str:
        """AMQP URI of this instance's vhost for `user` (amqps:// works the same way)."""
        parts = urlsplit(self.amqp)
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, f"/{quote(self.id, safe='')}", "", ""))


class Hierarchy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: list[InstanceSpec]

    @model_validator(mode="after")
    def _tree(self) -> Hierarchy:
        ids = [i.id for i in self.instances]
        if len(set(ids)) != len(ids):
            raise ValueError(f"instance ids must be unique: {ids}")
        by_id = {i.id: i for i in self.instances}
        for inst in self.instances:
            if inst.parent is None:
                continue
            parent = by_id.get(inst.parent)
            if parent is None:
                raise ValueError(f"{inst.id}: parent {inst.parent!r} is not in the hierarchy")
            if LEVEL_RANKS[parent.level] <= LEVEL_RANKS[inst.level]:
                raise ValueError(f"{inst.id} ({inst.level}) cannot have {parent.id} ({parent.level}) as parent")
        return self  # levels strictly rise towards the root, so there can be no cycle

    @classmethod
    def from_yaml(cls, path: Path) -> Hierarchy:
        return cls(**yaml.safe_load(path.read_text(encoding="utf-8")))

    def get(self, instance_id: str) -> InstanceSpec:
        return next(i for i in self.instances if i.id == instance_id)

    def children(self, instance_id: str) -> list[InstanceSpec]:
        return [i for i in self.instances if i.parent == instance_id]

    def links(self) -> list[tuple[InstanceSpec, InstanceSpec]]:
        """Every (source, target) direction: child → parent and parent → child."""
        pairs = []
        for inst in self.instances:
            if inst.parent:
                parent = self.get(inst.parent)
                pairs += [(inst, parent), (parent, inst)]
        return pairs

    def settings_env(self, instance_id: str) -> dict[str, str]:
        """The DOITHOAI_* variables that tell one instance who its neighbours are."""
        inst = self.get(instance_id)
        env = {
            "DOITHOAI_INSTANCE_ID": inst.id,
            "DOITHOAI_INSTANCE_NAME": inst.name,
            "DOITHOAI_LEVEL": inst.level,
            "DOITHOAI_CHILD_IDS": json.dumps([c.id for c in self.children(inst.id)]),
        }
        if inst.parent:
            parent = self.get(inst.parent)
            env |= {
                "DOITHOAI_PARENT_ID": parent.id,
                "DOITHOAI_PARENT_NAME": parent.name,
                "DOITHOAI_PARENT_LEVEL": parent.level,
            }
        return env


class LinkError(Exception):
    pass


@dataclass
class Credentials:
    """Passwords of the instance users; `shovel` is the secret the link users' passwords derive from."""

    shovel: str
    instances: dict[str, str] = field(default_factory=dict)
    shovel_user: str = SHOVEL_USER
    admin_user: str = "guest"
    admin_password: str = "guest"

    def instance(self, instance_id: str) -> str:
        if instance_id not in self.instances:
            raise LinkError(f"the credentials have no password for instance {instance_id!r}")
        return self.instances[instance_id]

    def link(self, source: str, target: str) -> str:
        """The password of one link's user: HMAC of the link secret and the link's name, so each link has
        its own and knowing one (it sits in the source broker's shovel definition) reveals no other."""
        name = link_user(source, target).encode()
        return hmac.new(self.shovel.encode(), name, hashlib.sha256).hexdigest()


def _admins(hierarchy: Hierarchy, creds: Credentials) -> dict[str, RabbitAdmin]:
    return {
        url: RabbitAdmin(url, creds.admin_user, creds.admin_password)
        for url in {i.management for i in hierarchy.instances}
    }


def _exactly(name: str) -> str:
    return "^" + re.escape(name) + "$"


def prepare(hierarchy: Hierarchy, creds: Credentials) -> None:
    """Vhosts, instance users (each reaching only its own vhost, never writing its inbound exchange),
    and one user per link direction with the rights of that link alone; an instance made before
    December 2026 has its per-event queues retired (`shared.messaging.migration`)."""
    admins = _admins(hierarchy, creds)
    try:
        for inst in hierarchy.instances:
            admin = admins[inst.management]
            admin.ensure_vhost(inst.id)
            admin.ensure_user(inst.user, creds.instance(inst.id))
            admin.set_permissions(inst.id, inst.user, write=INSTANCE_WRITE)
            present = admin.queue_names(inst.id)
            if present & per_event_queues().keys():
                admin_uri = inst.uri(creds.admin_user, creds.admin_password)
                moved = asyncio.run(retire_per_event_queues(admin_uri, present))
                print(f"{inst.id}: {len(moved)} per-event queues retired, {sum(moved.values())} messages moved")
        for admin in admins.values():
            admin.delete_user(creds.shovel_user)  # one shared shovel user could pose as any child
        for source, target in hierarchy.links():
            user, password = link_user(source.id, target.id), creds.link(source.id, target.id)
            admins[source.management].ensure_user(user, password)
            admins[source.management].set_permissions(
                source.id, user, configure="^$", write="^$", read=_exactly(link_queue_name(target.id))
            )
            admins[target.management].ensure_user(user, password)
            admins[target.management].set_permissions(
                target.id, user, configure="^$", write=_exactly(INBOUND_EXCHANGE.name), read="^$"
            )
    finally:
        for admin in admins.values():
            admin.close()


def connect(hierarchy: Hierarchy, creds: Credentials) -> list[str]:
    """Create or update one shovel per link direction; remove link shovels no longer configured.

    The instances' services must have run once: they declare the link queues and the inbound
    exchanges the shovels use (a shovel would otherwise declare a plain queue of its own)."""
    admins = _admins(hierarchy, creds)
    names = []
    try:
        for source, target in hierarchy.links():
            queue = link_queue_name(target.id)
            if not admins[source.management].exists(source.id, "queues", queue):
                raise LinkError(f"queue {queue} is missing in /{source.id}: start the services of {source.id} first")
            if not admins[target.management].exists(target.id, "exchanges", INBOUND_EXCHANGE.name):
                raise LinkError(
                    f"exchange {INBOUND_EXCHANGE.name} is missing in /{target.id}: start the services of {target.id}"
                )
            name = shovel_name(source.id, target.id)
            user, password = link_user(source.id, target.id), creds.link(source.id, target.id)
            admins[source.management].put_shovel(
                source.id,
                name,
                {
                    "src-protocol": "amqp091",
                    "src-uri": source.uri(user, password),
                    "src-queue": queue,
                    "dest-protocol": "amqp091",
                    "dest-uri": target.uri(user, password),
                    "dest-exchange": INBOUND_EXCHANGE.name,
                    "ack-mode": "on-confirm",
                    "dest-add-forward-headers": True,
                    # The broker checks user_id against the shovel's login: the receiver's proof of origin.
                    "dest-publish-properties": {"user_id": user},
                    "src-delete-after": "never",
                    "reconnect-delay": 5,
                },
            )
            names.append(name)
        for inst in hierarchy.instances:
            admin = admins[inst.management]
            for existing in admin.shovel_names(inst.id):
                if existing.startswith("doithoai-link-") and existing not in names:
                    admin.delete_shovel(inst.id, existing)
    finally:
        for admin in admins.values():
            admin.close()
    return names


def link_states(hierarchy: Hierarchy, creds: Credentials) -> dict[str, str]:
    """Shovel name → state (running, starting, terminated…) for every configured link."""
    admins = _admins(hierarchy, creds)
    try:
        states: dict[str, str] = {}
        for source, target in hierarchy.links():
            states[shovel_name(source.id, target.id)] = admins[source.management].shovel_state(
                source.id, shovel_name(source.id, target.id)
            )
        return states
    finally:
        for admin in admins.values():
            admin.close()


def load_credentials(path: Path) -> Credentials:
    """The credentials file; `${NAME}` in a value is taken from the environment (secrets stay in .env)."""
    import os
    import re

    text = path.read_text(encoding="utf-8")

    def expand(match: re.Match[str]) -> str:
        if match.group(1) not in os.environ:
            raise LinkError(f"{path}: {match.group(0)} is not set in the environment")
        return json.dumps(os.environ[match.group(1)])[1:-1]

    return Credentials(**json.loads(re.sub(r"\$\{(\w+)\}", expand, text)))


def _wait_for_management(hierarchy: Hierarchy, creds: Credentials, timeout_s: float = 120) -> None:
    """At start-up (compose) the brokers' management APIs may come a little after the brokers."""
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    for url in {i.management for i in hierarchy.instances}:
        while True:
            try:
                httpx.get(f"{url}/api/overview", auth=(creds.admin_user, creds.admin_password), timeout=5)
                break
            except httpx.HTTPError as exc:
                if time.monotonic() > deadline:
                    raise LinkError(f"management API {url} not reachable: {exc}") from exc
                time.sleep(2)


def main() -> int:
    """`python -m deploy.links {prepare,connect,status} --hierarchy H.yaml --credentials C.json`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["prepare", "connect", "status"])
    parser.add_argument("--hierarchy", type=Path, required=True, help="YAML list of instances")
    parser.add_argument(
        "--credentials",
        type=Path,
        required=True,
        help='JSON {"shovel": "…", "instances": {"<id>": "…"}, "admin_user": "…", "admin_password": "…"}',
    )
    args = parser.parse_args()
    hierarchy = Hierarchy.from_yaml(args.hierarchy)
    try:
        creds = load_credentials(args.credentials)
        _wait_for_management(hierarchy, creds)
        if args.action == "prepare":
            prepare(hierarchy, creds)
            print(f"vhosts, users and permissions ready for {len(hierarchy.instances)} instances")
        elif args.action == "connect":
            for name in connect(hierarchy, creds):
                print(f"shovel {name} configured")
        for name, state in link_states(hierarchy, creds).items():
            print(f"{name}: {state}")
    except LinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
