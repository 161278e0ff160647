"""Contracts between linked instances: escalations up, their progress and answers down, summaries up.

They cross a level, so they carry what the other level needs and no more: never the citizen's
name, email or phone, which stay at the instance that received the opinion.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Base64Bytes, Field, computed_field, field_validator, model_validator

from shared.events.envelope import EventPayload
from shared.events.opinions import AnswerKind, Contract, known_field
from shared.events.vocabulary import Channel, Head, Level

HOP_LIMIT = 4
# The largest photo one link message carries (a stored photo is at most 2560 px a side: a phone's JPEG of that
# size is 1–2.5 MB; a bigger one is sent as a smaller JPEG). Base64 in JSON makes the message a third larger.
PHOTO_UP_MAX_BYTES = 3 * 1024 * 1024


class LinkEvent(EventPayload):
    from_instance: str = Field(description="Sending instance (a neighbour of the receiver).")
    to_instance: str = Field(description="Receiving instance.")


class EscalationRequestedV1(LinkEvent):
    """A child sends an opinion beyond its authority to its parent."""

    event_type = "escalation.requested.v1"

    opinion_id: str
    tracking_code: str
    origin_instance: str
    chain: list[str] = Field(
        min_length=1,
        max_length=HOP_LIMIT,
        description="Instances the opinion has been at, from the origin to the sender.",
    )
    field: str
    head: Head
    channel: Channel
    text: str = Field(min_length=1, max_length=5000)
    address: str | None = Field(default=None, max_length=500)
    submitted_at: AwareDatetime
    reason: str = Field(max_length=1000)
    requested_at: AwareDatetime

    _field = field_validator("field")(known_field)

    @model_validator(mode="after")
    def _chain_shape(self) -> EscalationRequestedV1:
        if self.chain[0] != self.origin_instance:
            raise ValueError(f"chain must start at the origin {self.origin_instance!r}, not {self.chain[0]!r}")
        if self.chain[-1] != self.from_instance:
            raise ValueError(f"chain must end at the sender {self.from_instance!r}, not {self.chain[-1]!r}")
        if len(set(self.chain)) != len(self.chain) or self.to_instance in self.chain:
            raise ValueError(f"chain {self.chain} + {self.to_instance!r} would be a loop")
        return self


class EscalationMediaAddedV1(LinkEvent):
    """A photo of an escalated opinion, for the level above: one message per photo, sent when the opinion goes up
    and for each photo added after that, and on again if that level sends the opinion further up.

    Only the picture crosses: re-encoded without EXIF where it was received, without the file name or the position
    read from it, never who sent it. The receiver checks it again, keeps it once (by `media_id`) with its copy of
    the opinion and makes its own thumbnail."""

    event_type = "escalation.media_added.v1"

    opinion_id: str
    tracking_code: str
    origin_instance: str
    media_id: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="The photo's id where it was received: the same photo sent twice is kept once.",
    )
    data: Annotated[Base64Bytes, Field(min_length=1, max_length=PHOTO_UP_MAX_BYTES)] = Field(
        description=f"The photo (JPEG, PNG or WebP), base64; at most {PHOTO_UP_MAX_BYTES} bytes decoded."
    )
    added_by: Literal["citizen", "staff", "agency", "open311"] = Field(
        description="Who attached it, as a kind (never a name): the citizen, staff, an agency or an Open311 client."
    )
    added_at: AwareDatetime


class EscalationProgress(LinkEvent):
    opinion_id: str
    tracking_code: str
    holder_instance: str = Field(description="Instance that holds the opinion now.")
    holder_name: str
    holder_level: Level


class EscalationAcknowledgedV1(EscalationProgress):
    """The level above took the opinion on: this agency answers, by this date."""

    event_type = "escalation.acknowledged.v1"

    agency_name: str
    due_at: AwareDatetime
    acknowledged_at: AwareDatetime


class EscalationForwardedV1(EscalationProgress):
    """The level above sent the opinion further up (the holder is the instance it went to)."""

    event_type = "escalation.forwarded.v1"

    reason: str
    forwarded_at: AwareDatetime


class EscalationAnsweredV1(EscalationProgress):
    """The level above answered the opinion."""

    event_type = "escalation.answered.v1"

    kind: AnswerKind
    text: str = Field(min_length=1, max_length=20000)
    answered_by: str
    document_number: str | None = None
    answered_at: AwareDatetime


class Figures(Contract):
    """Counts for one instance over one period: what reports are made of.

    `received` counts dialogue opinions received from citizens here; complaints and denunciations
    redirected to their own procedure are counted apart (`redirected`), not as dialogue opinions.
    `cube` holds the counts by channel, answering head and outcome together (keys
    "channel|head|outcome"), so any cross-table (e.g. direct opinions on Party building answered
    on the spot) can be read; `answer_days` is a histogram of days from receipt to answer, which
    adds up across instances (medians do not).
    """

    conferences: int = Field(default=0, description="Conferences held in the period.")
    received: int = 0
    redirected: int = Field(default=0, description="Complaints and denunciations sent to their own procedure.")
    by_channel: dict[str, int] = Field(default_factory=dict)
    by_field: dict[str, int] = Field(default_factory=dict)
    by_head: dict[str, int] = Field(default_factory=dict)
    by_outcome: dict[str, int] = Field(default_factory=dict)
    cube: dict[str, int] = Field(default_factory=dict, description='"channel|head|outcome" → count.')
    escalated_to: dict[str, int] = Field(default_factory=dict, description="Escalated opinions by final level.")
    on_time: int = 0
    overdue: int = 0
    answer_days: dict[str, int] = Field(default_factory=dict, description="Days to answer → count.")
    handled_for_children: int = Field(default=0, description="Opinions escalated here from the levels below.")
    attendance: int = Field(default=0, description="People present at the conferences, as recorded at closing.")
    speakers: int = Field(default=0, description="People who spoke at them, as recorded at closing.")
    conferences_late: int = Field(default=0, description="Conferences held after the deadline set from above.")
    units: int = Field(default=0, description="Units whose figures these are (this one and those below).")
    units_held: int = Field(default=0, description="Of those, units that held at least one conference.")
    field_corrections: int = Field(default=0, description="Opinions whose field staff corrected after the rules.")
    merged: int = Field(
        default=0, description="Opinions merged into another raising the same matter (in `received`, not in matters)."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def matters(self) -> int:
        """Matters raised (nội dung): opinions received (lượt ý kiến) less those merged into another."""
        return self.received - self.merged

    def count(self, channel: str | None = None, head: str | None = None, outcome: str | None = None) -> int:
        """How many dialogue opinions match the given channel, head and outcome (None: any)."""
        total = 0
        for key, n in self.cube.items():
            c, h, o = key.split("|")
            if (channel in (None, c)) and (head in (None, h)) and (outcome in (None, o)):
                total += n
        return total

    def answer_quantile(self, q: float) -> int | None:
        """Days within which a share `q` of the answered opinions were answered."""
        days = sorted((int(d), n) for d, n in self.answer_days.items())
        total = sum(n for _, n in days)
        if total == 0:
            return None
        seen = 0
        for day, n in days:
            seen += n
            if seen >= q * total:
                return day
        return days[-1][0]


class Summary(Contract):
    """An instance's figures and, recursively, those of the levels below it."""

    instance: str
    name: str
    level: str
    period: str
    generated_at: AwareDatetime
    own: Figures
    children: list[Summary] = Field(default_factory=list)

    def total(self) -> Figures:
        return add_figures([self.own, *(c.total() for c in self.children)])


_SUMMED = (
    "conferences", "received", "redirected", "on_time", "overdue", "handled_for_children", "attendance", "speakers",
    "conferences_late", "units", "units_held", "field_corrections", "merged",
)  # fmt: skip
_MERGED = ("by_channel", "by_field", "by_head", "by_outcome", "cube", "escalated_to", "answer_days")


def add_figures(items: list[Figures]) -> Figures:
    def merge(dicts: list[dict[str, int]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in dicts:
            for k, v in d.items():
                out[k] = out.get(k, 0) + v
        return out

    fields: dict[str, Any] = {name: sum(getattr(f, name) for f in items) for name in _SUMMED}
    for name in _MERGED:
        fields[name] = merge([getattr(f, name) for f in items])
    return Figures(**fields)


class SummaryReportedV1(LinkEvent):
    """A child's period summary, sent up on schedule or on demand."""

    event_type = "summary.reported.v1"

    summary: Summary
    sequence: int = Field(
        default=0,
        ge=0,
        description="The sender's count of reports of this period: a newer one (higher) replaces an older one.",
    )
