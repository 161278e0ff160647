"""Classifying an opinion by field and answering head from a keyword rule table.

Vietnamese is matched with its diacritics when the text has them ("đất" is not "đặt"), and
without them when the citizen typed without accents ("dat dai"), always case-insensitively.
Longer phrases weigh more than single words; the field with the highest score wins, ties go to
the field listed first. A field or head chosen by the person who entered the opinion wins over
the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.events import FIELDS, OTHER_FIELD, Head
from shared.text import fold_case, has_marks, strip_marks


@dataclass(frozen=True)
class Rule:
    field: str
    head: Head
    keywords: tuple[str, ...]  # fold_case'd, unpadded


@dataclass(frozen=True)
class Classification:
    field: str
    head: Head
    method: str  # submitted | rules | default
    matched_keywords: tuple[str, ...] = ()


# Words of a complaint or denunciation (khiếu nại, tố cáo), which follow their own procedure: the
# secretary is shown the hint and decides whether to redirect.
_COMPLAINT_WORDS = (" khiếu nại ", " tố cáo ", " đơn khiếu nại ", " đơn tố cáo ", " khiếu kiện ")


def looks_like_complaint(text: str) -> bool:
    folded = fold_case(text)
    if has_marks(folded):
        return any(w in folded for w in _COMPLAINT_WORDS)
    return any(strip_marks(w) in folded for w in _COMPLAINT_WORDS)


class RuleTable:
    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def from_yaml(cls, path: Path) -> RuleTable:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rules = []
        for code, spec in (data.get("fields") or {}).items():
            if code not in FIELDS:
                raise ValueError(f"{path}: unknown field code {code!r}; known codes: {', '.join(FIELDS)}")
            head = Head(spec["head"]) if spec.get("head") else FIELDS[code].head
            keywords = tuple(fold_case(k).strip() for k in spec.get("keywords") or [])
            rules.append(Rule(code, head, keywords))
        return cls(rules)

    def classify(self, text: str, *, field: str | None = None, head: Head | None = None) -> Classification:
        if field is not None:
            return Classification(field, head or self.head_for(field), "submitted")
        folded = fold_case(text)
        accented = has_marks(folded)
        haystack = folded if accented else strip_marks(folded)
        best: tuple[int, Rule, tuple[str, ...]] | None = None
        for rule in self.rules:
            matched = tuple(k for k in rule.keywords if f" {k if accented else strip_marks(k)} " in haystack)
            score = sum(len(k.split()) for k in matched)
            if score and (best is None or score > best[0]):
                best = (score, rule, matched)
        if best is None:
            return Classification(OTHER_FIELD, head or self.head_for(OTHER_FIELD), "default")
        _, rule, matched = best
        return Classification(rule.field, head or rule.head, "rules", matched)

    def head_for(self, field: str) -> Head:
        for rule in self.rules:
            if rule.field == field:
                return rule.head
        return FIELDS[field].head
