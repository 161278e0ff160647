"""The shared words of the contracts: channels, fields (lĩnh vực) and answering heads (người đứng đầu)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator


class Channel(StrEnum):
    """How an opinion reached the government."""

    FRONT_COLLECTED = "front_collected"
    DIRECT = "direct"
    WRITTEN = "written"
    ONLINE = "online"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.FRONT_COLLECTED: "Mặt trận Tổ quốc thu thập trước hội nghị",
    Channel.DIRECT: "Phát biểu trực tiếp tại hội nghị",
    Channel.WRITTEN: "Gửi bằng văn bản",
    Channel.ONLINE: "Gửi trực tuyến",
}


class Head(StrEnum):
    """The head who must answer: Party matters, People's Council matters, government matters."""

    PARTY_SECRETARY = "party_secretary"
    COUNCIL_CHAIR = "council_chair"
    COMMITTEE_CHAIR = "committee_chair"

    @property
    def label(self) -> str:
        return HEAD_LABELS[self]


HEAD_LABELS = {
    Head.PARTY_SECRETARY: "Bí thư Đảng ủy",
    Head.COUNCIL_CHAIR: "Chủ tịch HĐND",
    Head.COMMITTEE_CHAIR: "Chủ tịch UBND",
}


@dataclass(frozen=True)
class Field:
    code: str
    name: str
    head: Head
    description: str


FIELDS: dict[str, Field] = {
    f.code: f
    for f in (
        Field(
            "land",
            "Đất đai",
            Head.COMMITTEE_CHAIR,
            "Cấp giấy chứng nhận quyền sử dụng đất, tranh chấp ranh giới, giải phóng mặt bằng, bồi thường.",
        ),
        Field(
            "construction",
            "Xây dựng, quy hoạch, đô thị",
            Head.COMMITTEE_CHAIR,
            "Trật tự xây dựng, quy hoạch, chỉnh trang đô thị, nhà ở.",
        ),
        Field(
            "environment",
            "Tài nguyên, môi trường",
            Head.COMMITTEE_CHAIR,
            "Vệ sinh môi trường, rác thải, nước thải, ô nhiễm, cây xanh.",
        ),
        Field(
            "traffic",
            "Giao thông, hạ tầng",
            Head.COMMITTEE_CHAIR,
            "Đường giao thông, ngõ xóm, đường nội đồng, chiếu sáng, an toàn giao thông.",
        ),
        Field(
            "agriculture",
            "Nông nghiệp, thủy lợi",
            Head.COMMITTEE_CHAIR,
            "Sản xuất nông nghiệp, giống, dịch bệnh, kênh mương, thủy lợi nội đồng.",
        ),
        Field(
            "social_policy",
            "Lao động, chính sách xã hội",
            Head.COMMITTEE_CHAIR,
            "Người có công, bảo trợ xã hội, hộ nghèo, bảo hiểm, việc làm.",
        ),
        Field(
            "health_education", "Y tế, giáo dục", Head.COMMITTEE_CHAIR, "Trạm y tế, trường học, học phí, tiêm chủng."
        ),
        Field(
            "security_order",
            "An ninh, trật tự",
            Head.COMMITTEE_CHAIR,
            "An ninh trật tự, tệ nạn xã hội, phòng cháy chữa cháy.",
        ),
        Field(
            "administration",
            "Cải cách hành chính",
            Head.COMMITTEE_CHAIR,
            "Thủ tục hành chính, thái độ phục vụ của cán bộ, công chức.",
        ),
        Field(
            "culture", "Văn hóa, thông tin", Head.COMMITTEE_CHAIR, "Nhà văn hóa, lễ hội, loa truyền thanh, thể thao."
        ),
        Field(
            "party_building",
            "Xây dựng Đảng",
            Head.PARTY_SECRETARY,
            "Công tác xây dựng Đảng, cán bộ đảng viên, sinh hoạt chi bộ.",
        ),
        Field(
            "people_council",
            "Hoạt động HĐND",
            Head.COUNCIL_CHAIR,
            "Hoạt động của HĐND và đại biểu HĐND, tiếp xúc cử tri, giám sát.",
        ),
        Field("other", "Lĩnh vực khác", Head.COMMITTEE_CHAIR, "Ý kiến chưa xếp được vào lĩnh vực nào."),
    )
}

OTHER_FIELD = "other"


# Administrative levels by rank. Since 1 July 2025 Vietnam has two levels of local government
# (commune/ward → province/city); the district rank remains for the three-level chains that
# still exist in data and in other deployments. A deployment names its level; the rank orders it.
LEVEL_RANKS: dict[str, int] = {
    "commune": 1,
    "ward": 1,
    "special_zone": 1,
    "township": 1,
    "district": 2,
    "town": 2,
    "province": 3,
    "city": 3,
}

LEVEL_LABELS: dict[str, str] = {
    "commune": "xã",
    "ward": "phường",
    "special_zone": "đặc khu",
    "township": "thị trấn",
    "district": "quận/huyện",
    "town": "thị xã",
    "province": "tỉnh",
    "city": "thành phố",
}


def check_level(value: str) -> str:
    if value not in LEVEL_RANKS:
        raise ValueError(f"unknown level {value!r}; known levels: {', '.join(LEVEL_RANKS)}")
    return value


def check_fields(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in FIELDS]
    if unknown:
        raise ValueError(f"unknown field code(s) {unknown}; known codes: {', '.join(FIELDS)}")
    return values


Level = Annotated[str, AfterValidator(check_level)]
FieldCodes = Annotated[list[str], AfterValidator(check_fields)]
