"""Assignment's part in a conference: the chairs' dossiers; the documents an office files (minutes, the heads'
conclusion notices and each agency's extract, the plan, the public announcement, the invitation), numbered
in the instance's register and never silently missing; and the Fatherland Front's supervision view.

Assignment keeps a copy of each conference (from `conference.updated.v1`) and knows every opinion
attached to it, with its field, head, agency, deadline and outcome. Dossiers and documents have ids that
say what they are and are inserted once with their events in the outbox, and a document's number is
reserved under its id, so a redelivered trigger or a retry produces nothing twice and takes no new number.

A document that cannot be produced (a rendering or storing error that is not a passing outage) is recorded
against its conference with the reason, logged as an ERROR and counted (`doithoai_documents_missing`); the
documents list shows it as missing; a loop retries it, and an operator or the secretary can retry at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.assignment.documents import (
    ISSUER_OF_HEAD,
    Documents,
    Issuer,
    Signature,
    clock_time,
    issuers,
    local,
    long_date,
    short_date,
    weekday,
)
from services.assignment.domain import Status
from services.assignment.repository import AssignmentRepository
from shared.clock import Clock
from shared.domain import Aggregate, Story
from shared.events import (
    FIELDS,
    AgencyRef,
    Channel,
    ConclusionIssuedV1,
    Conference,
    ConferenceDossierDueV1,
    ConferenceDossierV1,
    ConferenceResultsV1,
    ConferenceUpdatedV1,
    Envelope,
    Head,
)
from shared.events.conferences import ConclusionItem, DossierItem
from shared.messaging.consumer import TRANSIENT_ERRORS
from shared.observability import metrics
from shared.similarity import group_alike, signature
from shared.storage.mongo import document
from shared.units import PARTY_COMMITTEE, Unit

log = logging.getLogger(__name__)


def category(doc: dict[str, Any]) -> str:
    """on_the_spot, written or escalated: how the minutes count an opinion."""
    if doc["status"] == Status.ESCALATED:
        return "escalated"
    answer = doc.get("answer") or {}
    if doc["status"] == Status.ANSWERED and answer.get("kind") == "on_the_spot" and not doc.get("holder"):
        return "on_the_spot"
    return "written"


def outcome(doc: dict[str, Any]) -> str:
    """on_the_spot, written, off_topic (a written answer to a question outside the topic) or escalated."""
    kind = category(doc)
    if kind == "written" and (doc.get("promise") or {}).get("off_topic"):
        return "off_topic"
    return kind


def supervision_status(doc: dict[str, Any], now: datetime) -> str:
    """answered_on_time, answered_late, overdue or pending."""
    if doc["status"] == Status.ANSWERED:
        return "answered_on_time" if doc["answer"].get("on_time", True) else "answered_late"
    return "overdue" if doc.get("due_at") and doc["due_at"] < now else "pending"


Settle = Callable[[Conference], Awaitable[int]]
Numbered = tuple[int, datetime]  # a document's number in its register, and when it was taken (its date)

KIND_LABELS = {
    "minutes": "Biên bản hội nghị",
    "conclusion": "Thông báo kết luận",
    "conclusion_notice": "Trích thông báo kết luận gửi cơ quan",
    "plan": "Kế hoạch tổ chức hội nghị",
    "announcement": "Thông báo tổ chức hội nghị",
    "invitation": "Giấy mời",
}
# kind → (type code in the number, type name on the document, label)
PAPERS = {
    "plan": ("KH", "KẾ HOẠCH", "Kế hoạch tổ chức hội nghị"),
    "announcement": ("TB", "THÔNG BÁO", "Thông báo tổ chức hội nghị"),
    "invitation": ("GM", "GIẤY MỜI", "Giấy mời dự hội nghị"),
}
PAPER_SLUGS = {"plan": "ke-hoach", "announcement": "thong-bao", "invitation": "giay-moi"}
SLUGS = {"party": "dang-uy", "council": "hdnd", "committee": "ubnd"}
HEAD_OF_ISSUER = {issuer: head for head, issuer in ISSUER_OF_HEAD.items()}
HEAD_ORDER = (Head.PARTY_SECRETARY, Head.COUNCIL_CHAIR, Head.COMMITTEE_CHAIR)
OUTCOME_ORDER = ("on_the_spot", "written", "off_topic", "escalated")
OUTCOME_SHORT = {
    "on_the_spot": "Trả lời trực tiếp tại hội nghị",
    "written": "Trả lời bằng văn bản",
    "off_topic": "Ngoài nội dung hội nghị, trả lời riêng bằng văn bản",
    "escalated": "Chuyển cấp có thẩm quyền",
}
# What a conclusion asks of the agency when the secretary has not worded the task.
DEFAULT_TASKS = {
    "written": "Xem xét, giải quyết theo thẩm quyền và trả lời bằng văn bản cho người nêu ý kiến",
    "off_topic": "Xem xét, trả lời riêng bằng văn bản cho người nêu ý kiến (nội dung ngoài chương trình hội nghị)",
}
LETTERS = "abcdđeghiklmnopqrstuvxy"


def _alike(opinions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Within each field, the opinions raising one matter (merged by staff, or alike to the duplicate finder):
    code → (the group's first code, why); the dossier shows them together ("3 ý kiến cùng tổ dân phố 5")."""
    found: dict[str, tuple[str, str]] = {}
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in opinions:
        by_field[d["field"]].append(d)
    for docs in by_field.values():
        items = [(d["tracking_code"], signature(d["text"])) for d in docs]
        linked = [(d["merged_into"]["tracking_code"], d["tracking_code"]) for d in docs if d.get("merged_into")]
        for codes, reasons in group_alike(items, linked):
            label = f"{len(codes)} ý kiến " + ("; ".join(reasons) if reasons else "đã gộp, cùng nội dung")
            found |= {code: (codes[0], label) for code in codes}
    return found


class PaperRefused(Exception):
    """No plan, announcement or invitation for a conference in this state (cancelled)."""


def _lower(text: str) -> str:
    """The first letter in lower case, acronyms kept: "hoạt động HĐND"."""
    return text[:1].lower() + text[1:]


def _head(doc: dict[str, Any]) -> Head:
    try:
        return Head(doc["head"])
    except (KeyError, ValueError):
        return Head.COMMITTEE_CHAIR


@dataclass(frozen=True)
class Item:
    """An opinion as the documents number it ("ý kiến số 5"), with its outcome and the body that concluded."""

    no: int
    doc: dict[str, Any]
    outcome: str
    issuer: str


@dataclass
class Facts:
    """What the documents of a concluded conference say, computed once from its opinions."""

    items: list[Item]
    counts: dict[str, int]
    tasks: dict[str, str]

    @classmethod
    def of(cls, conference: Conference, opinions: list[dict[str, Any]], tasks: dict[str, str]) -> Facts:
        counted = [d for d in opinions if d["status"] != Status.REDIRECTED]
        ordered = sorted(counted, key=lambda d: (HEAD_ORDER.index(_head(d)), OUTCOME_ORDER.index(outcome(d))))
        items = [Item(n, d, outcome(d), ISSUER_OF_HEAD[_head(d)]) for n, d in enumerate(ordered, start=1)]
        channels = [d["channel"] for d in counted]
        outcomes = [i.outcome for i in items]
        before, direct = channels.count(Channel.FRONT_COLLECTED), channels.count(Channel.DIRECT)
        counts = {
            "counted": len(counted),
            "before": before,
            "direct": direct,
            "other": len(counted) - before - direct,
            "on_the_spot": outcomes.count("on_the_spot"),
            "written": outcomes.count("written") + outcomes.count("off_topic"),
            "off_topic": outcomes.count("off_topic"),
            "escalated": outcomes.count("escalated"),
            "redirected": len(opinions) - len(counted),
        }
        return cls(items, counts, tasks)

    def by_head(self) -> list[tuple[Head, list[Item]]]:
        groups: dict[Head, list[Item]] = defaultdict(list)
        for item in self.items:
            groups[_head(item.doc)].append(item)
        return [(head, groups[head]) for head in HEAD_ORDER if groups.get(head)]

    @property
    def concluded(self) -> list[Item]:
        """What the conclusions give an agency to do: written answers promised (or owed) with a deadline."""
        return [
            i
            for i in self.items
            if i.outcome in ("written", "off_topic") and i.doc.get("agency") and i.doc.get("due_at")
        ]

    @property
    def conclusions(self) -> dict[str, dict[str, list[Item]]]:
        """Body (party, council, committee) → agency id → its items."""
        out: dict[str, dict[str, list[Item]]] = defaultdict(lambda: defaultdict(list))
        for item in self.concluded:
            out[item.issuer][item.doc["agency"]["id"]].append(item)
        return out

    @property
    def by_agency(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = defaultdict(list)
        for item in self.concluded:
            out[item.doc["agency"]["id"]].append(item)
        return out

    def task(self, item: Item) -> str:
        return (self.tasks.get(item.doc["tracking_code"]) or DEFAULT_TASKS[item.outcome]).rstrip(". ")


class ConferenceDesk:
    def __init__(
        self,
        repository: AssignmentRepository,
        documents: Documents,
        *,
        clock: Clock,
        unit: Unit,
        console_url: str,
        settle: Settle,
        release: Settle,
        heads: dict[Head, str] | None = None,
        parent: Unit | None = None,
        retry_every_s: float = 300.0,
    ) -> None:
        """`heads`: the heads' names from the directory (they sign); `parent`: the unit above (the Party
        committee above is named on the Party's documents); `retry_every_s`: how often documents that could
        not be produced are tried again."""
        self.repository = repository
        self.documents = documents
        self.clock = clock
        self.unit = unit
        self.console_url = console_url.rstrip("/")
        self.settle = settle
        self.release = release
        self.heads = dict(heads or {})
        self.issuers = issuers(unit, self.heads, parent)
        self.retry_every_s = retry_every_s

    async def keep(self, event: Envelope[ConferenceUpdatedV1]) -> None:
        p = event.payload
        conference = p.conference
        if await self.repository.keep_conference(
            conference.conference_id, p.version, {"snapshot": document(conference)}
        ):
            await self.repository.count_on_conference_day(conference.conference_id, conference.starts_at)
        if p.change == "concluded":
            settled = await self.settle(conference)
            log.info("conference %s concluded: %d opinion(s) left for a written answer", conference.conference_id,
                     settled)  # fmt: skip
            await self.conclude(conference, event)
        elif p.change == "cancelled":
            released = await self.release(conference)
            log.info("conference %s cancelled: %d opinion(s) placed as received outside a conference",
                     conference.conference_id, released)  # fmt: skip

    async def conference(self, conference_id: str) -> Conference | None:
        doc = await self.repository.conference(conference_id)
        return Conference(**doc["snapshot"]) if doc else None

    # ---- before: each chair's dossier ----------------------------------------------------------

    async def send_dossiers(self, event: Envelope[ConferenceDossierDueV1]) -> int:
        """Each chair's dossier (round 1), then what arrived since (round 2, just before the conference); a
        dossier with nothing new is not sent."""
        p = event.payload
        conference = await self.conference(p.conference_id)
        if conference is None or conference.status.value in ("cancelled", "postponed", "concluded"):
            log.info("no dossier for conference %s (%s)", p.conference_id, conference and conference.status)
            return 0
        opinions = [d for d in await self.repository.of_conference(conference.conference_id)
                    if d["status"] != Status.REDIRECTED]  # fmt: skip
        sent = 0
        for head in conference.chairs:
            already = await self.repository.dossiers_sent(conference.conference_id, head.value)
            mine = [d for d in opinions if d["head"] == head and d["tracking_code"] not in already]
            if not mine:
                continue
            alike = _alike(mine)
            groups: dict[str, list[DossierItem]] = defaultdict(list)
            for d in mine:
                group, label = alike.get(d["tracking_code"], (None, None))
                groups[d["field"]].append(
                    DossierItem(tracking_code=d["tracking_code"], field=d["field"], channel=d["channel"],
                                text=d["text"], group=group, group_label=label)
                )  # fmt: skip
            dossier = Aggregate()
            dossier.record(
                ConferenceDossierV1(
                    conference_id=conference.conference_id,
                    title=conference.title,
                    starts_at=conference.starts_at,
                    venue=conference.venue,
                    head=head,
                    groups=dict(groups),
                    round=p.round,
                ),
                Story.caused_by(event),
            )
            doc = {
                "_id": f"{conference.conference_id}:{head.value}:{p.round}",
                "conference_id": conference.conference_id,
                "head": head.value,
                "codes": [d["tracking_code"] for d in mine],
            }
            if await self.repository.add_dossier(doc, dossier):
                sent += 1
        log.info("conference %s: %d dossier(s) for the chairs (round %d)", conference.conference_id, sent, p.round)
        return sent

    # ---- after: minutes, the heads' conclusion notices and each agency's extract --------------------

    async def conclude(self, conference: Conference, cause: Envelope[Any] | None = None) -> bool:
        """The documents of a concluded conference: the minutes, one conclusion notice per body whose head
        concluded (the Party committee's in the Party's form), and each agency's extract with its events.
        What exists already is kept; what fails is recorded for a retry. True if all are there."""
        cid = conference.conference_id
        now = self.clock.now()
        await self.repository.mark_documents(cid, complete=False, at=now)
        opinions = await self.repository.of_conference(cid)
        tasks = await self.repository.conclusion_tasks(cid)
        facts = Facts.of(conference, opinions, tasks)
        made = True

        minutes_id = f"{cid}-bien-ban"
        committee = self.issuers["committee"]
        minutes_no = await self._number(committee, "BB", minutes_id, f"Biên bản {conference.title}", now)
        made &= await self._attempt(
            conference, minutes_id, "minutes", "Biên bản hội nghị", None,
            lambda: self._minutes(conference, facts, minutes_id, minutes_no, cause),
        )  # fmt: skip

        notices: dict[str, tuple[str, tuple[int, datetime]]] = {}
        for key in ("party", "council", "committee"):
            if facts.conclusions.get(key):
                issuer = self.issuers[key]
                document_id = f"{cid}-thong-bao-ket-luan-{SLUGS[key]}"
                title = f"Thông báo kết luận của {self.full_title(HEAD_OF_ISSUER[key])}"
                notices[key] = document_id, await self._number(issuer, "TB", document_id, title, now)
        for key, (document_id, number) in notices.items():
            made &= await self._attempt(
                conference, document_id, "conclusion", f"Thông báo kết luận của {self.full_title(HEAD_OF_ISSUER[key])}",
                None, lambda key=key, document_id=document_id, number=number: self._notice(
                    conference, facts, key, document_id, number, minutes_no),
            )  # fmt: skip

        for agency_id, items in sorted(facts.by_agency.items()):
            agency = AgencyRef(**items[0].doc["agency"])
            document_id = f"{cid}-ket-luan-{agency_id}"
            made &= await self._attempt(
                conference, document_id, "conclusion_notice", f"Trích thông báo kết luận gửi {agency.name}", agency,
                lambda agency=agency, items=items, document_id=document_id: self._extract(
                    conference, facts, agency, items, document_id, notices, minutes_no, cause),
            )  # fmt: skip
        await self.repository.mark_documents(cid, complete=made, at=now)
        await self.refresh_gauge()
        log.info("conference %s: documents %s (minutes, %d notice(s), %d extract(s))", cid,
                 "complete" if made else "INCOMPLETE", len(notices), len(facts.by_agency))  # fmt: skip
        return made

    async def _attempt(
        self,
        conference: Conference,
        document_id: str,
        kind: str,
        label: str,
        agency: AgencyRef | None,
        make: Callable[[], Awaitable[None]],
    ) -> bool:
        """Make one document unless it exists. A passing outage (database, broker) is raised for the
        consumer's retries; any other failure is recorded against the conference, visible and retried."""
        if await self.repository.has_document(document_id):
            await self.repository.clear_document_failure(document_id)
            return True
        try:
            await make()
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            log.error("conference %s: %s (%s) could not be produced: %s; recorded, will be retried",
                      conference.conference_id, document_id, kind, reason, exc_info=True)  # fmt: skip
            record = {
                "conference_id": conference.conference_id,
                "kind": kind,
                "label": label,
                "agency": agency.model_dump() if agency else None,
                "reason": reason,
            }
            await self.repository.record_document_failure(document_id, record, self.clock.now())
            await self.refresh_gauge()
            return False
        await self.repository.clear_document_failure(document_id)
        return True

    async def _number(self, issuer: Issuer, code: str, document_id: str, label: str, now: datetime) -> Numbered:
        """The document's number and date of issue, taken once (a retry gets the same)."""
        pattern = issuer.symbol(code, 0).replace("00", "{n:02d}", 1)
        return await self.repository.reserve_number(
            issuer.register(code), local(now).year, document_id, at=now, label=label, pattern=pattern
        )

    async def refresh_gauge(self) -> None:
        missing = await self.repository.missing_documents()
        for kind in KIND_LABELS:
            metrics.DOCUMENTS_MISSING.labels(**metrics.base(), kind=kind).set(missing.get(kind, 0))

    async def retry(self, conference_id: str) -> bool | None:
        """Produce what is missing now (the operator's or secretary's retry, and the loop's): what the concluded
        event would have done, settling first whatever is still tabled. None if the conference is unknown or
        not concluded."""
        conference = await self.conference(conference_id)
        if conference is None or conference.status.value != "concluded":
            return None
        await self.settle(conference)
        return await self.conclude(conference)

    async def run_retries(self) -> None:
        """The automatic retry: every `retry_every_s`, the concluded conferences whose documents are not all
        there (and were not attempted meanwhile) are produced again."""
        while True:
            await asyncio.sleep(self.retry_every_s)
            try:
                await self.retry_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retrying the conferences' missing documents failed; will try again")

    async def retry_due(self) -> int:
        before = self.clock.now() - timedelta(seconds=self.retry_every_s)
        done = 0
        for doc in await self.repository.conferences_missing_documents(before):
            log.info("conference %s: producing its missing documents again", doc["_id"])
            if await self.retry(doc["_id"]):
                done += 1
        await self.refresh_gauge()
        return done

    # ---- the parts of each document ----------------------------------------------------------------

    def full_title(self, head: Head) -> str:
        """The head's title in an official text: "Bí thư Đảng ủy phường", "Chủ tịch Ủy ban nhân dân phường"."""
        kind = self.unit.kind
        if head is Head.COMMITTEE_CHAIR:
            return f"Chủ tịch Ủy ban nhân dân {kind}"
        if head is Head.COUNCIL_CHAIR:
            return f"Chủ tịch Hội đồng nhân dân {kind}"
        return self.unit.title(head)

    def _words(self) -> dict[str, str]:
        kind = self.unit.kind
        party = PARTY_COMMITTEE.get(kind, "Đảng ủy")
        commune_level = kind in ("xã", "phường", "đặc khu", "thị trấn")
        return {
            "hosts": f"{party}, Hội đồng nhân dân, Ủy ban nhân dân {kind} {self.unit.proper}",
            "office": f"Văn phòng HĐND và UBND {kind}" if commune_level else f"Văn phòng UBND {kind}",
            "party_office": f"Văn phòng {party} {kind}" if party == "Đảng ủy" else f"Văn phòng {party}",
            "front": f"Ủy ban Mặt trận Tổ quốc Việt Nam {kind}",
            "party": f"{party} {kind}" if party == "Đảng ủy" else party,
            "kind": kind,
        }

    def _chairs(self, conference: Conference) -> list[dict[str, str]]:
        return [{"name": self.heads.get(h, ""), "title": self.full_title(h)} for h in conference.chairs]

    @staticmethod
    def _conference_title(conference: Conference) -> str:
        title = conference.title.strip()
        if title.lower().startswith("hội nghị"):
            return title
        return f"Hội nghị đối thoại trực tiếp giữa người đứng đầu cấp ủy, chính quyền với Nhân dân ({title})"

    def _form(self, issuer: Issuer, code: str, number: Numbered, kind_name: str, summary: str) -> dict[str, Any]:
        n, at = number
        issued = local(at).date()
        return {
            "issuer": issuer,
            "number_line": issuer.number_line(code, n),
            "symbol": f"số {issuer.symbol(code, n)}",
            "issued_on": f"ngày {short_date(issued)}",
            "place_date": f"{issuer.place}, {long_date(issued)}",
            "kind_name": kind_name,
            "summary": summary,
            "heading": f"{kind_name.capitalize()} {issuer.symbol(code, n)} — {summary}",
            "archive": issuer.archive_line(),
        }

    def _result(self, item: Item) -> str:
        """What became of an opinion, as the minutes say it (in the office's words, no codes)."""
        d, answer = item.doc, item.doc.get("answer") or {}
        agency = (d.get("agency") or {}).get("name", "cơ quan chuyên môn")
        due = short_date(local(d["due_at"]).date()) if d.get("due_at") else "trong 30 ngày"
        if item.outcome == "on_the_spot":
            head = Head(answer.get("head") or d["head"])
            name = self.heads.get(head)
            who = f"Đồng chí {name}, {self.full_title(head)}" if name else f"Đồng chí {self.full_title(head)}"
            return f"{who} trả lời trực tiếp tại hội nghị: {answer.get('text', '')}"
        if item.outcome == "escalated":
            escalation = d.get("escalation") or {}
            reason = f" ({escalation['reason']})" if escalation.get("reason") else ""
            return (
                f"Nội dung vượt thẩm quyền của {self.unit.kind}; đã chuyển {escalation.get('to_name', 'cấp trên')} "
                f"xem xét, giải quyết{reason}."
            )
        if d["status"] == Status.ANSWERED:
            number = f" (văn bản số {answer['document_number']})" if answer.get("document_number") else ""
            return f"Đã được {answer.get('answered_by') or agency} trả lời bằng văn bản{number}."
        if item.outcome == "off_topic":
            return f"Nội dung ngoài chương trình hội nghị; giao {agency} trả lời riêng bằng văn bản trước ngày {due}."
        return f"Hội nghị ghi nhận; giao {agency} xem xét, trả lời bằng văn bản cho người nêu ý kiến trước ngày {due}."

    def _source(self, d: dict[str, Any]) -> str:
        """Who raised it, as recorded: the channel, and where the person lives when that was recorded. (The
        speaker's name stays with intake, which keeps personal data; the minutes name the channel.)"""
        kind = self.unit.kind
        where = f", {d['address']}" if d.get("address") else ""
        match d["channel"]:
            case Channel.FRONT_COLLECTED:
                return f"Ủy ban Mặt trận Tổ quốc {kind} tổng hợp trước hội nghị{where}"
            case Channel.DIRECT:
                return f"cử tri phát biểu tại hội nghị{where}"
            case Channel.WRITTEN:
                return f"gửi bằng văn bản{where}"
            case _:
                return f"gửi trực tuyến{where}"

    def _moment(self, moment: datetime | None) -> dict[str, str]:
        if moment is None:
            return {"time": "…… giờ …… phút", "date": "ngày …… tháng …… năm ……", "weekday": "……"}
        day = local(moment).date()
        return {"time": clock_time(moment), "date": long_date(day), "weekday": weekday(day)}

    async def _minutes(
        self, conference: Conference, facts: Facts, document_id: str, number: Numbered, cause: Envelope[Any] | None
    ) -> None:
        words = self._words()
        committee = self.issuers["committee"]
        form = self._form(committee, "BB", number, "BIÊN BẢN", conference.title)
        groups = []
        for index, (head, items) in enumerate(facts.by_head()):
            groups.append(
                {
                    "label": f"3.{index + 1}.",
                    "title": f"Ý kiến thuộc trách nhiệm trả lời của {self.full_title(head)}",
                    "items": [
                        {
                            "no": item.no,
                            "source": self._source(item.doc),
                            "field": _lower(FIELDS[item.doc["field"]].name),
                            "text": item.doc["text"],
                            "result": self._result(item),
                        }
                        for item in items
                    ],
                }
            )
        secretary = conference.secretary or ""
        signatures = [Signature(("THƯ KÝ HỘI NGHỊ",), secretary)] + [
            Signature(("CHỦ TRÌ HỘI NGHỊ", self.full_title(h).upper()), self.heads.get(h, ""))
            for h in conference.chairs
        ]
        variables = {
            **form,
            "venue": conference.venue,
            "hosts": words["hosts"],
            "conference_title": self._conference_title(conference),
            "opened": self._moment(conference.opened_at or conference.starts_at),
            "closed": self._moment(conference.closed_at),
            "chairs": self._chairs(conference),
            "secretary": secretary,
            "participant_groups": conference.participant_groups,
            "invited": len(conference.invitees),
            "expected": conference.expected_attendance,
            "attendance": conference.attendance,
            "speakers": conference.speakers,
            "topics": conference.topics,
            "counts": facts.counts,
            "groups": groups,
            "remarks": conference.remarks,
            "signatures": signatures,
            "recipients": [f"Thường trực {words['party']}, HĐND, UBND {words['kind']}", words["front"]],
            "archive": "Lưu: VT, hồ sơ hội nghị.",
            "annex": [
                {
                    "no": item.no,
                    "code": item.doc["tracking_code"],
                    "field": FIELDS[item.doc["field"]].name,
                    "outcome": OUTCOME_SHORT[item.outcome],
                }
                for item in facts.items
            ],  # fmt: skip
            "issuer_name": committee.name,
        }
        rendered = await self.documents.render_async("minutes.html.j2", variables, docx=True)
        counts = facts.counts
        by_head: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for item in facts.items:
            by_head[item.doc["head"]][category(item.doc)] += 1
        results = Aggregate()
        results.record(
            ConferenceResultsV1(
                conference_id=conference.conference_id,
                title=conference.title,
                starts_at=conference.starts_at,
                chairs=conference.chairs,
                counts={
                    "raised": counts["counted"],
                    "on_the_spot": counts["on_the_spot"],
                    "written": counts["written"],
                    "escalated": counts["escalated"],
                    "redirected": counts["redirected"],
                },
                by_head={head: dict(kinds) for head, kinds in by_head.items()},
                documents_url=f"{self.console_url}/hoi-nghi/{conference.conference_id}",
            ),
            Story.caused_by(cause) if cause else Story(f"conference:{conference.conference_id}"),
        )
        await self._store(
            document_id, conference.conference_id, "minutes", "Biên bản hội nghị", None, rendered, results,
            form, number, [item.doc["_id"] for item in facts.items], issuer="committee",
        )  # fmt: skip

    def _notice_items(self, facts: Facts, items: list[Item]) -> list[dict[str, Any]]:
        return [
            {
                "letter": LETTERS[index % len(LETTERS)],
                "no": item.no,
                "code": item.doc["tracking_code"],
                "field": _lower(FIELDS[item.doc["field"]].name),
                "text": item.doc["text"],
                "task": facts.task(item),
                "due": short_date(local(item.doc["due_at"]).date()),
            }
            for index, item in enumerate(items)
        ]

    async def _notice(
        self, conference: Conference, facts: Facts, key: str, document_id: str, number: Numbered, minutes: Numbered
    ) -> None:
        words = self._words()
        issuer = self.issuers[key]
        head = HEAD_OF_ISSUER[key]
        held_on = short_date(local(conference.opened_at or conference.starts_at).date())
        summary = (
            f"Kết luận của {'đồng chí ' if key == 'party' else ''}{self.full_title(head)} tại "
            f"{_lower(self._conference_title(conference))} ngày {held_on}"
        )
        form = self._form(issuer, "TB", number, "THÔNG BÁO", summary)
        by_agency = facts.conclusions[key]
        agencies = []
        for agency_id in sorted(by_agency):
            items = by_agency[agency_id]
            agencies.append(
                {
                    "name": items[0].doc["agency"]["name"],
                    "items": self._notice_items(facts, items),
                    "report_by": short_date(max(local(i.doc["due_at"]).date() for i in items)),
                }
            )
        others = (
            [f"Thường trực HĐND, UBND {words['kind']}"]
            if key == "party"
            else [f"Thường trực {words['party']}", f"Thường trực HĐND {words['kind']}"]
            if key == "committee"
            else [f"Thường trực {words['party']}", f"UBND {words['kind']}"]
        )
        variables = {
            **form,
            "venue": conference.venue,
            "hosts": words["hosts"],
            "conference_title": self._conference_title(conference),
            "held_on": held_on,
            "chairs": self._chairs(conference),
            "attendance": conference.attendance,
            "counts": facts.counts,
            "concluder": {"name": self.heads.get(head, ""), "title": self.full_title(head)},
            "remarks": conference.remarks,
            "agencies": agencies,
            "minutes_symbol": self.issuers["committee"].symbol("BB", minutes[0]),
            "office": words["party_office"] if key == "party" else words["office"],
            "front": words["front"],
            "recipients": [a["name"] for a in agencies] + others + [words["front"]],
        }
        rendered = await self.documents.render_async("conclusion.html.j2", variables, docx=True)
        opinion_ids = [i.doc["_id"] for items in by_agency.values() for i in items]
        await self._store(
            document_id, conference.conference_id, "conclusion", f"Thông báo kết luận của {self.full_title(head)}",
            None, rendered, Aggregate(), form, number, opinion_ids, issuer=key,
        )  # fmt: skip

    async def _extract(
        self,
        conference: Conference,
        facts: Facts,
        agency: AgencyRef,
        items: list[Item],
        document_id: str,
        notices: dict[str, tuple[str, Numbered]],
        minutes: Numbered,
        cause: Envelope[Any] | None,
    ) -> None:
        words = self._words()
        held_on = short_date(local(conference.opened_at or conference.starts_at).date())
        sections = []
        for key in ("party", "council", "committee"):
            mine = [i for i in items if i.issuer == key]
            if not mine:
                continue
            issuer, head = self.issuers[key], HEAD_OF_ISSUER[key]
            _, number = notices[key]
            form = self._form(issuer, "TB", number, "THÔNG BÁO", "")
            sections.append(
                {
                    **form,
                    "symbol": issuer.symbol("TB", number[0]),
                    "summary": f"Kết luận của {'đồng chí ' if key == 'party' else ''}{self.full_title(head)} "
                    f"tại hội nghị đối thoại ngày {held_on}",
                    "concluder": {"name": self.heads.get(head, ""), "title": self.full_title(head)},
                    "items": self._notice_items(facts, mine),
                    "report_by": short_date(max(local(i.doc["due_at"]).date() for i in mine)),
                    "office": words["party_office"] if key == "party" else words["office"],
                }
            )
        first = sections[0]
        variables = {
            "heading": f"Trích thông báo kết luận gửi {agency.name}",
            "sections": sections,
            "agency": agency,
            "conference_title": _lower(self._conference_title(conference)),
            "held_on": held_on,
            "minutes_symbol": self.issuers["committee"].symbol("BB", minutes[0]),
        }
        rendered = await self.documents.render_async("conclusion_extract.html.j2", variables, docx=True)
        issued = Aggregate()
        issued.record(
            ConclusionIssuedV1(
                conference_id=conference.conference_id,
                title=conference.title,
                agency=agency,
                document_id=document_id,
                document_url=f"{self.console_url}/van-ban/{document_id}",
                items=[
                    ConclusionItem(
                        tracking_code=i.doc["tracking_code"],
                        field=i.doc["field"],
                        text=i.doc["text"],
                        outcome="off_topic" if i.outcome == "off_topic" else "written_promised",
                        due_at=i.doc["due_at"],
                    )
                    for i in items
                ],
                issued_at=self.clock.now(),
            ),
            Story.caused_by(cause) if cause else Story(f"conference:{conference.conference_id}"),
        )
        form = {"symbol": ", ".join(s["symbol"] for s in sections), "place_date": first["place_date"]}
        await self._store(
            document_id, conference.conference_id, "conclusion_notice", f"Trích thông báo kết luận gửi {agency.name}",
            agency, rendered, issued, form, None, [i.doc["_id"] for i in items], issuer=None,
        )  # fmt: skip

    async def _store(
        self,
        document_id: str,
        conference_id: str,
        kind: str,
        title: str,
        agency: AgencyRef | None,
        rendered: Any,
        events: Aggregate,
        form: dict[str, Any],
        number: Numbered | None,
        opinion_ids: list[str] | None = None,
        *,
        issuer: str | None,
    ) -> bool:
        doc = {
            "_id": document_id,
            "conference_id": conference_id,
            "kind": kind,
            "title": title,
            "number": form.get("symbol", "").removeprefix("số ") if number else None,
            "refers_to": None if number else form.get("symbol"),
            "issuer": issuer,
            "issued_at": number[1] if number else self.clock.now(),
            "agency": agency.model_dump() if agency else None,
            "opinion_ids": opinion_ids or [],
            "html": rendered.html,
            "pdf": rendered.pdf,
            "docx": rendered.docx,
            "created_at": self.clock.now(),
        }
        return await self.repository.add_document(doc, events)

    # ---- before and around: the plan, the public announcement, the invitation -----------------------

    async def paper(self, conference_id: str, kind: str) -> dict[str, Any] | None:
        """The plan, the announcement or the invitation of a conference as it stands: issued (numbered, stored)
        the first time it is asked for, the same document afterwards; a changed conference (a new date, venue,
        chairs…) gets a new one. None if the conference is unknown."""
        conference = await self.conference(conference_id)
        if conference is None:
            return None
        if conference.status.value == "cancelled":
            raise PaperRefused(conference.status.label)
        variables = self._paper_variables(conference, kind)
        digest = hashlib.sha256(json.dumps(variables, sort_keys=True, default=str).encode()).hexdigest()[:10]
        document_id = f"{conference_id}-{PAPER_SLUGS[kind]}-{digest}"
        existing = await self.repository.document(document_id)
        if existing is not None:
            return existing
        code, kind_name, label = PAPERS[kind]
        committee = self.issuers["committee"]
        now = self.clock.now()
        number = await self._number(committee, code, document_id, f"{label} {conference.title}", now)
        summary = {
            "plan": f"Tổ chức {_lower(self._conference_title(conference))}",
            "announcement": f"Về việc tổ chức {_lower(self._conference_title(conference))}",
            "invitation": f"Dự {_lower(self._conference_title(conference))}",
        }[kind]
        form = self._form(committee, code, number, kind_name, summary)
        rendered = await self.documents.render_async(f"{kind}.html.j2", {**form, **variables}, docx=True)
        await self._store(document_id, conference_id, kind, label, None, rendered, Aggregate(), form, number,
                          issuer="committee")  # fmt: skip
        return await self.repository.document(document_id)

    def _paper_variables(self, conference: Conference, kind: str) -> dict[str, Any]:
        words = self._words()
        announce_on = short_date(local(conference.announce_at).date()) if conference.announce_at else None
        recipients = {
            "plan": [f"Thường trực {words['party']}, HĐND {words['kind']}", words["front"],
                     "Các cơ quan chuyên môn, tổ dân phố"],
            "announcement": [f"Đài truyền thanh {words['kind']}", "Các tổ dân phố", words["front"]],
            "invitation": ["Như thành phần mời"],
        }[kind]  # fmt: skip
        return {
            "conference_title": self._conference_title(conference),
            "plan_year": conference.plan_year,
            "starts": self._moment(conference.starts_at),
            "venue": conference.venue,
            "chairs": self._chairs(conference),
            "secretary": conference.secretary or "",
            "participant_groups": conference.participant_groups,
            "expected": conference.expected_attendance,
            "topics": conference.topics,
            "invitees": [f"{i.name}, {i.group}" if i.group else i.name for i in conference.invitees],
            "announce_on": announce_on,
            "complete_by": short_date(conference.complete_by) if conference.complete_by else None,
            "office": words["office"],
            "front": words["front"],
            "recipients": recipients,
        }

    # ---- what the API shows ------------------------------------------------------------------------

    async def documents_of(self, conference_id: str) -> list[dict[str, Any]]:
        """Every document of the conference, then what is missing: each failure with its reason, and the
        minutes of a concluded conference that are not there yet."""
        docs = [{**d, "status": "issued", "problem": None} for d in await self.repository.document_list(conference_id)]
        failures = await self.repository.document_failures(conference_id)
        missing = [
            {
                "_id": f["_id"],
                "kind": f["kind"],
                "title": f["label"],
                "agency": f.get("agency"),
                "number": None,
                "status": "missing",
                "problem": f"{f['label']} chưa lập được: {f['reason']}. Hệ thống tự thử lại; sau khi khắc phục "
                "nguyên nhân, có thể yêu cầu lập lại ngay (POST …/documents/retry).",
                "created_at": None,
                "failed_at": f.get("last_failed_at"),
                "attempts": f.get("attempts", 1),
            }
            for f in failures
        ]
        kept = await self.repository.conference(conference_id)
        minutes_id = f"{conference_id}-bien-ban"
        if (
            kept is not None
            and kept["snapshot"].get("status") == "concluded"
            and not any(d["_id"] == minutes_id for d in docs + missing)
        ):
            missing.append(
                {
                    "_id": minutes_id,
                    "kind": "minutes",
                    "title": "Biên bản hội nghị",
                    "agency": None,
                    "number": None,
                    "status": "pending",
                    "problem": "Biên bản chưa lập được: hội nghị đã kết thúc, văn bản đang được lập. Nếu tình trạng "
                    "này kéo dài, yêu cầu lập lại (POST …/documents/retry).",
                    "created_at": None,
                    "failed_at": None,
                    "attempts": 0,
                }
            )
        return docs + missing

    async def document(self, document_id: str) -> dict[str, Any] | None:
        return await self.repository.document(document_id)

    async def register(self, year: int) -> list[dict[str, Any]]:
        return [
            {**row, "symbol": row["pattern"].format(n=row["number"])} for row in await self.repository.register(year)
        ]

    async def set_task(self, conference_id: str, tracking_code: str, task: str, by: str) -> str:
        """The task the heads gave an agency for one opinion, as the secretary words it; used by the conclusion
        notice. 'unknown' if the opinion is not on this conference; 'issued' once the notices exist."""
        opinions = {d["tracking_code"] for d in await self.repository.of_conference(conference_id)}
        if tracking_code not in opinions:
            return "unknown"
        if any(d["kind"] == "conclusion" for d in await self.repository.document_list(conference_id)):
            return "issued"
        await self.repository.set_conclusion_task(conference_id, tracking_code, task.strip(), by, self.clock.now())
        return "set"

    async def board(self, limit: int) -> list[dict[str, Any]]:
        """Every conclusion and written promise of the instance (items with a deadline from a conference
        or a promise), overdue first, then by deadline, answered last."""
        now = self.clock.now()
        docs = await self.repository.followed()
        order = {"overdue": 0, "pending": 1, "answered_late": 2, "answered_on_time": 3}
        rows = []
        for d in docs:
            if d["status"] == Status.ANSWERED and (d.get("answer") or {}).get("kind") == "on_the_spot":
                continue  # settled at the conference: nothing to follow
            rows.append(
                {
                    "tracking_code": d["tracking_code"],
                    "agency": (d.get("agency") or {}).get("name", ""),
                    "conference_id": d.get("conference_id"),
                    "document_id": None,
                    "text": d["text"],
                    "due_at": d.get("due_at"),
                    "status": supervision_status(d, now),
                    "answered_at": (d.get("answer") or {}).get("answered_at"),
                    "answer": (d.get("answer") or {}).get("text"),
                }
            )
        rows.sort(key=lambda r: (order[r["status"]], r["due_at"] or now))
        return rows[:limit]

    async def supervision(self, conference_id: str) -> list[dict[str, Any]]:
        """Every conclusion (each opinion a notice gave an agency) with where it stands now."""
        now = self.clock.now()
        notices = await self.repository.notices_of(conference_id)
        ids = [i for notice in notices for i in notice["opinion_ids"]]
        opinions = {d["_id"]: d for d in await self.repository.by_ids(ids)}
        rows = []
        for notice in notices:
            for opinion_id in notice["opinion_ids"]:
                d = opinions.get(opinion_id)
                if d is None:
                    continue
                rows.append(
                    {
                        "tracking_code": d["tracking_code"],
                        "agency": notice["agency"]["name"],
                        "document_id": notice["_id"],
                        "text": d["text"],
                        "due_at": d.get("due_at"),
                        "status": supervision_status(d, now),
                        "answered_at": (d.get("answer") or {}).get("answered_at"),
                        "answer": (d.get("answer") or {}).get("text"),
                    }
                )
        return rows
