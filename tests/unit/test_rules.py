"""Pure rules: deadlines, status transitions, timers, tracking codes, event envelopes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.assignment.domain import Status, TransitionRefused, answer_due_at, check_transition
from services.intake.domain import Stage, change_for, new_tracking_code, normalize_tracking_code
from services.scheduling.domain import TimerKind, plan_timers
from shared.clock import VIETNAM
from shared.events import (
    AgencyRef,
    Envelope,
    OpinionAnsweredV1,
    OpinionClassifiedV1,
    OpinionOverdueV1,
    OpinionReceivedV1,
    Source,
)
from shared.events.opinions import TRACKING_CODE_PATTERN

SOURCE = Source(level="ward", instance="w", service="test")


def test_due_date_is_end_of_the_thirtieth_day_in_vietnam() -> None:
    received = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 03:00 on 2 March in Vietnam
    due = answer_due_at(received, 30)
    local = due.astimezone(VIETNAM)
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2026, 4, 1, 23, 59)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)


def test_due_date_counts_calendar_days_over_month_ends() -> None:
    received = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
    assert answer_due_at(received, 30).astimezone(VIETNAM).date().isoformat() == "2026-03-02"


def test_an_answered_opinion_cannot_be_answered_again() -> None:
    check_transition(Status.ASSIGNED, Status.ANSWERED)
    with pytest.raises(TransitionRefused) as exc:
        check_transition(Status.ANSWERED, Status.ANSWERED)
    assert exc.value.current is Status.ANSWERED


def test_read_model_stages_are_ordered_so_late_events_never_go_backwards() -> None:
    assert Stage.RECEIVED < Stage.CLASSIFIED < Stage.ASSIGNED < Stage.CLOSED
    classified = OpinionClassifiedV1(
        opinion_id="o", tracking_code="YK-0000-0000", field="land", head="committee_chair", method="rules"
    )
    assert change_for(classified).stage is Stage.CLASSIFIED
    answered = OpinionAnsweredV1(
        opinion_id="o", tracking_code="c", kind="written", text="t", answered_by="x", answered_at=datetime.now(UTC)
    )
    change = change_for(answered)
    assert change.stage is Stage.CLOSED and change.set["overdue"] is False


def test_overdue_only_applies_to_open_opinions() -> None:
    overdue = OpinionOverdueV1(
        opinion_id="o", tracking_code="c", agency=AgencyRef(id="a", name="A"), due_at=datetime.now(UTC)
    )
    change = change_for(overdue)
    assert change.stage is None and change.before is Stage.CLOSED and change.set == {"overdue": True}


def test_timers_for_the_reminders_still_ahead_and_the_deadline() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    due = now + timedelta(days=5)
    plans = plan_timers("op", due, now, [7, 3, 1, 3])
    assert [(p.kind, p.days_left) for p in plans] == [
        (TimerKind.DUE_SOON, 3),
        (TimerKind.DUE_SOON, 1),
        (TimerKind.OVERDUE, 0),
    ]
    assert plans[-1].fire_at == due
    # The same timer always yields the same event id: a second firing is recognisable.
    again = plan_timers("op", due, now, [3, 1])
    assert [p.event_id for p in plans] == [p.event_id for p in again]
    assert len({p.event_id for p in plans}) == 3


def test_tracking_codes_have_the_documented_shape_and_survive_sloppy_typing() -> None:
    import re

    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.match(TRACKING_CODE_PATTERN, c) for c in codes)
    assert normalize_tracking_code(" yk-7f3k-9qo2 ") == "YK-7F3K-9Q02"


def test_envelope_refuses_a_type_that_does_not_match_its_payload() -> None:
    event = Envelope.new(
        OpinionClassifiedV1(opinion_id="o", tracking_code="c", field="land", head="committee_chair", method="rules"),
        SOURCE,
    )
    data = event.model_dump(mode="json")
    assert Envelope[OpinionClassifiedV1].model_validate(data).event_id == event.event_id
    with pytest.raises(ValidationError, match="does not match the payload contract"):
        Envelope[OpinionClassifiedV1].model_validate({**data, "event_type": "opinion.classified.v2"})
    with pytest.raises(ValidationError):
        Envelope[OpinionReceivedV1].model_validate(data)


def test_caused_events_carry_the_story() -> None:
    cause = Envelope.new(
        OpinionClassifiedV1(opinion_id="o", tracking_code="c", field="land", head="committee_chair", method="rules"),
        SOURCE,
        correlation_id="story-1",
    )
    effect = Envelope.new(cause.payload, SOURCE, cause=cause)
    assert effect.correlation_id == "story-1"
    assert effect.causation_id == str(cause.event_id)
    assert isinstance(effect.event_id, uuid.UUID) and effect.event_id != cause.event_id


def test_unknown_field_in_an_event_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown field code 'weather'"):
        OpinionClassifiedV1(opinion_id="o", tracking_code="c", field="weather", head="committee_chair", method="rules")
