"""Which level has the authority to decide on each field (thẩm quyền), compared by level rank."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.events import LEVEL_RANKS
from shared.events.vocabulary import check_fields, check_level


class JurisdictionTable:
    def __init__(self, default: str, fields: dict[str, str]) -> None:
        for level in (default, *fields.values()):
            check_level(level)
        check_fields(list(fields))
        self.default = default
        self.fields = fields

    @classmethod
    def from_yaml(cls, path: Path) -> JurisdictionTable:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        try:
            return cls(data.get("default", "ward"), dict(data.get("fields") or {}))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def level_for(self, field: str) -> str:
        return self.fields.get(field, self.default)

    def within(self, level: str, field: str) -> bool:
        """Does an instance at `level` have the authority for `field`?"""
        return LEVEL_RANKS[level] >= LEVEL_RANKS[self.level_for(field)]
