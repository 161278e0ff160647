"""Classification by field and answering head from the keyword rule table."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.assignment.app import CONFIG
from services.assignment.classification import RuleTable, fold_case, strip_marks
from shared.events import Head


@pytest.fixture(scope="module")
def rules() -> RuleTable:
    return RuleTable.from_yaml(CONFIG / "classification.yaml")


@pytest.mark.parametrize(
    ("text", "field", "head"),
    [
        ("Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho gia đình tôi", "land", Head.COMMITTEE_CHAIR),
        ("Rác thải ở ngõ 5 không được thu gom, bốc mùi hôi", "environment", Head.COMMITTEE_CHAIR),
        ("Kênh mương nội đồng bị bồi lấp, không tưới tiêu được", "agriculture", Head.COMMITTEE_CHAIR),
        ("Một số đảng viên chi bộ 3 không gương mẫu", "party_building", Head.PARTY_SECRETARY),
        ("Cử tri đề nghị đại biểu HĐND giám sát việc này", "people_council", Head.COUNCIL_CHAIR),
        ("Gia đình người có công chưa được hưởng trợ cấp", "social_policy", Head.COMMITTEE_CHAIR),
    ],
)
def test_classifies_by_keywords(rules: RuleTable, text: str, field: str, head: Head) -> None:
    result = rules.classify(text)
    assert (result.field, result.head, result.method) == (field, head, "rules")
    assert result.matched_keywords


def test_text_typed_without_diacritics_is_recognised(rules: RuleTable) -> None:
    result = rules.classify("de nghi cap giay chung nhan quyen su dung dat")
    assert result.field == "land"


def test_case_and_unicode_composition_do_not_matter(rules: RuleTable) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "KÊNH MƯƠNG BỊ BỒI LẤP")
    assert rules.classify(decomposed).field == "agriculture"


def test_accented_text_is_not_matched_by_a_different_accented_word(rules: RuleTable) -> None:
    # "đặt" (to place) must not be read as "đất" (land) when the citizen wrote the accents.
    assert rules.classify("Đặt lịch họp tổ dân phố").field == "other"
    assert rules.classify("Đặt lịch họp tổ dân phố").method == "default"


def test_longer_phrases_outweigh_single_words(rules: RuleTable) -> None:
    # "đường" (traffic) once versus the land phrase "giải phóng mặt bằng".
    assert rules.classify("Bồi thường giải phóng mặt bằng làm đường").field == "land"


def test_submitted_field_and_head_win(rules: RuleTable) -> None:
    result = rules.classify("Rác thải", field="land", head=Head.COUNCIL_CHAIR)
    assert (result.field, result.head, result.method) == ("land", Head.COUNCIL_CHAIR, "submitted")
    assert rules.classify("Rác thải", field="party_building").head == Head.PARTY_SECRETARY


def test_rule_table_with_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("fields:\n  weather:\n    keywords: [mưa]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field code 'weather'"):
        RuleTable.from_yaml(path)


def test_folding_helpers() -> None:
    assert fold_case("  Đất-đai!! ") == " đất đai "
    assert strip_marks(fold_case("Đất ĐAI")) == " dat dai "
