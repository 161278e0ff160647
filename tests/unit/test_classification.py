"""Classification by field and answering head from the keyword rule table, and the complaint hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.assignment import classification
from services.assignment.app import CONFIG
from services.assignment.classification import (
    RuleTable,
    complaint_reason,
    fold_case,
    looks_like_complaint,
    strip_marks,
)
from shared.events import FIELDS, Head


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


# ---- whole syllables, every way of typing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        # "cầu" of "yêu cầu" is not a bridge.
        ("Đề nghị phường yêu cầu chủ nhà thu dọn gạch đá, vật liệu", "construction"),
        ("De nghi phuong yeu cau chu nha thu don gach da, vat lieu", "construction"),
        # "cong an" is công an, never the drain "cống".
        ("de nghi cong an xa xu ly nhom thanh nien danh bac", "security_order"),
        ("cong an xa can tang cuong tuan tra ban dem", "security_order"),
        # but a drain typed with its marks is a drain
        ("Cống thoát nước đầu ngõ bị tắc, bốc mùi", "environment"),
        # unaccented, "de nghi" is đề nghị (not the dike "đê"), "trong" is trong (not trồng), "ca" is cả (not cá)
        ("de nghi xa sua duong vao trong thon, ca lang di lai kho khan", "traffic"),
    ],
)
def test_whole_syllables_and_phrases_not_substrings(rules: RuleTable, text: str, field: str) -> None:
    assert rules.classify(text).field == field


def test_yeu_cau_alone_is_not_traffic(rules: RuleTable) -> None:
    result = rules.classify("Tôi yêu cầu được trả lời bằng văn bản")
    assert result.field != "traffic"
    assert "cầu" not in result.matched_keywords


def test_mixed_typing_is_matched_word_by_word(rules: RuleTable) -> None:
    # accents stop midway: the accented part and the unaccented part both count
    result = rules.classify("Đề nghị phường kiểm tra việc lấn chiem dat loi di chung cua to dan pho")
    assert result.field == "land"
    assert "lối đi chung" in result.matched_keywords


def test_accented_words_keep_their_marks(rules: RuleTable) -> None:
    # "đặt"/"đạt" are not "đất"; a wrongly accented word is not read as another word
    assert rules.classify("Đặt lịch họp tổ dân phố").method == "default"
    assert rules.classify("Đạt danh hiệu tổ dân phố").method == "default"


def test_tone_placement_and_hoi_nga_slips_do_not_matter(rules: RuleTable) -> None:
    assert (
        rules.classify("Kênh mương thuỷ lợi bị bồi lấp").matched_keywords
        == rules.classify("Kênh mương thủy lợi bị bồi lấp").matched_keywords
    )
    # "bão hiễm" typed for "bảo hiểm" (hỏi/ngã confused)
    assert rules.classify("xin hỏi cấp thẻ bão hiễm y tế cho cháu ở đâu").field == "social_policy"


@pytest.mark.parametrize(
    ("text", "field", "word"),
    [
        ("UBND xã chưa cấp GCN cho nhà tôi", "land", "giấy chứng nhận"),
        ("Đề nghị TDP 5 họp bàn việc thu gom rác", "environment", "thu gom rác"),
        ("hoi CA xa ma ko thay xu ly vu trom xe", "security_order", "công an xã"),
        ("Xin hỏi thẻ BHYT hết hạn thì gia hạn ở đâu", "social_policy", "bảo hiểm y tế"),
        ("cty no BHXH cua cong nhan 2 nam", "social_policy", "bảo hiểm xã hội"),
        ("HTX chưa sửa trạm bơm, ruộng khô hết r", "agriculture", "hợp tác xã"),
        ("truong THCS thu qua nhieu khoan dau nam", "health_education", "trung học cơ sở"),
        ("1/3 đv ko đi sinh hoạt chi bộ", "party_building", "đảng viên"),
        ("Đề nghị đại biểu HĐND về tiếp xúc cử tri", "people_council", "tiếp xúc cử tri"),
    ],
)
def test_abbreviations_and_shorthand_are_understood(rules: RuleTable, text: str, field: str, word: str) -> None:
    result = rules.classify(text)
    assert result.field == field
    assert any(word in phrase for phrase in result.matched_keywords)  # the expansion did the matching


def test_capitals_only_abbreviation_leaves_the_lowercase_word_alone(rules: RuleTable) -> None:
    # "CA" is công an; "ca" (a case, a shift) is not
    result = rules.classify("Tổ dân phố 3 có 6 ca sốt xuất huyết, đề nghị phun thuốc diệt muỗi")
    assert result.field == "health_education"
    # nor is "CA" in a text typed all in capitals ("CA NHAN" is cá nhân)
    assert "security_order" not in rules.scores("XIN HOI CA NHAN TOI MUON MUA THE BAO HIEM Y TE")
    assert rules.classify("XIN HOI CA NHAN TOI MUON MUA THE BAO HIEM Y TE").field == "social_policy"


def test_anti_corruption_and_waste_go_to_the_committee_chair(rules: RuleTable) -> None:
    result = rules.classify("Đề nghị làm rõ dấu hiệu tham nhũng, lãng phí trong mua sắm tài sản công của xã")
    assert (result.field, result.head) == ("administration", Head.COMMITTEE_CHAIR)
    assert {"tham nhũng", "lãng phí"} <= set(result.matched_keywords)
    keywords = {rule.field: rule.keywords for rule in rules.rules}
    assert "tham nhũng" in keywords["administration"] and "tham nhũng" not in keywords["party_building"]


def test_a_party_member_as_party_member_stays_with_the_party(rules: RuleTable) -> None:
    result = rules.classify("Đề nghị chi bộ kiểm điểm đảng viên tổ chức đám cưới linh đình cho con")
    assert (result.field, result.head) == ("party_building", Head.PARTY_SECRETARY)


def test_the_explanation_is_the_winning_fields_phrases(rules: RuleTable) -> None:
    result = rules.classify("Rác thải ở ngõ 5 không được thu gom, bốc mùi hôi")
    assert result.method == "rules"
    own = {rule.field: rule.keywords for rule in rules.rules}[result.field]
    assert result.matched_keywords and set(result.matched_keywords) <= set(own)


def test_every_field_has_a_head_and_keywords(rules: RuleTable) -> None:
    assert {rule.field for rule in rules.rules} == set(FIELDS)
    assert all(rule.keywords for rule in rules.rules)
    assert rules.head_for("people_council") == Head.COUNCIL_CHAIR


# ---- the operator's table ---------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_operator_table_with_abbreviations_neutral_phrases_weights_and_accented_only(tmp_path: Path) -> None:
    table = RuleTable.from_yaml(
        write(
            tmp_path,
            "abbreviations:\n  NVH: nhà văn hóa\n  đc: được\n"
            "neutral: [yêu cầu]\n"
            "fields:\n"
            "  culture:\n    keywords: [nhà văn hóa]\n"
            "  traffic:\n    head: council_chair\n    keywords: [{đường: 5}]\n    accented_only: [cầu]\n",
        )
    )
    assert table.classify("NVH thôn Đông xuống cấp").matched_keywords == ("nhà văn hóa",)
    assert table.classify("nvh thon dong").method == "default"  # written in capitals in the table
    assert (table.classify("Cây cầu gãy").field, table.classify("Cây cầu gãy").head) == ("traffic", Head.COUNCIL_CHAIR)
    assert table.classify("cay cau gay").method == "default"  # accented only
    assert table.classify("yêu cầu").method == "default"  # neutral
    assert table.classify("đường và nhà văn hóa").field == "traffic"  # weight 5 beats 3 syllables


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("fields:\n  land:\n    head: mayor\n", "unknown head 'mayor'"),
        ("fields:\n  land:\n    keyword: [đất]\n", "unknown key"),
        ("fields:\n  land:\n    keywords: [đất]\n  agriculture:\n    keywords: [đất]\n", "listed twice"),
        ("fields:\n  land:\n    keywords: [{đất: -1}]\n", "positive number"),
        ("abbreviations:\n  ubnd: ủy ban nhân dân\n  UBND: ủy ban\n", "listed twice"),
        ("rules:\n  land: [đất]\n", "unknown section"),
    ],
)
def test_a_table_an_operator_got_wrong_is_refused_with_the_reason(tmp_path: Path, yaml_text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RuleTable.from_yaml(write(tmp_path, yaml_text))


# ---- complaints and denunciations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Tôi đã gửi đơn ba lần đề nghị xem xét lại quyết định xử phạt số 12/QĐ-XPHC đối với gia đình tôi.",
        "toi khieu nai quyet dinh thu hoi dat cua UBND xa doi voi gia dinh toi",
        "Tố cáo ông Nguyễn Văn X, cán bộ địa chính, nhận tiền của dân để làm nhanh hồ sơ.",
        "Trưởng thôn tự ý gạch tên gia đình tôi khỏi danh sách hỗ trợ, đề nghị xử lý trách nhiệm.",
        "Cán bộ tư pháp xã đòi 2 triệu đồng mới ký giấy xác nhận cho tôi.",
    ],
)
def test_complaints_in_substance_are_flagged(text: str) -> None:
    assert looks_like_complaint(text)
    assert complaint_reason(text)


@pytest.mark.parametrize(
    "text",
    [
        "Đề nghị tăng cường giải quyết khiếu nại, tố cáo của công dân, tránh tồn đọng.",
        "de nghi xa tang cuong giai quyet khieu nai, to cao cua cong dan",
        "Tôi đề nghị xã công khai kết quả giải quyết đơn thư khiếu nại hằng quý.",
        "Xin hỏi muốn khiếu nại quyết định xử phạt thì gửi đơn ở đâu?",
        "Xin hỏi tố giác tội phạm ma túy ở đâu thì được giữ bí mật?",
        "Gia đình tôi bị thu hồi đất làm đường nhưng chưa được nhận tiền bồi thường, đề nghị xã đôn đốc.",
        "Bà con thôn Đông cảm ơn cán bộ tư pháp xã đã hướng dẫn tận tình.",
    ],
)
def test_opinions_about_complaint_handling_are_not_flagged(text: str) -> None:
    assert not looks_like_complaint(text)
    assert complaint_reason(text) is None


def test_a_cue_is_looked_up_by_its_first_syllable_as_a_scan_of_every_cue_finds_it() -> None:
    """The complaint cues are indexed by their first syllable without marks (a token can only match a syllable
    whose unmarked form it shares): on accented, unaccented and capitalised text, the index finds what comparing
    every cue at every token finds."""
    cue_sets = [v for v in vars(classification).values() if isinstance(v, classification._Cues)]
    texts = [
        "Tôi đã gửi đơn ba lần đề nghị xem xét lại quyết định xử phạt số 12/QĐ-XPHC đối với gia đình tôi.",
        "toi khieu nai quyet dinh thu hoi dat cua UBND xa doi voi gia dinh toi, can bo dia chinh doi tien",
        "TỐ CÁO ÔNG NGUYỄN VĂN X, CÁN BỘ ĐỊA CHÍNH, NHẬN TIỀN CỦA DÂN ĐỂ LÀM NHANH HỒ SƠ.",
        "Trưởng thôn tự ý gạch tên gia đình em khỏi danh sách hỗ trợ; bố em đã làm đơn, chưa được trả lời.",
    ]

    def scan(cues: classification._Cues, toks: list[classification.Token], i: int) -> tuple[str, int] | None:
        best = None
        for text, syls, strict in cues.phrases:
            n = len(syls)
            fits = i + n <= len(toks) and all(
                classification._same(toks[i + j], syls[j], strict) is not False for j in range(n)
            )
            if fits and (best is None or n > best[1]):
                best = (text, n)
        return best

    assert len(cue_sets) >= 10
    found = 0
    for text in texts:
        toks = classification.tokens(text)
        for cues in cue_sets:
            for i in range(len(toks) + 1):
                assert cues.at(toks, i) == scan(cues, toks, i), (text, i)
                found += cues.at(toks, i) is not None
    assert found >= 20


def test_the_complaint_reason_quotes_what_decided() -> None:
    reason = complaint_reason("Tôi khiếu nại việc UBND phường cưỡng chế tháo dỡ mái che trước nhà tôi.")
    assert reason is not None and "khiếu nại" in reason
