"""The duplicate finder's core: which opinions raise the same matter, read from Vietnamese as people type it.

Pure logic, no I/O; the services store what `signature` and `blocking_keys` return on the opinion and call
`likely_duplicates` on submission. How a text is read (`signature`):

- NFC, lower case, "đ" → "d", tone and vowel marks removed for comparison; the marked form is kept beside a
  term, to show staff the words and to tell "sống" from "sông" when both sides typed marks (hỏi and ngã
  count as one, people confuse them). Phone shorthand and abbreviations are expanded ("ko", "dc", "r",
  "bh", "TDP", "UBND"…); a few true synonyms become one word ("đền bù" = "bồi thường", "sổ hồng" = "sổ đỏ")
  and names of institutions one token ("HĐND", "trạm y tế"), so their syllables never pass for content.
- Places are read first: residential units (tổ dân phố 5 = tổ 5 = TDP 5; khu phố, thôn, xóm, ấp, bản),
  alleys and roads (ngõ/ngách/hẻm/kiệt N, phố X, tỉnh lộ N) and landmarks (chợ X, trường X, kênh N8,
  số nhà). A name is what follows in capitals, or, in text typed all in lower case, up to two syllables
  (such a reading is marked loose: "xom ben hat" may be "xóm Bến" + "hát"). Place words leave the content:
  a neighbourhood in common never makes two matters one; hard negatives share it all the time.
- The rest becomes content terms: syllables and pairs of adjacent syllables, without function words.
  Numbers stay ("ngõ 12" is never "ngõ 21"), except a digit alone ("2 buổi").

`score` is the IDF-weighted cosine of the content terms (`idf_from` counts them over the instance's
opinions; rare words say more), raised when both name the same unit or alley, a little when they name
the same landmark or one names the other's place without its unit ("ở Kim Quan"), and multiplied by
`OTHER_PLACE` when they state different units or alleys (`OTHER_NESTED` for a thôn and a xóm, which may lie
one in the other). A place only adds in proportion to shared content: same place, other matter stays low.
`blocking_keys` are the few keys (places, pairs of syllables) to index and fetch candidates by.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from shared.text import strip_marks

__all__ = [
    "MAX_KEYS",
    "THRESHOLD",
    "Idf",
    "Match",
    "Signature",
    "blocking_keys",
    "idf_from",
    "likely_duplicates",
    "neighbourhood",
    "normalise",
    "score",
    "signature",
]

# Chosen on tests/data/duplicates.jsonl with IDF over that file and opinions.jsonl (bench/similarity.py).
THRESHOLD = 0.29
MAX_KEYS = 30

# ---- reading a text --------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_HOUR = re.compile(r"^(\d+)(h|g)$")  # "1h", "9g": giờ
_NUMBER_WORD = re.compile(r"^\d+[a-z]?$")  # "12", and "12a" for an alley
_SENTENCE_END = set(".!?:;\n\"'(")

# Shorthand and abbreviations, keyed without marks ("đc" and "dc" alike); the idea and most entries come from
# the classifier's table (services/assignment/config/classification.yaml), copied so shared/ stays independent.
_SHORT = {
    "ubnd": "ủy ban nhân dân",
    "hdnd": "hội đồng nhân dân",
    "mttq": "mặt trận tổ quốc",
    "tdp": "tổ dân phố",
    "kdc": "khu dân cư",
    "kp": "khu phố",
    "csgt": "cảnh sát giao thông",
    "pccc": "phòng cháy chữa cháy",
    "htx": "hợp tác xã",
    "thcs": "trung học cơ sở",
    "thpt": "trung học phổ thông",
    "tyt": "trạm y tế",
    "bv": "bệnh viện",
    "nvh": "nhà văn hóa",
    "hcc": "hành chính công",
    "tthc": "thủ tục hành chính",
    "ccb": "cựu chiến binh",
    "dbqh": "đại biểu quốc hội",
    "db": "đại biểu",
    "gcn": "giấy chứng nhận",
    "qsdd": "quyền sử dụng đất",
    "gcnqsdd": "giấy chứng nhận quyền sử dụng đất",
    "gpxd": "giấy phép xây dựng",
    "bhyt": "bảo hiểm y tế",
    "bhxh": "bảo hiểm xã hội",
    "cccd": "căn cước công dân",
    "cmnd": "chứng minh nhân dân",
    "atgt": "an toàn giao thông",
    "attp": "an toàn thực phẩm",
    "vsmt": "vệ sinh môi trường",
    "gpmb": "giải phóng mặt bằng",
    "tdc": "tái định cư",
    "dv": "đảng viên",
    "cb": "cán bộ",
    "cbcc": "cán bộ công chức",
    "cty": "công ty",
    "gv": "giáo viên",
    "ktra": "kiểm tra",
    "ntn": "như thế nào",
    "ko": "không",
    "k": "không",
    "kh": "không",
    "hok": "không",
    "dc": "được",
    "j": "gì",
    "r": "rồi",
    "bh": "bao giờ",
    "h": "giờ",
    "ng": "người",
    "e": "em",
    "vs": "với",
    "kara": "karaoke",
    "tl": "tỉnh lộ",
    "ql": "quốc lộ",
}
# Only in capitals: "CA" is công an, "ca" a shift; "TH" is tiểu học, "th" often thì.
_SHORT_CAPITALS = {"CA": "công an", "CAX": "công an xã", "TH": "tiểu học", "MN": "mầm non"}

# What people write in different words for one thing, compared without marks: true synonyms only, not
# related matters ("ngập" is not "rãnh thoát nước"). The left side becomes the right.
_SYNONYMS = {
    "den bu": "bồi thường",
    "so hong": "sổ đỏ",
    "giay chung nhan quyen su dung dat": "sổ đỏ",
    "giay chung nhan": "sổ đỏ",
    "cap 1": "tiểu học",
    "nuoc may": "nước sạch",
    "cay so": "km",
    "ki lo met": "km",
    "mat trom": "trộm",
    "trom cap": "trộm",
    "ngap ung": "ngập",
    "cup dien": "mất điện",
    "cat dien": "mất điện",
    "o voi": "ổ gà",
    "den duong": "đèn",
    "den chieu sang": "đèn",
    "bong den": "đèn",
    "tieng on": "ồn",
    "on ao": "ồn",
    "hoi thoi": "mùi hôi",
    "boc mui": "mùi hôi",
    "rac thai": "rác",
    "xe gan may": "xe máy",
}
# Names of one thing in several words, kept as one word so their syllables ("hội", "đồng", "công") never pass
# for content of their own: the phrase without marks → (the word, as staff read it).
_COMPOUNDS = {
    "hoi dong nhan dan": ("hdnd", "HĐND"),
    "uy ban nhan dan": ("ubnd", "UBND"),
    "mat tran to quoc": ("mttq", "MTTQ"),
    "hop tac xa": ("htx", "hợp tác xã"),
    "trung hoc co so": ("thcs", "THCS"),
    "cap 2": ("thcs", "THCS"),
    "trung hoc pho thong": ("thpt", "THPT"),
    "cap 3": ("thpt", "THPT"),
    "tram y te": ("tyt", "trạm y tế"),
    "cong an": ("cong_an", "công an"),
    "bao hiem y te": ("bhyt", "BHYT"),
    "bao hiem xa hoi": ("bhxh", "BHXH"),
    "ma tuy": ("ma_tuy", "ma túy"),
    "nghien hut": ("ma_tuy", "ma túy"),
    "dan nghien": ("ma_tuy", "ma túy"),
    "con nghien": ("ma_tuy", "ma túy"),
    "nghien": ("ma_tuy", "ma túy"),
    "tiem chich": ("ma_tuy", "ma túy"),
    "lo mom long mong": ("lmlm", "lở mồm long móng"),
    "sot xuat huyet": ("sxh", "sốt xuất huyết"),
}
_SHOWN = {word: shown for word, shown in _COMPOUNDS.values()}
_REWRITES = sorted(
    [(tuple(k.split()), [(strip_marks(w), w) for w in v.split()]) for k, v in _SYNONYMS.items()]
    + [(tuple(k.split()), [(word, shown)]) for k, (word, shown) in _COMPOUNDS.items()],
    key=lambda rewrite: -len(rewrite[0]),
)

# Function words without marks: they never say what the matter is (nor do the words of every opinion:
# "đề nghị", "xã", "người dân").
_STOP = frozenset(
    """
    va cua la khong duoc thi ma cac mot nhung se dang da cung van con chua roi lai nua moi rat qua lam hay hoac
    nen vi neu nhu the nao gi ai sao toi chung minh em anh chi ong ba chau ho ca tu den cho voi ve ra
    vao len xuong de nghi xin hoi kien phan anh tai o nay day kia ay nhe a oi u vay thay biet muon can di
    phai bi tren duoi trong ngoai sau truoc khi luc hien nhieu it hon het tung cai tinh trang
    viec xa phuong thon xom to dan pho nguoi nha gia dinh cu tri lanh dao uy ban nhan ly xu
    kiem tra xem xet giai quyet som ngay co
    """.split()
)
_NUMBER_WORDS = frozenset("mot hai ba bon nam sau bay tam chin muoi tram nghin".split())


@dataclass(frozen=True)
class _Token:
    plain: str  # lower case, without marks: "ngo"
    marked: str  # lower case with marks, as typed or expanded: "ngõ"
    capital: bool  # typed with a capital letter, not at the start of a sentence: part of a name
    number: bool  # "12", "12a"
    joined: bool = True  # False after punctuation: no pair of syllables reaches across it


def _expand(word: str, shouting: bool) -> list[tuple[str, bool]]:
    """A word as one or more (lower-case piece, typed with a capital) pairs, shorthand expanded."""
    if word in _SHORT_CAPITALS and not shouting:
        return [(w, False) for w in _SHORT_CAPITALS[word].split()]
    lower = word.casefold()
    hour = _HOUR.match(lower)
    if hour:
        return [(hour.group(1), False), ("giờ", False)]
    key = lower.replace("đ", "d")
    if key.isascii() and key in _SHORT:
        return [(w, False) for w in _SHORT[key].split()]
    return [(lower, word[:1].isupper())]


def _tokens(text: str) -> list[_Token]:
    """The words of a text, shorthand expanded; a capital opening a sentence says nothing about a name, nor
    does any in text typed mostly in capitals."""
    text = unicodedata.normalize("NFC", text)
    matches = list(_WORD.finditer(text))
    letters = [m.group() for m in matches if not m.group().isdigit()]
    shouting = 2 * sum(w.isupper() and len(w) > 1 for w in letters) > len(letters)
    out: list[_Token] = []
    previous = 0
    for m in matches:
        between = text[previous : m.start()]
        opening = not out or any(c in _SENTENCE_END for c in between)
        previous = m.end()
        for n, (piece, capital) in enumerate(_expand(m.group(), shouting)):
            name = capital and not shouting and not opening
            number = _NUMBER_WORD.match(piece) is not None
            out.append(_Token(strip_marks(piece), piece, name, number, n > 0 or between.isspace() or not out))
    return out


def _rewrite(tokens: list[_Token]) -> list[_Token]:
    """Synonyms to one word, names of institutions to one token."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        for left, right in _REWRITES:
            if tuple(t.plain for t in tokens[i : i + len(left)]) == left:
                joined = tokens[i].joined
                out.extend(
                    _Token(plain, marked, False, False, joined or n > 0) for n, (plain, marked) in enumerate(right)
                )
                i += len(left)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def normalise(text: str, *, marks: bool = False) -> str:
    """The text as comparisons read it: NFC, lower case, words only, shorthand expanded, numbers kept; without
    marks and with "đ" → "d" unless marks=True.

    "Ngõ 12 TDP 5 ko dc xử lý" → "ngo 12 to dan pho 5 khong duoc xu ly" (marks=True: "ngõ 12 tổ dân phố 5
    không được xử lý").
    """
    return " ".join(t.marked if marks else t.plain for t in _tokens(text))


# ---- places ----------------------------------------------------------------------------------------------

# What may name a place after its word: a number ("ngõ 12", "ngõ 12a"), a code ("kênh N8"), a name typed with
# capitals ("thôn Đông Hạ"), or a name typed in lower case when the whole text is ("thon dong ha").
_NUMBER, _CODE, _CAPITALS, _LOWER = 1, 2, 4, 8
# Units and streets differ when both sides state one that differs; landmarks are named too loosely for that.
_UNIT, _STREET, _LANDMARK = "unit", "street", "landmark"
# The place word with its marks (typed without any, it counts too: "thon"; with others, not: "trưởng" is not
# "trường", "phó" is not "phố", "ngô" is not "ngõ") → (kind, category, what may name it).
_PLACE_WORDS_MARKED: dict[str, tuple[str, str, int]] = {
    "tổ dân phố": ("to dan pho", _UNIT, _NUMBER | _CAPITALS),
    "tổ": ("to dan pho", _UNIT, _NUMBER),  # "tổ 5"; a "tổ" without a number is a group of anything
    "khu phố": ("khu pho", _UNIT, _NUMBER | _CAPITALS | _LOWER),
    "khu dân cư": ("khu dan cu", _UNIT, _NUMBER | _CAPITALS),
    "khu": ("khu", _UNIT, _NUMBER),
    "thôn": ("thon", _UNIT, _NUMBER | _CAPITALS | _LOWER),
    "xóm": ("xom", _UNIT, _NUMBER | _CAPITALS | _LOWER),
    "ấp": ("ap", _UNIT, _NUMBER | _CAPITALS | _LOWER),
    "bản": ("ban", _UNIT, _NUMBER | _CAPITALS),
    "ngõ": ("ngo", _STREET, _NUMBER | _CAPITALS),
    "ngách": ("ngach", _STREET, _NUMBER | _CAPITALS),
    "hẻm": ("hem", _STREET, _NUMBER | _CAPITALS),
    "kiệt": ("kiet", _STREET, _NUMBER | _CAPITALS),
    "tỉnh lộ": ("tinh lo", _STREET, _NUMBER | _CODE),
    "quốc lộ": ("quoc lo", _STREET, _NUMBER | _CODE),
    "hương lộ": ("huong lo", _STREET, _NUMBER | _CODE),
    "phố": ("pho", _STREET, _CAPITALS),
    "đường": ("duong", _STREET, _CAPITALS),
    "chợ": ("cho", _LANDMARK, _CAPITALS),
    "trường": ("truong", _LANDMARK, _CAPITALS),
    "kênh": ("kenh", _LANDMARK, _CODE | _CAPITALS),
    "khu tập thể": ("khu tap the", _LANDMARK, _CAPITALS | _LOWER),
    "tập thể": ("khu tap the", _LANDMARK, _CAPITALS),
    "vườn hoa": ("vuon hoa", _LANDMARK, _CAPITALS | _LOWER),
    "khu tái định cư": ("khu tai dinh cu", _LANDMARK, _CAPITALS | _LOWER),
    "trạm bơm": ("tram bom", _LANDMARK, _CAPITALS | _LOWER),
    "số": ("so nha", _LANDMARK, _NUMBER),  # a house number, only before an alley or street: "số 8 ngõ 35"
}
_PLACE_WORDS = {tuple(strip_marks(k).split()): (tuple(k.split()), *v) for k, v in _PLACE_WORDS_MARKED.items()}
_PLACE_LENGTHS = sorted({len(w) for w in _PLACE_WORDS}, reverse=True)
_CATEGORY = {kind: category for kind, category, _ in _PLACE_WORDS_MARKED.values()}
_KIND_NAMES = sorted(_CATEGORY, key=len, reverse=True)
_PLACE_HEADS = {"to dan pho": "tổ dân phố", "so nha": "số nhà", "khu tap the": "khu tập thể"}
_SCHOOL_LEVELS = [tuple(level.split()) for level in ("tieu hoc", "thcs", "thpt", "mam non", "mau giao")]
_CODE_NAME = re.compile(r"^[a-z]{1,3}\d+[a-z]?$")
# Words that end a name typed in lower case ("xom ben hai tuan nay", "thon con lay loi", "xom giua bi").
_NOT_NAME = _NUMBER_WORDS | frozenset(
    """
    va cua la co da dang bi duoc khong thi ma nay do o tai den cho voi ve ra vao cac nhung rat qua con chua
    van cung roi minh toi em nha dan phuong thon xom de nghi xin nam thang tuan ngay dem toi sang
    """.split()
)
# Units of two kinds that may lie one inside the other (a xóm of a thôn): naming both says nothing.
_NESTED = {
    frozenset(pair) for pair in (("thon", "xom"), ("thon", "ap"), ("khu pho", "to dan pho"), ("khu", "to dan pho"))
}
_NESTED |= {frozenset(("khu dan cu", kind)) for kind in ("to dan pho", "thon", "xom", "khu pho", "ap")}
_LOOSE = "?"  # ends the key of a place whose name was read from lower-case typing


@dataclass(frozen=True)
class _Place:
    kind: str  # "to dan pho", "ngo", "thon", "cho"…
    name: str  # "5", "dong ha", "bat khoi", "ben hat?" (loose)
    start: int
    end: int  # token span, end excluded
    shown: str  # for staff, with marks where typed: "tổ dân phố 5", "thôn Đông Hạ"

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


def _places(tokens: list[_Token]) -> list[_Place]:
    cased = any(t.capital for t in tokens)  # a text with capitals writes its names with capitals
    found: list[_Place] = []
    i = 0
    while i < len(tokens):
        place = _place_at(tokens, i, cased)
        found += [place] if place else []
        i = place.end if place else i + 1
    return found


def _place_at(tokens: list[_Token], i: int, cased: bool) -> _Place | None:
    if tokens[i].plain == "xom" and i > 0 and tokens[i - 1].plain == "hang":
        return None  # "hàng xóm": a neighbour
    for length in _PLACE_LENGTHS:
        here = tokens[i : i + length]
        entry = _PLACE_WORDS.get(tuple(t.plain for t in here))
        if entry is None:
            continue
        marked, kind, _, accepts = entry
        if any(t.marked != t.plain and _tone_key(t.marked) != _tone_key(m) for t, m in zip(here, marked, strict=True)):
            continue
        j = i + length
        if kind == "truong":
            j += next((len(lv) for lv in _SCHOOL_LEVELS if tuple(t.plain for t in tokens[j : j + len(lv)]) == lv), 0)
        if j + 1 < len(tokens) and tokens[j].plain == "so" and tokens[j + 1].number:
            j += 1  # "tổ dân phố số 5"
        end = _name_end(tokens, j, accepts, cased)
        if end == j or (kind == "so nha" and not _street_at(tokens, end)):
            continue
        return _place(kind, tokens, i, j, end)
    return None


def _street_at(tokens: list[_Token], i: int) -> bool:
    entry = _PLACE_WORDS.get((tokens[i].plain,)) if i < len(tokens) else None
    return entry is not None and entry[2] == _STREET


def _name_end(tokens: list[_Token], j: int, accepts: int, cased: bool) -> int:
    """Where the number or name after a place word ends; j when there is none."""
    if j >= len(tokens):
        return j
    first = tokens[j]
    if first.number:
        return j + 1 if accepts & _NUMBER else j
    if _CODE_NAME.match(first.plain):
        return j + 1 if accepts & _CODE else j
    k = j
    if accepts & _CAPITALS and first.capital:
        while k < len(tokens) and k - j < 3 and tokens[k].capital and not tokens[k].number:
            k += 1
    elif accepts & _LOWER and not cased:
        while k < len(tokens) and k - j < 2 and tokens[k].plain not in _NOT_NAME and not tokens[k].number:
            k += 1
    return k


def _place(kind: str, tokens: list[_Token], start: int, name_start: int, end: int) -> _Place:
    named = tokens[name_start:end]
    name = " ".join(t.plain for t in named)
    if not any(t.capital or t.number for t in named) and not _CODE_NAME.match(name):
        name += _LOOSE
    head = _PLACE_HEADS.get(kind) or " ".join(t.marked for t in tokens[start:name_start] if not t.plain == "so")
    typed = " ".join(
        t.marked.upper() if _CODE_NAME.match(t.plain) else t.marked.title() if t.capital else t.marked for t in named
    )
    return _Place(kind, name, start, end, f"{head} {typed}")


def _kind(place: str) -> str:
    return next((k for k in _KIND_NAMES if place.startswith(k + " ")), place)


def _name(place: str) -> str:
    """A place's name without its kind nor the mark of a loose reading: "thon dong ha?" → "dong ha"."""
    return place[len(_kind(place)) + 1 :].removesuffix(_LOOSE)


def _loose(place: str) -> bool:
    return place.endswith(_LOOSE)


def neighbourhood(text: str) -> str | None:
    """The residential unit a text names, else its first alley or street, else its first landmark, in one
    spelling: "TDP 5", "tổ 5", "tổ dân phố số 5" → "to dan pho 5"; "thôn Đông Hạ", "thon dong ha" →
    "thon dong ha"; "ngõ 12" → "ngo 12"; None when it names no place."""
    places = _places(_tokens(text))
    order = (_UNIT, _STREET, _LANDMARK)
    ranked = sorted(places, key=lambda p: (order.index(_CATEGORY[p.kind]), p.kind == "so nha"))
    return ranked[0].key.removesuffix(_LOOSE) if ranked else None


# ---- signatures ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """What the finder keeps of one opinion. Store `as_dict()` on the opinion document (lists and a map of
    strings, about 0.5 kB) and rebuild it with `Signature.from_dict`; the text need not be read again."""

    terms: tuple[str, ...]  # content without marks, in the order read: "ngap", "thoat nuoc", "30"
    places: tuple[str, ...]  # one spelling each: "ngo 12", "to dan pho 5", "thon dong ha", "xom ben hat?"
    shown: Mapping[str, str] = field(default_factory=dict)  # term or place → as typed with marks

    @property
    def neighbourhood(self) -> str | None:
        units = [p for p in self.places if _CATEGORY[_kind(p)] == _UNIT]
        return units[0].removesuffix(_LOOSE) if units else None

    def as_dict(self) -> dict[str, object]:
        return {"terms": list(self.terms), "places": list(self.places), "shown": dict(self.shown)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Signature:
        terms, places, shown = data.get("terms"), data.get("places"), data.get("shown", {})
        if not isinstance(terms, list | tuple) or not isinstance(places, list | tuple) or not isinstance(shown, dict):
            raise ValueError(f"not a stored similarity signature: {data!r:.120}; rebuild it with signature(text)")
        return cls(tuple(map(str, terms)), tuple(map(str, places)), {str(k): str(v) for k, v in shown.items()})


def signature(text: str) -> Signature:
    """Read a text once: its places and its content terms (see the module's notes)."""
    tokens = _rewrite(_tokens(text))
    places = _places(tokens)
    taken = {k for p in places for k in range(p.start, p.end)}
    # A word typed with a capital mid-sentence is part of a name ("ở Thanh Lâm"), never a function word.
    content = [None if k in taken or (t.plain in _STOP and not t.capital) else t for k, t in enumerate(tokens)]
    terms: dict[str, str] = {}
    for k, tok in enumerate(content):
        if tok is None:
            continue
        if not (tok.number and len(tok.plain) == 1):  # "2 buổi", "3 lần": a digit alone says nothing
            terms.setdefault(tok.plain, tok.marked)
        nxt = content[k + 1] if k + 1 < len(content) else None
        if nxt is not None and nxt.joined:
            terms.setdefault(f"{tok.plain} {nxt.plain}", f"{tok.marked} {nxt.marked}")
    shown = {term: marked for term, marked in terms.items() if marked != term}
    for p in places:
        shown.setdefault(p.key, p.shown)
    return Signature(tuple(terms), tuple(dict.fromkeys(p.key for p in places)), shown)


# ---- weights ---------------------------------------------------------------------------------------------


class Idf(Mapping[str, float]):
    """Inverse document frequency of terms over a set of signatures; a term never seen weighs the most.

    Counted by `idf_from` over the instance's opinions; store `as_dict()` and rebuild with `Idf(**stored)`.
    """

    def __init__(self, df: Mapping[str, int], documents: int) -> None:
        self.df = dict(df)
        self.documents = documents

    def __getitem__(self, term: str) -> float:
        return math.log((self.documents + 1) / (self.df.get(term, 0) + 1)) + 1

    def __contains__(self, term: object) -> bool:
        return term in self.df

    def __iter__(self) -> Iterator[str]:
        return iter(self.df)

    def __len__(self) -> int:
        return len(self.df)

    def as_dict(self) -> dict[str, object]:
        return {"df": dict(self.df), "documents": self.documents}


def idf_from(signatures: Iterable[Signature]) -> Idf:
    """Term weights counted over signatures (every opinion of the instance, say): rare terms weigh more."""
    df: Counter[str] = Counter()
    documents = 0
    for sig in signatures:
        documents += 1
        df.update(set(sig.terms))
    return Idf(df, documents)


def _weigher(idf: Mapping[str, float] | None) -> Callable[[str], float]:
    if idf is None:
        return lambda term: PAIR_WEIGHT if " " in term else 1.0
    if isinstance(idf, Idf):
        return idf.__getitem__
    unseen = max(idf.values(), default=1.0)
    return lambda term: idf.get(term, unseen)


# ---- scoring ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    score: float  # 0..1
    reasons: list[str]  # for staff: "cùng ngõ 12, tổ dân phố 5", "trùng nội dung: ngập, rãnh thoát nước"


PAIR_WEIGHT = 1.5  # without IDF, a shared pair of syllables says more than a shared syllable
SAME_PLACE = 0.35  # the same unit or alley: this share of what the content leaves to 1 is added…
SAME_NAME = 0.2  # …the same landmark, or a place one side names without its unit ("ở Kim Quan")…
CONTENT_FOR_BONUS = 0.25  # …in full from this content score on, in proportion below it
OTHER_PLACE = 0.25  # a different unit or alley stated on both sides multiplies the score by this…
OTHER_NESTED = 0.5  # …units of kinds that may lie one in the other (a xóm of a thôn) by this


def score(a: Signature, b: Signature, idf: Mapping[str, float] | None = None) -> Match:
    """How likely a and b raise the same matter, 0..1, and why, in words staff can check."""
    weight = _weigher(idf)
    same, named, other = _compare_places(a, b)
    # Place names count as places, never as content: "ở Kim Quan" on one side, "thôn Kim Quan" on the other.
    names = {_name(p) for p in (*a.places, *b.places)}
    ta = {t for t in a.terms if t not in names}
    tb = {t for t in b.terms if t not in names}
    common = {t for t in ta & tb if _same_marks(t, a, b)}
    wa, wb = sum(map(weight, ta)), sum(map(weight, tb))
    content = sum(map(weight, common)) / math.sqrt(wa * wb) if wa and wb else 0.0

    value = content
    support = min(1.0, content / CONTENT_FOR_BONUS)
    if same:
        value += SAME_PLACE * (1 - value) * support
    if named:
        value += SAME_NAME * (1 - value) * support
    if other:
        nested = all(frozenset((_kind(x), _kind(y))) in _NESTED for x, y in other)
        value *= OTHER_NESTED if nested else OTHER_PLACE

    reasons = []
    if same or named:
        reasons.append("cùng " + ", ".join(_show(p, a, b) for p in [*same, *named]))
    if common:
        reasons.append("trùng nội dung: " + ", ".join(_show_chain(c, a, b) for c in _strongest(common, weight)))
    if other:
        reasons.append("khác nơi: " + "; ".join(f"{_show(x, a, b)} và {_show(y, a, b)}" for x, y in other))
    return Match(round(min(1.0, value), 4), reasons)


def _same_marks(term: str, a: Signature, b: Signature) -> bool:
    """Each syllable typed with marks on both sides must agree in them: "sống" (to live) is not "sông" (a river),
    "dài" is not "đại". Hỏi and ngã count as one, since people confuse them ("sữa chữa" is "sửa chữa")."""
    x, y = a.shown.get(term), b.shown.get(term)
    if x is None or y is None or len(x.split()) != len(y.split()):
        return True
    pairs = zip(x.split(), y.split(), strict=True)
    return all(strip_marks(u) == u or strip_marks(v) == v or _tone_key(u) == _tone_key(v) for u, v in pairs)


def _tone_key(marked: str) -> str:
    return unicodedata.normalize("NFD", marked.casefold()).replace("\u0303", "\u0309")


def _compare_places(a: Signature, b: Signature) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Places both state alike (units, alleys), places named alike (landmarks, bare names), places that differ.

    Residential units differ across kinds too (khu phố 4 is not thôn Yên Khê) unless one may lie in the other
    (`_NESTED`). One unit or alley in common outweighs another of its category that differs (a home and the site).
    """
    same: list[str] = []
    named: list[str] = []
    other: list[tuple[str, str]] = []
    for pa in a.places:
        for pb in b.places:
            ka, kb, na, nb = _kind(pa), _kind(pb), _name(pa), _name(pb)
            ca, cb = _CATEGORY[ka], _CATEGORY[kb]
            alike = _compatible(na, nb, _loose(pa) or _loose(pb))
            if ka == kb and alike:
                kept = min(pa, pb, key=lambda p: (_loose(p), len(p)))
                (named if ca == _LANDMARK else same).append(kept)
            elif ca == cb != _LANDMARK and (ka == kb or ca == _UNIT):
                other.append((pa, pb))
            elif na == nb and " " in na:
                named.append(pa)  # "thôn Đông Dư" and "trạm bơm Đông Dư"
    for mine, theirs in ((a, b), (b, a)):
        terms = set(theirs.terms)
        named += [p for p in mine.places if " " in _name(p) and _name(p) in terms]  # "ở Kim Quan"
    matched = {_CATEGORY[_kind(p)] for p in same}
    other = [(x, y) for x, y in other if _CATEGORY[_kind(x)] not in matched]
    same = list(dict.fromkeys(same))
    return same, [p for p in dict.fromkeys(named) if p not in same], other


def _compatible(x: str, y: str, loose: bool) -> bool:
    """Two spellings of one name: equal, or, when one was read from lower case, one starts the other ("ben" /
    "ben hat" of "xom ben hat dem khuya"). "Đông" and "Đông Hạ" typed with capitals are two villages."""
    return x == y or loose and (x.startswith(y + " ") or y.startswith(x + " "))


def _show(key: str, a: Signature, b: Signature) -> str:
    """A term or place as typed, from the side that typed it with marks."""
    return a.shown.get(key) or b.shown.get(key) or key


def _strongest(common: set[str], weight: Callable[[str], float], most: int = 5) -> list[list[str]]:
    """The shared terms that say most, as chains of terms: pairs that follow each other are joined and hide their
    own syllables ("rãnh thoát" + "thoát nước" → "rãnh thoát nước", and "rãnh" is not repeated)."""
    chains: list[list[str]] = []
    for term in sorted(common, key=lambda t: (-weight(t) - (" " in t), t)):
        words = term.split()
        if any(set(words) <= {w for t in chain for w in t.split()} for chain in chains):
            continue
        for chain in chains if len(words) == 2 else ():
            if " " in chain[-1] and chain[-1].split()[-1] == words[0]:
                chain.append(term)
                break
            if " " in chain[0] and chain[0].split()[0] == words[1]:
                chain.insert(0, term)
                break
        else:
            if len(chains) < most:
                chains.append([term])
    return chains


def _show_chain(chain: list[str], a: Signature, b: Signature) -> str:
    shown = [_show(t, a, b).split() for t in chain]
    return " ".join(shown[0] + [words[-1] for words in shown[1:]])


def likely_duplicates(
    query: Signature,
    candidates: Iterable[tuple[str, Signature]],
    idf: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
    limit: int = 5,
) -> list[tuple[str, Match]]:
    """The candidates (id, signature) scoring at least threshold against query, best first, at most limit.
    Leave the query's own opinion out of the candidates."""
    found = [(key, score(query, sig, idf)) for key, sig in candidates]
    found = [(key, match) for key, match in found if match.score >= threshold]
    found.sort(key=lambda km: (-km[1].score, km[0]))
    return found[:limit]


# ---- blocking --------------------------------------------------------------------------------------------


def blocking_keys(sig: Signature) -> list[str]:
    """At most MAX_KEYS keys to store on the opinion (an indexed array) and to query candidates with `$in`.

    A place gives its kind with its number or the first syllable of its name ("p:ngo 12", "p:thon dong":
    a name read from lower case may hold one syllable too many) and its name as a pair ("t:dong ha", which
    the other side has as content when it names the place without its unit). Content gives its pairs of
    syllables and its one-token names ("t:thoat nuoc", "t:tyt"), in the order of the text.
    """
    keys: list[str] = []
    for p in sig.places:
        name = _name(p).split()
        keys.append(f"p:{_kind(p)} {name[0]}")
        if len(name) > 1:
            keys.append(f"t:{name[0]} {name[1]}")
    keys += [f"t:{t}" for t in sig.terms if " " in t or t in _SHOWN]
    return list(dict.fromkeys(keys))[:MAX_KEYS]


# ---- grouping (the heads' dossier) -----------------------------------------------------------------------


def group_alike(
    items: list[tuple[str, Signature]],
    linked: Iterable[tuple[str, str]] = (),
    idf: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
) -> list[tuple[list[str], list[str]]]:
    """Items (id, signature) gathered into groups raising one matter: pairs scoring at least threshold, and the
    `linked` pairs (opinions staff merged), joined transitively. Each group of two or more, in the items' order,
    with why in words ("cùng tổ dân phố 5", "trùng nội dung: ngập úng") from its strongest pair."""
    index = {key: k for k, (key, _) in enumerate(items)}
    parent = list(range(len(items)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    best: dict[int, Match] = {}
    for (i, (_, a)), (j, (_, b)) in ((p, q) for p in enumerate(items) for q in enumerate(items) if p[0] < q[0]):
        match = score(a, b, idf)
        if match.score >= threshold:
            parent[root(j)] = root(i)
            if match.score > best.get(i, Match(0.0, [])).score:
                best[i] = match
    for x, y in linked:
        if x in index and y in index:
            parent[root(index[y])] = root(index[x])
    members: dict[int, list[int]] = {}
    for k in range(len(items)):
        members.setdefault(root(k), []).append(k)
    groups = []
    for ks in members.values():
        if len(ks) < 2:
            continue
        strongest = max((best[k] for k in ks if k in best), key=lambda m: m.score, default=None)
        groups.append(([items[k][0] for k in ks], strongest.reasons if strongest else []))
    return groups
