"""What each event means for whom: which notices go to which agency, head, invitee or citizen, with which
words (the template's variables). Looks up contacts and the directory; hands each message to `send`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from services.notification.directory import AgencyDirectory
from services.notification.domain import Recipient, official
from services.notification.repository import NotificationRepository
from shared.agencies import Official, Reception
from shared.clock import VIETNAM
from shared.events import (
    FIELDS,
    AgencyRef,
    AnswerKind,
    Channel,
    ConclusionIssuedV1,
    Conference,
    ConferenceDossierV1,
    ConferenceResultsV1,
    ConferenceUpdatedV1,
    Envelope,
    EscalationState,
    EventPayload,
    Head,
    OpinionAnswerCorrectedV1,
    OpinionAnsweredV1,
    OpinionAssignedV1,
    OpinionDueSoonV1,
    OpinionEscalationUpdatedV1,
    OpinionMergedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
    OpinionRedirectedV1,
    RedirectKind,
)
from shared.events.conferences import DossierItem
from shared.messaging.consumer import TransientError
from shared.units import Unit

log = logging.getLogger(__name__)

Send = Callable[[Envelope[EventPayload], str, Recipient, dict[str, Any]], Awaitable[None]]


def conference_name(title: str) -> str:
    """ "Hội nghị đối thoại quý I" as given; a bare title ("Quý I năm 2026") gets the words in front once."""
    title = title.strip()
    if not title:
        return "hội nghị đối thoại"
    return title if title.lower().startswith("hội nghị") else f"Hội nghị đối thoại {title}"


def _date(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def _datetime(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def _matters(items: list[DossierItem]) -> list[dict[str, Any]]:
    """A dossier's opinions as matters: those raising one (merged, or alike) together under why, in order."""
    entries: list[dict[str, Any]] = []
    by_group: dict[str, dict[str, Any]] = {}
    for item in items:
        shown = {**item.model_dump(), "channel_label": Channel(item.channel).label}
        if item.group is None:
            entries.append({"label": None, "items": [shown]})
        elif item.group in by_group:
            by_group[item.group]["items"].append(shown)
        else:
            by_group[item.group] = {"label": item.group_label, "items": [shown]}
            entries.append(by_group[item.group])
    return entries


class Meanings:
    def __init__(
        self,
        contacts: NotificationRepository,
        directory: AgencyDirectory,
        send: Send,
        *,
        instance_id: str,
        unit: Unit,
        console_url: str,
        heads: dict[Head, Official] | None = None,
        announcement_recipients: list[str] | None = None,
        reception: Reception | None = None,
        sms: bool = False,
    ) -> None:
        self.repository = contacts
        self.directory = directory
        self.send = send
        self.instance_id = instance_id
        self.unit = unit
        self.instance_name = unit.name
        self.reception = reception
        self.console_url = console_url.rstrip("/")
        self.heads = heads or {}
        self.announcement_recipients = announcement_recipients or []
        self.sms = sms

    def _common(self, tracking_code: str) -> dict[str, Any]:
        return {
            "instance_name": self.instance_name,
            "issuer": self.unit.committee,
            "tracking_code": tracking_code,
            "status_url": f"{self.console_url}/theo-doi/{tracking_code}",
            "inbox_url": f"{self.console_url}/hop-thu/{tracking_code}",
        }

    async def on_received(self, event: Envelope[OpinionReceivedV1]) -> None:
        p = event.payload
        citizen = p.citizen
        contact = {
            "tracking_code": p.tracking_code,
            "name": citizen.name if citizen else None,
            "email": str(citizen.email) if citizen and citizen.email else None,
            "phone": citizen.phone if citizen else None,
        }
        await self.repository.save_contact(p.opinion_id, contact)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact["name"],
            "channel_label": Channel(p.channel).label,
            "submitted_at": _datetime(p.submitted_at),
            "text": p.text,
        }
        await self.send(event, "citizen_ack", self._citizen(p.opinion_id, contact), variables)

    async def on_assigned(self, event: Envelope[OpinionAssignedV1]) -> None:
        p = event.payload
        variables = {
            **self._common(p.tracking_code),
            "agency_name": p.agency.name,
            "field_name": FIELDS[p.field].name,
            "head_label": self.unit.title(Head(p.head)),
            "channel_label": Channel(p.channel).label,
            "submitted_at": _datetime(p.submitted_at),
            "due_date": _date(p.due_at),
            "text": p.text,
        }
        await self.send(event, "assignment_notice", await self._agency(p.agency), variables)
        if p.conference_id and self._received_here(p.origin_instance):
            # The conference's outcome for the citizen: a written answer, by whom and by when.
            contact = await self.repository.contact(p.opinion_id)
            if contact is not None:
                told = {
                    **self._common(p.tracking_code),
                    "citizen_name": contact.get("name"),
                    "agency_name": p.agency.name,
                    "due_date": _date(p.due_at),
                    "off_topic": p.off_topic,
                    "conference_name": conference_name(p.conference_title or ""),
                }
                await self.send(event, "citizen_written", self._citizen(p.opinion_id, contact), told)

    async def on_answered(self, event: Envelope[OpinionAnsweredV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return  # the instance that received it tells the citizen
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "answer_kind_label": AnswerKind(p.kind).label,
            "answered_by": p.answered_by if not p.answering_name else f"{p.answered_by}, {p.answering_name}",
            "document_number": p.document_number,
            "answered_at": _date(p.answered_at),
            "answer_text": p.text,
            "cosigner_of": p.cosigner_of,
        }
        await self.send(event, "citizen_answer", self._citizen(p.opinion_id, contact), variables)

    async def on_answered_for_head(self, event: Envelope[OpinionAnsweredV1]) -> None:
        """A written answer given at this level closes an item its head owned: the head is told the result."""
        p = event.payload
        if p.kind is not AnswerKind.WRITTEN or p.head is None or p.answering_instance not in (None, self.instance_id):
            return
        if p.cosigner_of:
            return  # the same answer, for a co-signer's citizen: the head was told once
        head = self.heads.get(p.head)
        if head is None:
            return
        variables = {
            **self._common(p.tracking_code),
            "head_name": head.name,
            "head_title": self.unit.title(p.head),
            "answered_by": p.answered_by,
            "document_number": p.document_number,
            "answered_at": _date(p.answered_at),
            "answer_text": p.text,
            "late": False,
        }
        await self.send(event, "head_result", official(str(head.email), head.name), variables)

    async def on_merged(self, event: Envelope[OpinionMergedV1]) -> None:
        """The citizen learns their opinion joined another of the same matter, and that its answer will be theirs."""
        p = event.payload
        if not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "into_tracking_code": p.into_tracking_code,
            "reason": p.reason,
        }
        await self.send(event, "citizen_merged", self._citizen(p.opinion_id, contact), variables)

    async def on_answer_corrected(self, event: Envelope[OpinionAnswerCorrectedV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "reason": p.reason,
            "document_number": p.document_number,
            "answer_text": p.text,
        }
        await self.send(event, "citizen_correction", self._citizen(p.opinion_id, contact), variables)

    async def on_escalation_updated(self, event: Envelope[OpinionEscalationUpdatedV1]) -> None:
        """Tell the citizen which level and agency now hold the opinion, and when to expect the answer."""
        p = event.payload
        if p.state is not EscalationState.ACCEPTED or not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "holder_name": p.holder_name,
            "agency_name": p.agency_name,
            "due_date": _date(p.due_at) if p.due_at else None,
        }
        await self.send(event, "escalation_notice", self._citizen(p.opinion_id, contact), variables)

    async def on_deadline(self, event: Envelope[OpinionDueSoonV1] | Envelope[OpinionOverdueV1]) -> None:
        p = event.payload
        variables = {**self._common(p.tracking_code), "agency_name": p.agency.name, "due_date": _date(p.due_at)}
        if isinstance(p, OpinionDueSoonV1):
            await self.send(event, "reminder", await self._agency(p.agency), {**variables, "days_left": p.days_left})
            return
        await self.send(event, "overdue_notice", await self._agency(p.agency), variables)
        head = self.heads.get(p.head) if p.head else None
        if head is not None:  # the head who must answer is told too
            assert p.head is not None
            variables |= {"head_name": head.name, "head_label": self.unit.title(p.head)}
            await self.send(event, "overdue_head", official(str(head.email), head.name), variables)

    async def on_redirected(self, event: Envelope[OpinionRedirectedV1]) -> None:
        p = event.payload
        if not self._received_here(p.origin_instance):
            return
        contact = await self._contact(p.opinion_id)
        desk = self.reception
        variables = {
            **self._common(p.tracking_code),
            "citizen_name": contact.get("name"),
            "kind_label": RedirectKind(p.kind).label,
            "reason": p.reason,
            "reception_name": desk.name if desk else f"bộ phận tiếp công dân của {self.unit.committee}",
            "reception_place": desk.place if desk else None,
            "reception_hours": desk.hours if desk else None,
            "reception_basis": desk.basis if desk else None,
        }
        await self.send(event, "citizen_redirect", self._citizen(p.opinion_id, contact), variables)

    # ---- conferences ---------------------------------------------------------------------------

    def _conference(self, c: Conference) -> dict[str, Any]:
        return {
            "instance_name": self.instance_name,
            "issuer": self.unit.committee,
            "title": c.title,
            "conference_name": conference_name(c.title),
            "starts_at": _datetime(c.starts_at),
            "venue": c.venue,
            "chairs": ", ".join(self.unit.title(Head(h)) for h in c.chairs),
            "topics": "; ".join(c.topics),
        }

    async def on_conference_updated(self, event: Envelope[ConferenceUpdatedV1]) -> None:
        """The announcement and the invitations; news of a cancellation, postponement or new date."""
        change, c = event.payload.change, event.payload.conference
        variables = self._conference(c)
        if change == "announced":
            for email in self.announcement_recipients:
                await self.send(event, "announcement", official(email, "Bộ phận thông tin"), variables)
            kind = "invitation"
        elif change in ("cancelled", "postponed", "rescheduled"):
            labels = {"cancelled": "Hủy hội nghị", "postponed": "Hoãn hội nghị", "rescheduled": "Dời lịch hội nghị"}
            before = event.payload.previous_starts_at
            variables |= {
                "change_label": labels[change],
                "reason": c.status_reason,
                "original": _datetime(before) if before else variables["starts_at"],
                "new_time": variables["starts_at"] if change == "rescheduled" else None,
            }
            kind = "conference_changed"
            # What was announced to the public is corrected there too.
            for email in self.announcement_recipients:
                desk = {**variables, "invitee_name": "Bộ phận thông tin", "invitee_group": None}
                await self.send(event, kind, official(email, "Bộ phận thông tin"), desk)
        else:
            return
        for invitee in c.invitees:
            if invitee.email:
                recipient = official(str(invitee.email), invitee.name)
                await self.send(
                    event, kind, recipient, {**variables, "invitee_name": invitee.name, "invitee_group": invitee.group}
                )

    async def on_dossier(self, event: Envelope[ConferenceDossierV1]) -> None:
        p = event.payload
        head = self.heads.get(p.head)
        if head is None:
            log.warning("no contact for %s: dossier of %s not sent", p.head.value, p.conference_id)
            return
        groups = [
            {"field_name": FIELDS[field].name, "opinions": [i.model_dump() for i in items], "entries": _matters(items)}
            for field, items in sorted(p.groups.items())
        ]
        variables = {
            **self._conference(
                Conference.model_construct(
                    title=p.title, starts_at=p.starts_at, venue=p.venue, chairs=[p.head], topics=[]
                )
            ),  # fmt: skip
            "head_name": head.name,
            "head_label": self.unit.title(p.head),
            "groups": groups,
            "total": sum(len(g["opinions"]) for g in groups),
            "round": p.round,
        }
        await self.send(event, "dossier", official(str(head.email), head.name), variables)

    async def on_results(self, event: Envelope[ConferenceResultsV1]) -> None:
        """Each chair gets the results of the conference, with their own share."""
        p = event.payload
        for head in p.chairs:
            official_ = self.heads.get(head)
            if official_ is None:
                continue
            mine = {k: p.by_head.get(head.value, {}).get(k, 0) for k in ("on_the_spot", "written", "escalated")}
            variables = {
                "instance_name": self.instance_name,
                "issuer": self.unit.committee,
                "conference_name": conference_name(p.title),
                "starts_at": _datetime(p.starts_at),
                "head_name": official_.name,
                "head_title": self.unit.title(head),
                "counts": p.counts,
                "mine": {**mine, "total": sum(mine.values())},
                "documents_url": p.documents_url,
                "tracking_code": None,
            }
            await self.send(event, "conference_results", official(str(official_.email), official_.name), variables)

    async def on_conclusion(self, event: Envelope[ConclusionIssuedV1]) -> None:
        p = event.payload
        items = [
            {
                "tracking_code": i.tracking_code,
                "text": i.text,
                "task": "giải quyết, trả lời riêng bằng văn bản"
                if i.outcome == "off_topic"
                else "trả lời bằng văn bản",
                "due": _date(i.due_at) if i.due_at else "—",
            }
            for i in p.items
        ]
        variables = {
            "instance_name": self.instance_name,
            "issuer": self.unit.committee,
            "title": p.title,
            "agency_name": p.agency.name,
            "items": items,
            "document_url": p.document_url,
            "tracking_code": ", ".join(i.tracking_code for i in p.items),
        }
        await self.send(event, "conclusion_notice", await self._agency(p.agency), variables)

    def _received_here(self, origin: str | None) -> bool:
        return origin is None or origin == self.instance_id

    async def _contact(self, opinion_id: str) -> dict[str, Any]:
        contact = await self.repository.contact(opinion_id)
        if contact is None:
            # opinion.received.v1 is on its way on another queue; come back to this one later.
            raise TransientError(f"contact of opinion {opinion_id} not known yet")
        return contact

    def _citizen(self, opinion_id: str, contact: dict[str, Any]) -> Recipient:
        addresses = {}
        if contact.get("email"):
            addresses["email"] = contact["email"]
        elif contact.get("phone") and self.sms:
            addresses["sms"] = contact["phone"]
        return Recipient("citizen", opinion_id, contact.get("name"), addresses)

    async def _agency(self, ref: AgencyRef) -> Recipient:
        record = await self.directory.get(ref.id)
        if record is None or not record.active:
            log.warning("agency %s is not in this instance's directory; using what the event says", ref.id)
            return Recipient("agency", ref.id, ref.name, {"email": str(ref.email)} if ref.email else {})
        contacts = {"email": record.email, "webhook": record.webhook_url, "sms": record.phone}
        return Recipient("agency", record.id, record.name, {c: str(contacts[c]) for c in record.channels})
