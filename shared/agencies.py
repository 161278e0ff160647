"""The agency directory's records and its YAML seed, shared by assignment (routing) and notification (contacts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.events.opinions import AgencyRef
from shared.events.vocabulary import FieldCodes, Head, Level
from shared.units import KIND_OF_LEVEL, PARTY_COMMITTEE

SEEDS = Path(__file__).parent / "config" / "agencies"
# The built-in directory of each level: a commune's offices are not a ward's, nor a province's departments.
SEED_OF_LEVEL = {
    "commune": "commune",
    "special_zone": "commune",
    "township": "commune",
    "ward": "ward",
    "district": "district",
    "town": "district",
    "province": "province",
    "city": "province",
}


def seed_for(level: str) -> Path:
    """The built-in directory seed of a level."""
    return SEEDS / f"{SEED_OF_LEVEL[level]}.yaml"


DEFAULT_SEED = seed_for("ward")

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


class Reception(BaseModel):
    """Where a citizen takes a complaint or denunciation (tiếp công dân), told when an opinion is redirected."""

    model_config = ConfigDict(extra="forbid")

    name: str
    place: str
    hours: str
    basis: str


class Seed(BaseModel):
    agencies: list[AgencyRecord]
    heads: dict[Head, Official] = Field(default_factory=dict)
    announcement_recipients: list[EmailStr] = Field(default_factory=list)
    reception: Reception | None = None


def _read(path: Path, instance_id: str, level: str) -> dict[str, Any]:
    kind = KIND_OF_LEVEL.get(level, "xã")
    words = {"{instance}": instance_id, "{kind}": kind, "{party}": PARTY_COMMITTEE.get(kind, f"Đảng ủy {kind}")}
    text = path.read_text(encoding="utf-8")
    for placeholder, value in words.items():
        text = text.replace(placeholder, value)
    return yaml.safe_load(text) or {}


def load_seed(path: Path, *, instance_id: str, level: str) -> list[AgencyRecord]:
    """Agencies of the YAML seed; `{instance}` in a value becomes the instance id."""
    return load_directory(path, instance_id=instance_id, level=level).agencies


def load_directory(path: Path, *, instance_id: str, level: str) -> Seed:
    """The whole seed: agencies, heads, where conference announcements go, the citizen reception desk."""
    data = _read(path, instance_id, level)
    try:
        return Seed(
            agencies=[AgencyRecord(**{"level": level, **a}) for a in data.get("agencies") or []],
            heads=data.get("heads") or {},
            announcement_recipients=data.get("announcement_recipients") or [],
            reception=data.get("reception"),
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
