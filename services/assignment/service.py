"""Assignment's use cases: classify, assign or escalate, record answers, pass news down the chain.

An opinion reaches this instance either from a citizen (through intake) or from a child instance
that lacked the authority. Either way the jurisdiction table decides: if this level has the
authority (or there is no level above, or the hop limit is reached) a local agency gets it with a
deadline; otherwise it goes up to the parent. News from above is passed down to the child it came
from, or turned into news for the citizen where it was received.

The use cases take narrow ports (the repository, the agency directory, the rules, a clock, where
this instance stands): the rules live in the `Assignment` aggregate, the writing in the repository.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from services.assignment.classification import RuleTable, looks_like_complaint
from services.assignment.directory import Agency, Directory, NoAgency
from services.assignment.domain import (
    Assignment,
    MergeRefused,
    Place,
    Progress,
    Status,
    TransitionRefused,
    answer_due_at,
    conference_end,
)
from services.assignment.jurisdiction import JurisdictionTable
from services.assignment.repository import AssignmentRepository
from shared.audit import Actor
from shared.clock import Clock
from shared.deadlines import DayCount
from shared.domain import Story
from shared.events import (
    ACCEPTS_OPINIONS,
    AnswerKind,
    Conference,
    Envelope,
    EscalationAcknowledgedV1,
    EscalationRequestedV1,
    Head,
    OpinionReceivedV1,
    RedirectKind,
)
from shared.messaging.consumer import TransientError
from shared.messaging.links import LinkRefused
from shared.observability import metrics
from shared.units import Unit

log = logging.getLogger(__name__)


class NotFound(Exception):
    pass


class UnknownAgency(Exception):
    pass


class AssignmentService:
    def __init__(
        self,
        repository: AssignmentRepository,
        directory: Directory,
        rules: RuleTable,
        jurisdiction: JurisdictionTable,
        *,
        clock: Clock,
        place: Place,
        answer_days: int,
        answer_day_count: DayCount = DayCount.CALENDAR,
        answer_days_by_channel: dict[str, int] | None = None,
        escalate_before_conference: bool = False,
    ) -> None:
        self.repository = repository
        self.directory = directory
        self.rules = rules
        self.jurisdiction = jurisdiction
        self.clock = clock
        self.place = place
        self.answer_days = answer_days
        self.answer_day_count = answer_day_count
        self.answer_days_by_channel = answer_days_by_channel or {}
        self.escalate_before_conference = escalate_before_conference
        self.unit = Unit(place.level, place.name)

    # ---- arrivals: from a citizen (through intake) or from a child ----------------------------

    async def assign(self, event: Envelope[OpinionReceivedV1]) -> None:
        """An opinion received at this instance: classify it, then assign it here or escalate it."""
        p = event.payload
        c = self.rules.classify(p.text, field=p.field, head=p.head)
        conference = await self.conference(p.conference_id)
        assignment = Assignment.received(
            event,
            field=c.field,
            head=c.head,
            method=c.method,
            matched_keywords=c.matched_keywords,
            complaint_suspected=looks_like_complaint(p.text),
        )
        if conference is not None:
            assignment.count_on(conference.starts_at)
        await self._place(assignment, Story.caused_by(event))
        await self._store_new(assignment, method=c.method)

    async def accept_escalation(self, event: Envelope[EscalationRequestedV1]) -> None:
        """A child sent up an opinion beyond its authority (already checked to come from that child)."""
        metrics.ESCALATIONS.labels(**metrics.base(), direction="received").inc()
        assignment = Assignment.from_child(event)
        await self._place(assignment, Story.caused_by(event))
        await self._store_new(assignment, method="escalated")

    async def _place(self, assignment: Assignment, story: Story) -> None:
        now = self.clock.now()
        authority = self.jurisdiction.authority(assignment.field, assignment.text)
        within = self.jurisdiction.within(self.place.level, assignment.field, assignment.text)
        beyond = assignment.must_go_up(self.place, within)
        if assignment.conference_id and not assignment.came_from and not (beyond and self.escalate_before_conference):
            # Collected for a conference: its heads answer or explain there, even what is beyond this level.
            assignment.table(now, story)
            return
        if beyond:
            reason = assignment.escalation_reason_for(self.place, authority)
            assignment.escalate(reason, "jurisdiction", now, self.place, story)
            metrics.ESCALATIONS.labels(**metrics.base(), direction="sent").inc()
            log.info("opinion %s escalated to %s: %s", assignment.tracking_code, self.place.parent, reason)
            return
        try:
            agency = await self.directory.for_field(assignment.field)
        except NoAgency as exc:
            raise TransientError(
                f"no agency handles field {exc.field!r} and none is marked default; fix the directory"
            ) from exc
        days = self.answer_days_by_channel.get(assignment.channel, self.answer_days)
        due = answer_due_at(assignment.deadline_from(now), days, self.answer_day_count)
        assignment.assign(agency.ref(), due, now, self.place, story)

    async def _store_new(self, assignment: Assignment, *, method: str) -> None:
        stored, created = await self.repository.add(assignment)
        if not created:
            log.info("opinion %s was already placed; finished what it left to publish", stored.tracking_code)
            return
        labels = metrics.base()
        metrics.OPINIONS_CLASSIFIED.labels(**labels, field=stored.field, head=stored.head, method=method).inc()
        if stored.status == Status.ASSIGNED:
            assert stored.assigned_at is not None
            metrics.RECEIPT_TO_ASSIGNMENT.labels(**labels).observe(
                (stored.assigned_at - stored.submitted_at).total_seconds()
            )
            log.info("opinion %s: %s → %s", stored.tracking_code, stored.field, (stored.agency or {}).get("id"))

    # ---- changes made by people -------------------------------------------------------------

    async def load(self, tracking_code: str) -> Assignment:
        assignment = await self.repository.by_tracking_code(tracking_code.strip().upper())
        if assignment is None:
            raise NotFound(tracking_code)
        return assignment

    async def _save(self, assignment: Assignment, wanted: Status) -> Assignment:
        if not await self.repository.save(assignment):
            now = await self.repository.get(assignment.opinion_id)
            raise TransitionRefused(Status(now.status if now else assignment.status), wanted)
        return assignment

    async def escalate_by_hand(self, assignment: Assignment, *, reason: str, by: Actor) -> Assignment:
        """Sent up by an operator or the secretary; TransitionRefused unless it waits for an answer here."""
        assignment.escalate_by_hand(reason, _name(by), self.clock.now(), self.place)
        assignment.note(by, "opinion.escalated", assignment.tracking_code, {"reason": reason})
        await self._save(assignment, Status.ESCALATED)
        metrics.ESCALATIONS.labels(**metrics.base(), direction="sent").inc()
        return assignment

    async def conference(self, conference_id: str | None) -> Conference | None:
        doc = await self.repository.conference(conference_id) if conference_id else None
        return Conference(**doc["snapshot"]) if doc else None

    def conference_due(self, conference: Conference) -> datetime:
        """A conference's written answers: within 30 days (answer_days) from the day it ended."""
        return answer_due_at(conference_end(conference), self.answer_days, self.answer_day_count)

    async def answer(
        self,
        assignment: Assignment,
        *,
        kind: AnswerKind,
        text: str,
        answered_by: str | None,
        head: Head | None,
        document_number: str | None,
        by: Actor,
        document_media_id: str | None = None,
    ) -> Assignment:
        """This level's answer; TransitionRefused unless the opinion waits for one here, OnTheSpotRefused for an
        on-the-spot answer outside its conference's session, NotReceivedHere for a PDF named for an opinion a level
        below sent up."""
        now = self.clock.now()
        conference = await self.conference(assignment.conference_id) if kind is AnswerKind.ON_THE_SPOT else None
        assignment.answer(
            kind=kind,
            text=text,
            answered_by=answered_by,
            head=head,
            document_number=document_number,
            document_media_id=document_media_id,
            recorded_by=_name(by),
            now=now,
            place=self.place,
            conference=conference,
            head_title=self.unit.title(head or Head(assignment.head)),
        )
        assignment.note(
            by,
            "opinion.answered",
            assignment.tracking_code,
            {"kind": kind.value, "document": document_number, "document_media_id": document_media_id},
        )
        await self._save(assignment, Status.ANSWERED)
        labels = metrics.base()
        metrics.OPINIONS_ANSWERED.labels(**labels, kind=kind.value).inc()
        metrics.RECEIPT_TO_ANSWER.labels(**labels).observe((now - assignment.submitted_at).total_seconds())
        return assignment

    async def correct_answer(
        self, assignment: Assignment, *, text: str, document_number: str | None, reason: str, by: Actor
    ) -> Assignment:
        assignment.correct_answer(
            text=text, document_number=document_number, reason=reason, by=_name(by), now=self.clock.now()
        )
        assignment.note(by, "opinion.answer_corrected", assignment.tracking_code, {"reason": reason})
        return await self._save(assignment, Status.ANSWERED)

    async def commit_in_writing(
        self,
        assignment: Assignment,
        conference: Conference,
        *,
        due: datetime | None,
        off_topic: bool,
        agency_id: str | None,
        by: Actor | str,
    ) -> Assignment:
        """A tabled opinion's outcome: a written answer, by the agency of its field (or the one named), due 30
        days from the conference's end or sooner."""
        if agency_id:
            agency = next((a for a in await self.directory.all() if a.id == agency_id), None)
            if agency is None:
                raise UnknownAgency(agency_id)
        else:
            agency = await self.directory.for_field(assignment.field)
        rule_due = self.conference_due(conference)
        now = self.clock.now()
        who = by if isinstance(by, str) else _name(by)
        assignment.commit_in_writing(
            agency.ref(), due=due or rule_due, rule_due=rule_due, off_topic=off_topic, by=who, now=now,
            conference_title=conference.title,
        )  # fmt: skip
        if not isinstance(by, str):
            details = {"due_at": (due or rule_due).isoformat(), "off_topic": off_topic, "agency": agency.id}
            assignment.note(by, "opinion.promised", assignment.tracking_code, details)
        return await self._save(assignment, Status.ASSIGNED)

    async def settle_at_conclusion(self, conference: Conference) -> int:
        """What the conference left unanswered is concluded as a written answer, 30 days from its end."""
        settled = 0
        for doc in await self.repository.of_conference(conference.conference_id):
            if doc["status"] != Status.TABLED:
                continue
            assignment = Assignment.from_document(doc)
            try:
                await self.commit_in_writing(
                    assignment, conference, due=None, off_topic=False, agency_id=None, by="kết luận hội nghị"
                )
                settled += 1
            except TransitionRefused:
                continue  # settled meanwhile (a redelivery, or the secretary just now)
        return settled

    async def release_from(self, conference: Conference) -> int:
        """A cancelled conference's opinions are placed as if received outside a conference (assigned with a
        deadline from receipt, or sent up)."""
        released = 0
        for doc in await self.repository.of_conference(conference.conference_id):
            if doc["status"] != Status.TABLED:
                continue
            assignment = Assignment.from_document(doc)
            assignment.leave_conference()
            await self._place(assignment, assignment.story)
            if await self.repository.save(assignment):
                released += 1
        return released

    async def put_on_agenda(self, assignment: Assignment, *, conference_id: str, by: Actor) -> Assignment:
        """An opinion given to this level (from a child) put before this level's own conference; KeyError if
        that conference is unknown here or no longer takes opinions."""
        conference = await self.conference(conference_id)
        if conference is None or conference.status not in ACCEPTS_OPINIONS:
            raise KeyError(conference_id)
        assignment.put_on_agenda(conference_id)
        assignment.note(by, "opinion.put_on_agenda", assignment.tracking_code, {"conference_id": conference_id})
        return await self._save(assignment, Status.ASSIGNED)

    async def promise(
        self,
        assignment: Assignment,
        *,
        due: datetime | None,
        off_topic: bool,
        by: Actor,
        agency_id: str | None = None,
    ) -> Assignment:
        if assignment.status == Status.TABLED:
            conference = await self.conference(assignment.conference_id)
            if conference is None:
                raise TransientError(f"conference {assignment.conference_id} not known here yet")
            return await self.commit_in_writing(
                assignment, conference, due=due, off_topic=off_topic, agency_id=agency_id, by=by
            )
        assignment.promise(due=due, off_topic=off_topic, by=_name(by), now=self.clock.now())
        assert assignment.due_at is not None
        details = {"due_at": assignment.due_at.isoformat(), "off_topic": off_topic}
        assignment.note(by, "opinion.promised", assignment.tracking_code, details)
        return await self._save(assignment, Status.ASSIGNED)

    async def merge(self, assignment: Assignment, into: Assignment, *, reason: str | None, by: Actor) -> Assignment:
        """`assignment` raises the matter `into` raises: one item to answer. Two single-document writes, the
        co-signer on `into` first: if the second is refused (answered meanwhile) the first is taken back; if the
        process dies between them, merging again completes it (both steps are idempotent)."""
        if into.merged_into:  # merged into a third: merge into that one instead
            raise MergeRefused("into_merged")
        assignment.merge_into(into, reason=reason, by=_name(by), now=self.clock.now())  # checks before writing
        if assignment.changed:
            into.take_cosigner(assignment)
            if into.changed:
                into.note(by, "opinion.cosigner_added", into.tracking_code, {"opinion": assignment.tracking_code})
                await self._save(into, Status(into.status))
            assignment.note(by, "opinion.merged", assignment.tracking_code, {"into": into.tracking_code,
                                                                             "reason": reason})  # fmt: skip
            try:
                await self._save(assignment, Status.MERGED)
            except TransitionRefused:
                kept = [c for c in into.cosigners if c["opinion_id"] != assignment.opinion_id]
                into.set(cosigners=kept)
                await self.repository.save(into)
                raise
            metrics.MERGES.labels(**metrics.base()).inc()
        elif all(c["opinion_id"] != assignment.opinion_id for c in into.cosigners):
            into.take_cosigner(assignment)  # a merge a crash left half done
            await self._save(into, Status(into.status))
        return assignment

    async def reclassify(
        self, assignment: Assignment, *, field: str, head: Head | None, reason: str, by: Actor
    ) -> Assignment:
        """Staff correct the field the rules chose (the head follows the field unless named); counted."""
        before = assignment.field
        head = head or self.rules.head_for(field)
        assignment.reclassify(field=field, head=head, reason=reason, by=_name(by), now=self.clock.now())
        details = {"from": before, "to": field, "head": head.value, "reason": reason}
        assignment.note(by, "opinion.reclassified", assignment.tracking_code, details)
        await self._save(assignment, Status(assignment.status))
        metrics.CLASSIFICATION_CORRECTIONS.labels(**metrics.base(), from_field=before, to_field=field).inc()
        return assignment

    async def reassign(self, assignment: Assignment, *, agency_id: str, reason: str, by: Actor) -> Assignment:
        agency = next((a for a in await self.directory.all() if a.id == agency_id), None)
        if agency is None:
            raise UnknownAgency(agency_id)
        previous = (assignment.agency or {}).get("id")
        assignment.reassign(agency.ref(), reason=reason, by=_name(by), now=self.clock.now())
        details = {"from": previous, "to": agency_id, "reason": reason}
        assignment.note(by, "opinion.reassigned", assignment.tracking_code, details)
        return await self._save(assignment, Status.ASSIGNED)

    async def redirect(self, assignment: Assignment, *, kind: RedirectKind, reason: str, by: Actor) -> Assignment:
        assignment.redirect(kind, reason=reason, by=_name(by), now=self.clock.now())
        details = {"kind": kind.value, "reason": reason}
        assignment.note(by, "opinion.redirected", assignment.tracking_code, details)
        return await self._save(assignment, Status.REDIRECTED)

    async def agencies(self) -> list[Agency]:
        return await self.directory.all()

    async def page(
        self, query: dict[str, Any], *, sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """Opinions as documents, for lists (an agency's inbox, a conference's agenda)."""
        return await self.repository.find(query, sort=sort, skip=skip, limit=limit)

    # ---- news from the parent ---------------------------------------------------------------

    async def on_progress(self, event: Envelope[Progress]) -> None:
        """The parent reports on an opinion this instance escalated: pass it down, or tell the citizen."""
        p = event.payload
        assignment = await self.repository.get(p.opinion_id)
        if assignment is not None and str(event.event_id) in assignment.processed:
            return
        if assignment is None or assignment.escalated_to() != p.from_instance:
            raise LinkRefused(
                "unknown_opinion", f"{p.from_instance!r} reports on {p.opinion_id}, which was not escalated to it"
            )
        rank = assignment.take_news(event, self.place)
        if await self.repository.save_news(assignment, str(event.event_id), rank):
            if isinstance(p, EscalationAcknowledgedV1):
                metrics.ESCALATIONS.labels(**metrics.base(), direction="acknowledged").inc()
            log.info("opinion %s: news from %s", assignment.tracking_code, p.holder_instance)


def _name(actor: Actor) -> str:
    """How a change's author is written on the opinion itself (the audit trail keeps the rest)."""
    record: dict[str, Any] = actor.as_record()
    return str(record.get("actor") or record.get("actor_id"))
