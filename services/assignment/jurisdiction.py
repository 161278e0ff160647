"""Which level has the authority to decide on an opinion (thẩm quyền): by field, and within a field by the matters
that stay higher up (named by phrases of the opinion), compared by level rank; with the reason and the legal
basis written beside each rule, so that what a citizen and a parent are told says why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.events import LEVEL_RANKS
from shared.events.vocabulary import check_fields, check_level
from shared.text import mentions


@dataclass(frozen=True)
class Authority:
    level: str
    reason: str = ""
    basis: str = ""
    matched: str | None = None  # the phrase of the opinion that named a matter kept higher up

    @classmethod
    def parse(cls, spec: Any, where: str) -> Authority:
        if isinstance(spec, str):  # the short form: just a level
            return cls(check_level(spec))
        if not isinstance(spec, dict) or "level" not in spec:
            raise ValueError(f"{where}: give a level (commune, ward, province…), or level, reason and basis")
        return cls(check_level(spec["level"]), str(spec.get("reason") or ""), str(spec.get("basis") or ""))


@dataclass(frozen=True)
class FieldRule:
    authority: Authority
    above: Authority | None = None  # matters of the field that stay with a higher level
    phrases: tuple[str, ...] = ()


class JurisdictionTable:
    def __init__(self, default: Authority, fields: dict[str, FieldRule]) -> None:
        check_fields(list(fields))
        self.default = default
        self.fields = fields

    @classmethod
    def of_levels(cls, default: str, fields: dict[str, str]) -> JurisdictionTable:
        return cls(
            Authority(check_level(default)), {f: FieldRule(Authority(check_level(lv))) for f, lv in fields.items()}
        )

    @classmethod
    def from_yaml(cls, path: Path) -> JurisdictionTable:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        try:
            default = Authority.parse(data.get("default", "ward"), "default")
            fields = {}
            for code, spec in (data.get("fields") or {}).items():
                above, phrases = None, ()
                if isinstance(spec, dict) and spec.get("cap_tren"):
                    higher = spec["cap_tren"]
                    above = Authority.parse(higher, f"fields.{code}.cap_tren")
                    phrases = tuple(str(p) for p in higher.get("phrases") or [])
                    if not phrases:
                        raise ValueError(f"fields.{code}.cap_tren: list the phrases that name those matters")
                fields[code] = FieldRule(Authority.parse(spec, f"fields.{code}"), above, phrases)
            return cls(default, fields)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def authority(self, field: str, text: str = "") -> Authority:
        """Who decides on an opinion of `field` saying `text`, and why."""
        rule = self.fields.get(field)
        if rule is None:
            return self.default
        if rule.above is not None and text and (phrase := mentions(text, rule.phrases)):
            return Authority(rule.above.level, rule.above.reason, rule.above.basis, phrase)
        return rule.authority

    def level_for(self, field: str, text: str = "") -> str:
        return self.authority(field, text).level

    def within(self, level: str, field: str, text: str = "") -> bool:
        """Does an instance at `level` have the authority for this opinion?"""
        return LEVEL_RANKS[level] >= LEVEL_RANKS[self.level_for(field, text)]
