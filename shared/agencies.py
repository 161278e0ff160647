"""The agency directory's records and its YAML seed, shared by assignment (routing) and notification (contacts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.events.opinions import AgencyRef
from shared.events.vocabulary import FieldCodes, Head, Level

DEFAULT_SEED = Path(__file__).parent / "config" / "agencies.yaml"

ChannelName = Literal["email", "webhook", "sms"]


class AgencyRecord(BaseModel):
    """One agency (cơ quan): what it handles and how to reach it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$", description="Mã cơ quan (chữ thường, số, '-').")
    name: str = Field(min_length=1, max_length=200, description="Tên cơ quan.")
    level: Level = Field(description="Cấp của cơ quan: ward, district, city…")
    fields: FieldCodes = Field(default_factory=list, description="Các lĩnh vực cơ quan xử lý.")
    default: bool = Field(default=False, description="Nhận các lĩnh vực không cơ quan nào nhận.")
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9]{8,15}$", description="Số điện thoại nhận SMS.")
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: str | None = Field(default=None, min_length=16, description="Khóa ký HMAC; không bao giờ trả ra.")
    channels: list[ChannelName] = Field(default_factory=lambda: ["email"], description="Kênh nhận thông báo.")
    active: bool = True

    @model_validator(mode="after")
    def _channels_have_contacts(self) -> AgencyRecord:
        needs = {"email": ("email",), "webhook": ("webhook_url", "webhook_secret"), "sms": ("phone",)}
        for channel in self.channels:
            missing = [f for f in needs[channel] if getattr(self, f) is None]
            if missing:
                raise ValueError(f"channel {channel!r} needs {', '.join(missing)}")
        return self

    def ref(self) -> AgencyRef:
        return AgencyRef(id=self.id, name=self.name, email=self.email)


class Official(BaseModel):
    """A person the instance writes to: a head, the announcement desk."""

    model_config = ConfigDict(extra="forbid")

    name: str
    email: EmailStr


class Seed(BaseModel):
    agencies: list[AgencyRecord]
    heads: dict[Head, Official] = Field(default_factory=dict)
    announcement_recipients: list[EmailStr] = Field(default_factory=list)


def _read(path: Path, instance_id: str) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8").replace("{instance}", instance_id)) or {}


def load_seed(path: Path, *, instance_id: str, level: str) -> list[AgencyRecord]:
    """Agencies of the YAML seed; `{instance}` in a value becomes the instance id."""
    return load_directory(path, instance_id=instance_id, level=level).agencies


def load_directory(path: Path, *, instance_id: str, level: str) -> Seed:
    """The whole seed: agencies, heads and where conference announcements go."""
    data = _read(path, instance_id)
    try:
        return Seed(
            agencies=[AgencyRecord(**{"level": level, **a}) for a in data.get("agencies") or []],
            heads=data.get("heads") or {},
            announcement_recipients=data.get("announcement_recipients") or [],
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
