"""Assignment's part in a conference: the chairs' dossiers, the minutes and conclusion notices, and the
Fatherland Front's supervision view of every conclusion.

Assignment keeps a copy of each conference (from `conference.updated.v1`) and knows every opinion
attached to it, with its field, head, agency, deadline and outcome. Dossiers and conclusion notices
are documents whose ids say what they are, inserted once with their events in the outbox, so a
redelivered trigger produces nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from services.assignment.documents import Documents
from services.assignment.domain import Status
from services.assignment.repository import AssignmentRepository
from shared.clock import VIETNAM, Clock
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
from shared.storage.mongo import document
from shared.units import Unit

log = logging.getLogger(__name__)


def _when(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def _date(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def result_of(doc: dict[str, Any]) -> str:
    """What became of an opinion, as the minutes say it."""
    answer, promise = doc.get("answer"), doc.get("promise")
    if doc["status"] == Status.ANSWERED and answer and answer.get("kind") == "on_the_spot" and not doc.get("holder"):
        return f"{answer['answered_by']} trả lời tại hội nghị: {answer['text']}"
    if doc["status"] == Status.ANSWERED:
        return f"Đã trả lời bằng văn bản ({answer['answered_by']})"
    if doc["status"] == Status.ESCALATED:
        escalation = doc["escalation"]
        return f"Vượt thẩm quyền, chuyển {escalation['to_name']}: {escalation['reason']}"
    agency = doc["agency"]["name"]
    if promise and promise.get("off_topic"):
        return f"Ngoài nội dung hội nghị; {agency} trả lời riêng bằng văn bản trước {_date(doc['due_at'])}"
    return f"Hẹn trả lời bằng văn bản; giao {agency}, hạn {_date(doc['due_at'])}"


def category(doc: dict[str, Any]) -> str:
    """on_the_spot, written or escalated: how the minutes count an opinion."""
    if doc["status"] == Status.ESCALATED:
        return "escalated"
    answer = doc.get("answer") or {}
    if doc["status"] == Status.ANSWERED and answer.get("kind") == "on_the_spot" and not doc.get("holder"):
        return "on_the_spot"
    return "written"


def supervision_status(doc: dict[str, Any], now: datetime) -> str:
    """answered_on_time, answered_late, overdue or pending."""
    if doc["status"] == Status.ANSWERED:
        return "answered_on_time" if doc["answer"].get("on_time", True) else "answered_late"
    return "overdue" if doc.get("due_at") and doc["due_at"] < now else "pending"


Settle = Callable[[Conference], Awaitable[int]]


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
    ) -> None:
        self.repository = repository
        self.documents = documents
        self.clock = clock
        self.unit = unit
        self.console_url = console_url.rstrip("/")
        self.settle = settle
        self.release = release

    async def keep(self, event: Envelope[ConferenceUpdatedV1]) -> None:
        p = event.payload
        conference = p.conference
        await self.repository.keep_conference(conference.conference_id, p.version, {"snapshot": document(conference)})
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

    def _common(self, conference: Conference) -> dict[str, Any]:
        return {
            "instance_name": self.unit.name,
            "issuer": self.unit.committee,
            "conference": conference,
            "starts_at": _when(conference.starts_at),
            "chairs": ", ".join(self.unit.title(Head(h)) for h in conference.chairs),
        }

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
            groups: dict[str, list[DossierItem]] = defaultdict(list)
            for d in mine:
                groups[d["field"]].append(
                    DossierItem(
                        tracking_code=d["tracking_code"], field=d["field"], channel=d["channel"], text=d["text"]
                    )
                )
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

    # ---- after: minutes and conclusion notices -------------------------------------------------

    async def conclude(self, conference: Conference, cause: Envelope[Any]) -> None:
        cid = conference.conference_id
        opinions = await self.repository.of_conference(cid)
        counted = [d for d in opinions if d["status"] != Status.REDIRECTED]
        channels = [d["channel"] for d in counted]
        categories = [category(d) for d in counted]
        now = self.clock.now()
        minutes = await self.documents.render_async(
            "minutes.html.j2",
            {
                **self._common(conference),
                "counted": len(counted),
                "before": channels.count(Channel.FRONT_COLLECTED),
                "direct": channels.count(Channel.DIRECT),
                "other": len(counted) - channels.count(Channel.FRONT_COLLECTED) - channels.count(Channel.DIRECT),
                "on_the_spot": categories.count("on_the_spot"),
                "written": categories.count("written"),
                "escalated": categories.count("escalated"),
                "redirected": len(opinions) - len(counted),
                "items": [
                    {
                        "tracking_code": d["tracking_code"],
                        "field_name": FIELDS[d["field"]].name,
                        "text": d["text"],
                        "result": result_of(d),
                    }
                    for d in counted
                ],
            },
        )
        by_head: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for d, kind in zip(counted, categories, strict=True):
            by_head[d["head"]][kind] += 1
        results = Aggregate()
        results.record(
            ConferenceResultsV1(
                conference_id=cid,
                title=conference.title,
                starts_at=conference.starts_at,
                chairs=conference.chairs,
                counts={
                    "raised": len(counted),
                    "on_the_spot": categories.count("on_the_spot"),
                    "written": categories.count("written"),
                    "escalated": categories.count("escalated"),
                    "redirected": len(opinions) - len(counted),
                },
                by_head={head: dict(kinds) for head, kinds in by_head.items()},
                documents_url=f"{self.console_url}/hoi-nghi/{cid}",
            ),
            Story.caused_by(cause),
        )
        await self._store(f"{cid}-bien-ban", cid, "minutes", None, minutes, results, now)

        by_agency: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in counted:
            if d["status"] == Status.ASSIGNED:
                by_agency[d["agency"]["id"]].append(d)
        for agency_id, items in sorted(by_agency.items()):
            agency = AgencyRef(**items[0]["agency"])
            document_id = f"{cid}-ket-luan-{agency_id}"
            rows = [
                {
                    "tracking_code": d["tracking_code"],
                    "text": d["text"],
                    "task": "Giải quyết, trả lời riêng bằng văn bản"
                    if (d.get("promise") or {}).get("off_topic")
                    else "Trả lời bằng văn bản",
                    "due": _date(d["due_at"]),
                }
                for d in items
            ]
            notice = await self.documents.render_async(
                "conclusion_notice.html.j2", {**self._common(conference), "agency": agency, "items": rows}
            )
            issued = Aggregate()
            issued.record(
                ConclusionIssuedV1(
                    conference_id=cid,
                    title=conference.title,
                    agency=agency,
                    document_id=document_id,
                    document_url=f"{self.console_url}/van-ban/{document_id}",
                    items=[
                        ConclusionItem(
                            tracking_code=d["tracking_code"],
                            field=d["field"],
                            text=d["text"],
                            outcome="off_topic" if (d.get("promise") or {}).get("off_topic") else "written_promised",
                            due_at=d["due_at"],
                        )
                        for d in items
                    ],
                    issued_at=now,
                ),
                Story.caused_by(cause),
            )
            opinion_ids = [d["_id"] for d in items]
            await self._store(document_id, cid, "conclusion_notice", agency, notice, issued, now, opinion_ids)
        log.info("conference %s concluded: minutes and %d conclusion notice(s)", cid, len(by_agency))

    async def _store(
        self,
        document_id: str,
        conference_id: str,
        kind: str,
        agency: AgencyRef | None,
        rendered: Any,
        events: Aggregate,
        now: datetime,
        opinion_ids: list[str] | None = None,
    ) -> None:
        doc = {
            "_id": document_id,
            "conference_id": conference_id,
            "kind": kind,
            "agency": agency.model_dump() if agency else None,
            "opinion_ids": opinion_ids or [],
            "html": rendered.html,
            "pdf": rendered.pdf,
            "created_at": now,
        }
        await self.repository.add_document(doc, events)

    async def documents_of(self, conference_id: str) -> list[dict[str, Any]]:
        return await self.repository.documents_of(conference_id)

    async def document(self, document_id: str) -> dict[str, Any] | None:
        return await self.repository.document(document_id)

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
