"""Vietnamese message templates (Jinja2): one file per notification type, with a subject, a body and
optionally a short `sms` block.

Operators override a template for their instance by putting a file of the same name in the
directory named by DOITHOAI_TEMPLATES_DIR; it is looked up before the built-in one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from shared.text import strip_marks

BUILT_IN = Path(__file__).parent / "templates"
SMS_LIMIT = 160  # one GSM-7 segment
# Characters outside GSM-7's basic table (they cost two places, or force UCS-2) to their plain neighbours.
GSM_SAFE = str.maketrans({"—": "-", "–": "-", "…": "...", "[": "(", "]": ")", "{": "(", "}": ")", "~": "-",
                          "^": "", "|": "/", "\\": "/", "“": '"', "”": '"', "‘": "'", "’": "'"})  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    sms: str  # the template's `sms` block, or the subject


@functools.cache
def _environment(override_dir: Path | None) -> Environment:
    """One Jinja environment per template directory, shared by the instances a process hosts: each template is
    compiled once per process, not once per instance (a file changed on disk is still read again)."""
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    loaders.append(FileSystemLoader(str(BUILT_IN)))
    # Plain-text mail: no HTML escaping. StrictUndefined: a missing variable is an error, not a blank.
    return Environment(
        loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


class Templates:
    def __init__(self, override_dir: Path | None = None) -> None:
        self.env = _environment(override_dir)

    def render(self, kind: str, variables: dict[str, Any]) -> Rendered:
        template = self.env.get_template(f"{kind}.j2")
        context = template.new_context(variables)
        subject = " ".join("".join(template.blocks["subject"](context)).split())
        body = "".join(template.blocks["body"](context)).strip() + "\n"
        sms = " ".join("".join(template.blocks["sms"](context)).split()) if "sms" in template.blocks else subject
        return Rendered(subject, body, one_segment(sms))


def one_segment(text: str) -> str:
    """An SMS as one GSM-7 segment: no diacritics anywhere (names and places included), at most 160 characters."""
    plain = strip_marks(text).translate(GSM_SAFE)
    plain = "".join(c if c.isascii() else "?" for c in plain)
    return plain if len(plain) <= SMS_LIMIT else plain[: SMS_LIMIT - 3].rstrip() + "..."
