"""Error translation, and the notification templates with their variables."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from services.notification.rendering import Templates
from shared.http.errors import translate


def test_pydantic_errors_become_bilingual_field_errors() -> None:
    err = translate({"type": "string_too_short", "loc": ("body", "text"), "msg": "too short", "ctx": {"min_length": 1}})
    assert err == {"field": "text", "message_vi": "Không được để trống", "message_en": "too short"}
    err = translate({"type": "value_error", "loc": ("body", "citizen", "email"), "msg": "bad email"})
    assert err["field"] == "citizen.email" and "email" in err["message_vi"]
    err = translate({"type": "missing", "loc": ("body", "channel"), "msg": "Field required"})
    assert err["message_vi"] == "Thiếu trường bắt buộc"


def test_every_template_renders_vietnamese_subject_and_body() -> None:
    templates = Templates()
    common = {
        "instance_name": "Phường Bồ Đề",
        "issuer": "Ủy ban nhân dân phường Bồ Đề",
        "tracking_code": "YK-1234-ABCD",
        "status_url": "http://x/YK-1234-ABCD",
        "inbox_url": "http://x/hop-thu/YK-1234-ABCD",
    }
    cases = {
        "citizen_ack": {
            "citizen_name": "Chị B",
            "channel_label": "Gửi trực tuyến",
            "submitted_at": "08:00",
            "text": "Đường hỏng",
        },
        "assignment_notice": {
            "agency_name": "Địa chính",
            "field_name": "Đất đai",
            "head_label": "Chủ tịch UBND",
            "channel_label": "Gửi trực tuyến",
            "submitted_at": "08:00",
            "due_date": "01/02/2026",
            "text": "Đất",
        },
        "citizen_answer": {
            "citizen_name": None,
            "answer_kind_label": "Trả lời bằng văn bản",
            "answered_by": "UBND",
            "document_number": "12/UBND",
            "answered_at": "01/02/2026",
            "answer_text": "Đã sửa",
            "cosigner_of": "YK-5678-EFGH",
        },
        "citizen_merged": {"citizen_name": "Ông Phạm Văn Dũng", "into_tracking_code": "YK-5678-EFGH", "reason": None},
        "reminder": {"agency_name": "Địa chính", "due_date": "01/02/2026", "days_left": 3},
        "overdue_notice": {"agency_name": "Địa chính", "due_date": "01/02/2026"},
        "escalation_notice": {
            "citizen_name": "Anh C",
            "holder_name": "Quận D",
            "agency_name": "Địa chính",
            "due_date": None,
        },
        "ack_reminder": {
            "agency_name": "Địa chính",
            "original_subject": "Giao xử lý",
            "sent_at": "08:00 ngày 01/02/2026",
        },
        "citizen_written": {
            "citizen_name": "Bà Nguyễn Thị Mai",
            "agency_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
            "due_date": "14/04/2026",
            "off_topic": False,
            "conference_name": "Hội nghị đối thoại quý I năm 2026",
        },
        "citizen_correction": {
            "citizen_name": "Ông Trần Văn Bình",
            "reason": "Thư ký ghi nhầm tháng",
            "document_number": None,
            "answer_text": "Thay bóng đèn trong tháng 4.",
        },
        "citizen_redirect": {
            "citizen_name": "Ông Lê Văn Cường",
            "kind_label": "khiếu nại",
            "reason": "Đề nghị xem xét lại quyết định xử phạt",
            "reception_name": "Bộ phận tiếp công dân của UBND phường",
            "reception_place": "Trụ sở UBND phường",
            "reception_hours": "Thứ Hai đến thứ Sáu",
            "reception_basis": "Luật Tiếp công dân năm 2013",
        },
    }
    for kind, variables in cases.items():
        rendered = templates.render(kind, {**common, "ack_url": "http://n/ack?token=t", **variables})
        assert "YK-1234-ABCD" in rendered.subject and "\n" not in rendered.subject
        assert "Ủy ban nhân dân phường Bồ Đề" in rendered.body, kind  # the issuing body, never the bare name
        assert rendered.sms and len(rendered.sms) <= 160 and "YK-1234-ABCD" in rendered.sms
        assert rendered.sms.isascii(), rendered.sms  # one GSM segment: no diacritics, not even in names
    notice = templates.render("assignment_notice", {**common, **cases["assignment_notice"], "ack_url": "http://n/ack"})
    assert "http://n/ack" in notice.body
    without = templates.render("assignment_notice", {**common, **cases["assignment_notice"], "ack_url": None})
    assert "xác nhận" not in without.body


def test_a_missing_template_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        Templates().render("reminder", {"instance_name": "A", "tracking_code": "YK", "status_url": "u"})


def test_instance_templates_override_the_built_in_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "reminder.j2").write_text(
        "{% block subject %}Nhắc {{ tracking_code }}{% endblock %}{% block body %}Riêng{% endblock %}", encoding="utf-8"
    )
    rendered = Templates(tmp_path).render("reminder", {"tracking_code": "YK-1"})
    assert (rendered.subject, rendered.body) == ("Nhắc YK-1", "Riêng\n")


def test_json_log_lines_carry_the_story_they_belong_to() -> None:
    import json
    import logging

    from shared.observability.logging import JsonFormatter, _ContextFilter, log_context

    record = logging.LogRecord("services.x", logging.INFO, __file__, 1, "assigned %s", ("YK-1",), None)
    with log_context(correlation_id="story-42", event_id="e-1"):
        _ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "assigned YK-1" and line["correlation_id"] == "story-42" and line["event_id"] == "e-1"
