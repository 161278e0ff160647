"""Settings every service shares: which instance this is, where its broker and database live."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.agencies import seed_for
from shared.events.vocabulary import LEVEL_RANKS, Level

Role = Literal["front", "secretary", "head", "agency", "operator", "portal"]
# `portal`: the console submitting a citizen's own opinion (no account): online submissions only.
# Roles whose holder works for the whole instance; `agency` alone is bound to one agency.
INSTANCE_WIDE_ROLES: frozenset[str] = frozenset({"front", "secretary", "head", "operator"})
# Placeholders of deploy/secrets/api_keys.example.json: a key file copied unchanged is refused.
EXAMPLE_KEY_PREFIX = "replace-with-"


class KeyHolder(BaseModel):
    """Who holds an API key: their roles, their scope, and a name for the audit trail.

    A key of the `agency` role belongs to one agency of the directory (`agency_id`) and reaches only
    what is addressed to it; `instance`, when given, must be the instance that loads the key.
    """

    model_config = ConfigDict(extra="forbid")

    role: Role | None = Field(default=None, description="One role (or use `roles`).")
    roles: list[Role] = Field(default_factory=list, description="Several roles held together.")
    name: str | None = Field(default=None, max_length=200, description='E.g. "Nguyễn Thị Thư, thư ký".')
    agency_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    instance: str | None = Field(default=None, description="The instance this key belongs to.")

    @model_validator(mode="after")
    def _scope(self) -> KeyHolder:
        if self.role is not None and self.role not in self.roles:
            self.roles = [self.role, *self.roles]
        if not self.roles:
            raise ValueError("a key needs a role: front, secretary, head, agency or operator")
        self.role = self.roles[0]
        if "agency" in self.roles and self.agency_id is None:
            raise ValueError("a key of the agency role needs agency_id: the agency of the directory it belongs to")
        if self.agency_id is not None and "agency" not in self.roles:
            raise ValueError("agency_id is only for keys of the agency role")
        return self


def _holder(value: Role | KeyHolder) -> KeyHolder:
    return KeyHolder(role=value) if isinstance(value, str) else value


INSTANCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")


def check_instance_id(value: str) -> str:
    if not INSTANCE_ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid instance id: use 2-41 lowercase letters, digits or '-'")
    return value


_API_KEYS = TypeAdapter(dict[str, Role | KeyHolder])


class ServiceSettings(BaseSettings):
    """Read from `DOITHOAI_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="DOITHOAI_", env_file=".env", extra="ignore")

    instance_id: str = Field(
        default="phuong-bo-de",
        description="Short id of this deployment; names its vhost, databases and tracking codes.",
    )
    instance_name: str = Field(default="Phường Bồ Đề", description="Name shown to people.")
    level: Level = Field(
        default="ward",
        description="Administrative level of this deployment: " + ", ".join(LEVEL_RANKS) + ".",
    )
    parent_id: str | None = Field(default=None, description="Instance id of the level above, if any.")
    parent_name: str | None = Field(default=None, description="Name of the level above, shown to people.")
    parent_level: Level | None = Field(default=None, description="Level of the level above (needed with a parent).")
    child_ids: list[str] = Field(
        default_factory=list, description="Instance ids of the levels below that may escalate here (JSON list)."
    )

    broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/phuong-bo-de",
        description="AMQP URL including this instance's vhost.",
    )
    broker_password_file: Path | None = Field(
        default=None,
        description="File holding the password of the broker URL's user (it replaces one in the URL); preferred.",
    )
    mongo_url: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB URL.")

    http_host: str = "127.0.0.1"
    http_port: int = 8100

    api_keys: dict[str, Role | KeyHolder] = Field(
        default_factory=dict,
        description=(
            'JSON object: API key → role, or → {"role": …, "name": …, "agency_id": …, "instance": …}, '
            'e.g. {"k1": "front", "k2": {"role": "agency", "agency_id": "phong-kinh-te"}}. '
            "A key of the agency role needs agency_id."
        ),
    )
    api_keys_file: Path | None = Field(
        default=None, description="File holding the same JSON object; preferred for secrets."
    )
    console_public_key: str | None = Field(
        default=None,
        description=(
            "PEM public key(s) of this instance's console: a person's short-lived token signed by it is "
            "believed (who, roles, scope). Several keys, one after another, while a key is rotated."
        ),
    )
    console_public_key_file: Path | None = Field(default=None, description="File holding the console's public key(s).")

    public_rate_per_minute: int = Field(
        default=60,
        ge=0,
        description=(
            "Requests a minute each client address may make to the public endpoints (tracking, Open311, "
            "acknowledgement links); 0 = no limit."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses of the reverse proxies in front of this service (JSON list). Only from them is "
            "X-Forwarded-For believed; from anyone else it is ignored, so it cannot dodge the rate limits."
        ),
    )

    console_url: str = Field(
        default="http://127.0.0.1:8105",
        description="The instance's console as people reach it: the links in mails and documents lead there.",
    )

    agencies_seed: Path | None = Field(
        default=None,
        description=(
            "YAML agency directory loaded at start where the database has none of them yet; by default the "
            "built-in one of the instance's level (shared/config/agencies/<commune|ward|district|province>.yaml)."
        ),
    )

    def agency_seed(self) -> Path:
        return self.agencies_seed or seed_for(self.level)

    publish_timeout_s: float = Field(default=10.0, gt=0)
    prefetch: int = Field(default=32, ge=1)
    handler_attempts: int = Field(
        default=5,
        ge=1,
        description="Tries of a transient failure inside one delivery before it goes back to the queue.",
    )
    outbox_interval_s: float = Field(default=2.0, gt=0, description="How often the outbox relay looks.")
    outbox_sweep_s: float = Field(
        default=0.0,
        ge=0,
        description=(
            "How often the relay reads the database when this process published everything it saved "
            "(0: at every look). Left behind by a process that died: found by the next sweep of any "
            "process of the instance, or at its own start."
        ),
    )
    outbox_grace_s: float = Field(
        default=5.0, ge=0, description="Age before the relay republishes an event not yet marked sent."
    )
    monitor_interval_s: float = Field(default=15.0, gt=0, description="How often queue depths refresh.")
    gauge_interval_s: float = Field(
        default=60.0, gt=0, description="How often gauges counted in the database (open, overdue) refresh."
    )
    test_clock_file: Path | None = Field(
        default=None, description="Tests only: a file holding seconds to add to the clock, shared by processes."
    )
    log_json: bool = False
    log_level: str = "INFO"

    @field_validator("instance_id", "parent_id")
    @classmethod
    def _instance_id_shape(cls, value: str | None) -> str | None:
        return value if value is None else check_instance_id(value)

    @field_validator("child_ids")
    @classmethod
    def _child_ids_shape(cls, value: list[str]) -> list[str]:
        return [check_instance_id(child) for child in value]

    @model_validator(mode="after")
    def _neighbours_make_sense(self) -> ServiceSettings:
        if self.parent_id == self.instance_id or self.instance_id in self.child_ids:
            raise ValueError("an instance cannot be its own parent or child")
        if self.parent_id is not None and self.parent_id in self.child_ids:
            raise ValueError(f"{self.parent_id} cannot be both parent and child")
        if self.parent_id is not None and self.parent_level is None:
            raise ValueError(f"parent {self.parent_id} needs DOITHOAI_PARENT_LEVEL (e.g. district or city)")
        if self.parent_level is not None and LEVEL_RANKS[self.parent_level] <= LEVEL_RANKS[self.level]:
            raise ValueError(f"the parent's level {self.parent_level!r} must be above this level {self.level!r}")
        return self

    @property
    def neighbours(self) -> list[str]:
        """The instances this one has links with."""
        return ([self.parent_id] if self.parent_id else []) + list(self.child_ids)

    @model_validator(mode="after")
    def _load_broker_password_file(self) -> ServiceSettings:
        if self.broker_password_file is not None:
            try:
                password = quote(self.broker_password_file.read_text(encoding="utf-8").strip(), safe="")
            except OSError as exc:
                raise ValueError(f"the broker password file cannot be read: {exc}") from exc
            url = urlsplit(self.broker_url)
            userinfo, _, host = url.netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            self.broker_url = urlunsplit(url._replace(netloc=f"{user}:{password}@{host}"))
        return self

    @model_validator(mode="after")
    def _load_api_keys_file(self) -> ServiceSettings:
        if self.api_keys_file is not None:
            keys = _API_KEYS.validate_json(self.api_keys_file.read_bytes())
            self.api_keys = {**self.api_keys, **keys}
        self.api_keys = {key: _holder(value) for key, value in self.api_keys.items()}
        for key, holder in self.api_keys.items():
            if key.startswith(EXAMPLE_KEY_PREFIX):
                raise ValueError(
                    "the API key file still holds the example keys (replace-with-…): put long random keys in it"
                )
            if len(key) < 8:
                raise ValueError(f"API key of {holder.name or holder.role} is too short: use at least 8 characters")
            if holder.instance is not None and holder.instance != self.instance_id:
                raise ValueError(
                    f"an API key of instance {holder.instance!r} was given to {self.instance_id!r}: "
                    "each instance has keys of its own"
                )
        return self

    def console_keys(self) -> list[str]:
        """The console's public keys (PEM), from the setting and the file; none: tokens are refused."""
        text = (self.console_public_key or "") + "\n"
        if self.console_public_key_file is not None:
            text += self.console_public_key_file.read_text(encoding="utf-8")
        marker = "-----END PUBLIC KEY-----"
        return [part.strip() + "\n" + marker + "\n" for part in text.split(marker) if part.strip()]

    def database_name(self, service: str) -> str:
        """One database per service per instance."""
        return f"{self.instance_id.replace('-', '_')}_{service}"
