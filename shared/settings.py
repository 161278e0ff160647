"""Settings every service shares: which instance this is, where its broker and database live."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, TypeAdapter, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["front", "agency", "operator"]

INSTANCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
_API_KEYS = TypeAdapter(dict[str, Role])


class ServiceSettings(BaseSettings):
    """Read from `DOITHOAI_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="DOITHOAI_", env_file=".env", extra="ignore")

    instance_id: str = Field(
        default="phuong-thuy-luong",
        description="Short id of this deployment; names its vhost, databases and tracking codes.",
    )
    instance_name: str = Field(default="Phường Thủy Lương", description="Name shown to people.")
    level: str = Field(
        default="ward",
        description="Administrative level of this deployment (ward, commune, district, city, ...).",
    )
    parent_id: str | None = Field(default=None, description="Instance id of the level above, if any.")

    broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/phuong-thuy-luong",
        description="AMQP URL including this instance's vhost.",
    )
    mongo_url: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB URL.")

    http_host: str = "127.0.0.1"
    http_port: int = 8100

    api_keys: dict[str, Role] = Field(
        default_factory=dict,
        description='JSON object mapping API key to role, e.g. {"k1": "front"}.',
    )
    api_keys_file: Path | None = Field(
        default=None, description="File holding the same JSON object; preferred for secrets."
    )

    publish_timeout_s: float = Field(default=10.0, gt=0)
    delivery_limit: int = Field(default=10, ge=1, description="Deliveries of one message before it is dead-lettered.")
    prefetch: int = Field(default=32, ge=1)
    outbox_interval_s: float = Field(default=2.0, gt=0, description="How often the outbox relay looks.")
    outbox_grace_s: float = Field(
        default=5.0, ge=0, description="Age before the relay republishes an event not yet marked sent."
    )
    log_json: bool = False
    log_level: str = "INFO"

    @field_validator("instance_id", "parent_id")
    @classmethod
    def _instance_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not INSTANCE_ID_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a valid instance id: use 2-41 lowercase letters, digits or '-'")
        return value

    @model_validator(mode="after")
    def _load_api_keys_file(self) -> ServiceSettings:
        if self.api_keys_file is not None:
            keys = _API_KEYS.validate_json(self.api_keys_file.read_bytes())
            self.api_keys = {**self.api_keys, **keys}
        return self

    def database_name(self, service: str) -> str:
        """One database per service per instance."""
        return f"{self.instance_id.replace('-', '_')}_{service}"
