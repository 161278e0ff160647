"""An administrative unit as its documents and mails name it: "Ủy ban nhân dân phường Bồ Đề", "Chủ tịch UBND
thành phố", "Bí thư Thành ủy"; never the bare unit name where a body or a title is meant.

The kind of unit (xã, phường, đặc khu, quận, huyện, thị xã, tỉnh, thành phố) is read from the start of the
instance's name ("Phường Bồ Đề"), else from its level. The Party committee of a commune-level unit is its
"Đảng ủy"; of a district "Quận ủy"/"Huyện ủy"/"Thị ủy"; of a city "Thành ủy"; of a province "Tỉnh ủy"
(Điều lệ Đảng; Hướng dẫn 36-HD/VPTW for the names on documents).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.vocabulary import Head

# The kind words a unit's name starts with, longest first ("thành phố" before "thị").
KINDS = ("thành phố", "thị trấn", "thị xã", "đặc khu", "phường", "quận", "huyện", "tỉnh", "xã")
KIND_OF_LEVEL = {
    "commune": "xã",
    "ward": "phường",
    "special_zone": "đặc khu",
    "township": "thị trấn",
    "district": "quận",
    "town": "thị xã",
    "province": "tỉnh",
    "city": "thành phố",
}
PARTY_COMMITTEE = {
    "quận": "Quận ủy",
    "huyện": "Huyện ủy",
    "thị xã": "Thị ủy",
    "thành phố": "Thành ủy",
    "tỉnh": "Tỉnh ủy",
}


@dataclass(frozen=True)
class Unit:
    level: str
    name: str  # as people write it: "Phường Bồ Đề", "Thành phố Hà Nội"

    @property
    def kind(self) -> str:
        """xã, phường, thành phố…: from the name when it says, else from the level."""
        lowered = self.name.strip().lower()
        return next((k for k in KINDS if lowered.startswith(k + " ")), KIND_OF_LEVEL.get(self.level, "xã"))

    @property
    def proper(self) -> str:
        """The name without its kind: "Bồ Đề", "Hà Nội"."""
        name = self.name.strip()
        return name[len(self.kind) :].strip() if name.lower().startswith(self.kind + " ") else name

    @property
    def committee(self) -> str:
        """The People's Committee, the body that issues the administrative documents."""
        return f"Ủy ban nhân dân {self.kind} {self.proper}"

    @property
    def council(self) -> str:
        return f"Hội đồng nhân dân {self.kind} {self.proper}"

    @property
    def party_committee(self) -> str:
        committee = PARTY_COMMITTEE.get(self.kind)
        return f"{committee} {self.proper}" if committee else f"Đảng ủy {self.kind} {self.proper}"

    def title(self, head: Head) -> str:
        """The head's title at this unit: "Bí thư Đảng ủy phường", "Chủ tịch UBND thành phố", "Bí thư Thành ủy"."""
        if head is Head.PARTY_SECRETARY:
            committee = PARTY_COMMITTEE.get(self.kind)
            return f"Bí thư {committee}" if committee else f"Bí thư Đảng ủy {self.kind}"
        body = "HĐND" if head is Head.COUNCIL_CHAIR else "UBND"
        return f"Chủ tịch {body} {self.kind}"
