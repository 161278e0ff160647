"""Pure rules of linked deployments: hierarchy, jurisdiction, link checks, periods, summaries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.links import Hierarchy, InstanceSpec
from services.assignment.app import CONFIG
from services.assignment.domain import outcome, progress_rank
from services.assignment.jurisdiction import JurisdictionTable
from shared.clock import VIETNAM
from shared.events import FIELDS, EscalationRequestedV1, Figures, Summary
from shared.messaging.links import REPLAYED_USER_ID, LinkGuard, LinkRefused, link_user, shovel_name
from shared.periods import current_periods, parse_period
from shared.settings import ServiceSettings

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def spec(id_: str, level: str, parent: str | None = None) -> InstanceSpec:
    return InstanceSpec(id=id_, name=id_, level=level, parent=parent)


def test_a_hierarchy_is_a_tree_whose_levels_rise() -> None:
    three = Hierarchy(instances=[spec("w1", "ward", "d1"), spec("d1", "district", "c1"), spec("c1", "city")])
    assert [(s.id, t.id) for s, t in three.links()] == [("w1", "d1"), ("d1", "w1"), ("d1", "c1"), ("c1", "d1")]
    two = Hierarchy(instances=[spec("w1", "ward", "c1"), spec("w2", "commune", "c1"), spec("c1", "province")])
    assert [c.id for c in two.children("c1")] == ["w1", "w2"]
    env = two.settings_env("w1")
    assert env["DOITHOAI_PARENT_ID"] == "c1" and env["DOITHOAI_PARENT_LEVEL"] == "province"
    with pytest.raises(ValidationError, match="cannot have"):
        Hierarchy(instances=[spec("d1", "district", "w1"), spec("w1", "ward")])
    with pytest.raises(ValidationError, match="not in the hierarchy"):
        Hierarchy(instances=[spec("w1", "ward", "nowhere")])
    with pytest.raises(ValidationError, match="unknown level"):
        spec("w1", "hamlet")


def test_settings_refuse_neighbours_that_make_no_sense() -> None:
    ok = ServiceSettings(instance_id="w1", level="ward", parent_id="d1", parent_level="district", child_ids=[])
    assert ok.neighbours == ["d1"]
    with pytest.raises(ValidationError, match="needs DOITHOAI_PARENT_LEVEL"):
        ServiceSettings(instance_id="w1", level="ward", parent_id="d1")
    with pytest.raises(ValidationError, match="must be above"):
        ServiceSettings(instance_id="d1", level="district", parent_id="w1", parent_level="ward")
    with pytest.raises(ValidationError, match="own parent"):
        ServiceSettings(instance_id="w1", level="ward", child_ids=["w1"])


def test_the_broker_password_comes_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "broker"
    secret.write_text("m@t khẩu/1\n", encoding="utf-8")
    for url in ("amqp://doithoai-w1@rabbitmq:5672/w1", "amqp://doithoai-w1:old@rabbitmq:5672/w1"):
        settings = ServiceSettings(instance_id="w1", broker_url=url, broker_password_file=secret)
        assert settings.broker_url == "amqp://doithoai-w1:m%40t%20kh%E1%BA%A9u%2F1@rabbitmq:5672/w1"
    with pytest.raises(ValidationError):
        ServiceSettings(instance_id="w1", broker_password_file=tmp_path / "missing")


def test_jurisdiction_compares_level_ranks() -> None:
    table = JurisdictionTable.from_yaml(CONFIG / "jurisdiction.three-level.yaml")  # as before July 2025
    assert table.level_for("land") == "district" and table.level_for("traffic") == "ward"
    assert not table.within("ward", "land") and table.within("district", "land")
    assert table.within("city", "land")  # a two-level chain: the city has the district's authority
    assert table.within("commune", "traffic")
    today = JurisdictionTable.from_yaml(CONFIG / "jurisdiction.yaml")  # since July 2025
    assert all(today.within("commune", field) for field in FIELDS)  # what a commune decides, by field
    assert not today.within("ward", "health_education", "Bệnh viện đa khoa thành phố quá tải")
    with pytest.raises(ValueError, match="unknown field"):
        JurisdictionTable.of_levels("ward", {"weather": "city"})


def request(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "from_instance": "w1", "to_instance": "d1", "opinion_id": "o", "tracking_code": "YK-1",
        "origin_instance": "w1", "chain": ["w1"], "field": "land", "head": "committee_chair",
        "channel": "direct", "text": "Đất", "submitted_at": NOW, "reason": "r", "requested_at": NOW,
    }  # fmt: skip
    return {**body, **changes}


def test_escalation_chains_must_start_at_the_origin_end_at_the_sender_and_never_loop() -> None:
    assert EscalationRequestedV1(**request(chain=["w0", "w1"], origin_instance="w0")).chain == ["w0", "w1"]
    with pytest.raises(ValidationError, match="start at the origin"):
        EscalationRequestedV1(**request(chain=["x", "w1"]))
    with pytest.raises(ValidationError, match="end at the sender"):
        EscalationRequestedV1(**request(chain=["w1", "x"]))
    with pytest.raises(ValidationError, match="loop"):
        EscalationRequestedV1(**request(chain=["d1", "w1"], origin_instance="d1"))
    with pytest.raises(ValidationError, match="at most 4 items"):
        EscalationRequestedV1(**request(chain=["a", "b", "c", "e", "w1"], origin_instance="a"))  # hop limit


async def test_link_guard_believes_the_broker_checked_user_id_not_headers() -> None:
    guard = LinkGuard("d1", parent="c1", children=["w1", "w2"])
    w1 = link_user("w1", "d1")
    payload = EscalationRequestedV1(**request())
    await guard.from_child(payload, w1, {})
    # Replayed by an operator from a dead-letter queue: the original user_id travels in a header.
    await guard.from_child(payload, None, {REPLAYED_USER_ID: w1})
    forged_header = {"x-shovelled": [{"shovel-name": shovel_name("w1", "d1")}]}
    cases = [
        (
            EscalationRequestedV1(**request(from_instance="w9", chain=["w9"], origin_instance="w9")),
            w1,
            {},
            "unknown_child",
        ),
        (payload, None, forged_header, "sender_mismatch"),  # a header anyone can write
        (payload, None, {}, "sender_mismatch"),
        (payload, link_user("w2", "d1"), {}, "sender_mismatch"),  # a sibling posing as w1
        (payload, "doithoai-w1", {}, "sender_mismatch"),
        (EscalationRequestedV1(**request(to_instance="c1")), w1, {}, "not_addressed_here"),
    ]
    for bad, user_id, headers, reason in cases:
        with pytest.raises(LinkRefused) as exc:
            await guard.from_child(bad, user_id, headers)
        assert exc.value.reason == reason, (user_id, headers)
    with pytest.raises(LinkRefused) as exc:
        await guard.from_parent(payload, w1, {})
    assert exc.value.reason == "not_parent"


def test_periods_in_vietnam_time() -> None:
    q2 = parse_period("2026-q2")
    assert q2.code == "2026-Q2" and q2.label == "quý 2 năm 2026"
    assert q2.start.astimezone(VIETNAM).isoformat() == "2026-04-01T00:00:00+07:00"
    assert q2.end.astimezone(VIETNAM).isoformat() == "2026-07-01T00:00:00+07:00"
    assert parse_period("2026-12").end.astimezone(VIETNAM).date().isoformat() == "2027-01-01"
    assert parse_period("2026-9M").label == "9 tháng đầu năm 2026"
    assert parse_period("2026").start.astimezone(VIETNAM).month == 1
    for bad in ("2026-13", "2026-Q5", "26", "2026-7M"):
        with pytest.raises(ValueError, match="is not one of"):
            parse_period(bad)
    assert current_periods(datetime(2026, 12, 31, 18, 0, tzinfo=UTC)) == ["2027-01", "2027"]


def test_news_from_above_is_ordered_and_outcomes_are_counted_where_resolved() -> None:
    assert progress_rank("forwarded", "city") > progress_rank("accepted", "district")
    assert progress_rank("accepted", "city") > progress_rank("forwarded", "city")
    assert progress_rank("answered", "ward") > progress_rank("accepted", "province")
    assert outcome({"status": "answered", "kind": "on_the_spot"}) == "answered_on_the_spot"
    assert outcome({"status": "answered", "kind": "written"}) == "answered_in_writing"
    assert outcome({"status": "escalated", "escalated_to_level": "district"}) == "escalated_to_district"
    assert outcome({"status": "answered", "kind": "written", "holder_level": "city"}) == "escalated_to_city"
    assert outcome({"status": "assigned"}) == "pending"


def test_summaries_add_up_over_the_tree() -> None:
    def leaf(name: str, received: int, field: str) -> Summary:
        return Summary(
            instance=name,
            name=name,
            level="ward",
            period="2026",
            generated_at=NOW,
            own=Figures(received=received, by_field={field: received}, on_time=1),
        )

    district = Summary(
        instance="d",
        name="d",
        level="district",
        period="2026",
        generated_at=NOW,
        own=Figures(received=2, by_field={"land": 2}, handled_for_children=3),
        children=[leaf("w1", 3, "land"), leaf("w2", 4, "traffic")],
    )
    total = district.total()
    assert total.received == 9 and total.by_field == {"land": 5, "traffic": 4}
    assert total.on_time == 2 and total.handled_for_children == 3
    assert Summary.model_validate_json(district.model_dump_json()).total() == total
