"""Classifying an opinion by field and answering head from the operator's keyword table; spotting complaints.

The table (config/classification.yaml) lists per field its head and its keywords, written with their marks;
optional weights, keywords that count only when typed with marks, neutral phrases and an abbreviation
table. How a text is read (keywords are read the same way, so both sides always compare alike):

- It is cut into syllables (NFC, case-folded; punctuation separates). Abbreviations and phone shorthand
  of the table ("UBND", "TDP", "ko", "dc"…) are replaced by what they stand for.
- A syllable typed with marks is compared with its marks, tone placement and the hỏi/ngã confusion aside
  ("hoà" = "hòa", "sữa chữa" = "sửa chữa"): "đặt" is never "đất". A syllable typed without any mark is
  compared without marks ("dat" = "đất"), so unaccented and mixed typing both work, syllable by syllable.
  Inside accented writing such a syllable is more likely a real unmarked word ("ca" of "ca trực", not
  "cá"), so a keyword found that way counts half; a keyword marked accented-only is not found that way.
- Keywords are whole syllables and phrases, never parts of one. Where phrases overlap, the reading made
  of the longest phrases wins: "yêu cầu" (a neutral phrase) hides "cầu", "công an" hides "cống",
  "nhà văn hóa" beats "sửa nhà" + "văn hóa".
- Each phrase found weighs its number of syllables, or the weight the table gives it; the field with the
  highest sum wins, a tie goes to the field listed first. The winning field's phrases are the explanation
  staff see ("matched: …").

A field or head chosen by the person who entered the opinion wins over the table ("submitted"); nothing
found gives the "other" field ("default"). A linear model on the labelled corpus was measured and lost
clearly (see bench/classifier.py); the table stays because it generalises better and explains itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from shared.events import FIELDS, OTHER_FIELD, Head
from shared.text import fold_case, strip_marks

__all__ = [
    "Classification",
    "Rule",
    "RuleTable",
    "complaint_reason",
    "fold_case",
    "looks_like_complaint",
    "strip_marks",
]

# ---- syllables -------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
# Tone marks in NFD; hỏi (hook) and ngã (tilde) share a class because people confuse them when typing.
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "3", "\u0309": "3", "\u0323": "5"}
# "ly"/"li", "kỹ"/"kĩ", "quy"/"qui": the same syllable spelt two ways.
_FINAL_Y = re.compile(r"^(b|c|ch|d|đ|g|gh|h|k|kh|l|m|n|ng|ngh|nh|p|ph|qu|r|s|t|th|tr|v|x)y$")


@dataclass(frozen=True)
class Syllable:
    full: str  # with vowel marks and a tone digit: "đất" → "đât1", "hoà"/"hòa" → "hoa2"
    bare: str  # without any mark: "dat", "hoa"
    marked: bool  # typed with at least one mark


@lru_cache(maxsize=65536)
def syllable(word: str) -> Syllable:
    decomposed = unicodedata.normalize("NFD", word.casefold())
    tone = ""
    kept = []
    for ch in decomposed:
        if ch in _TONES:
            tone = _TONES[ch]
        else:
            kept.append(ch)
    base = unicodedata.normalize("NFC", "".join(kept))
    bare = strip_marks(base)
    marked = bool(tone) or base != bare
    base, bare = _FINAL_Y.sub(r"\1i", base), _FINAL_Y.sub(r"\1i", bare)
    return Syllable(base + tone, bare, marked)


@dataclass(frozen=True)
class Token:
    syl: Syllable
    sure: bool  # False: an unmarked syllable inside accented writing


@dataclass(frozen=True)
class Abbreviation:
    expansion: tuple[Syllable, ...]
    capitals_only: bool  # written in capitals in the table: "CA" is công an, "ca" stays a shift


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text))


def _is_alpha(word: str) -> bool:
    return not any(c.isdigit() for c in word)


def tokens(text: str, abbreviations: dict[str, Abbreviation] | None = None) -> list[Token]:
    """The syllables of a text, abbreviations expanded, each marked sure or not (see the module's notes)."""
    words = _words(text)
    syls = [syllable(w) for w in words]
    alpha = [_is_alpha(w) for w in words]
    # Text typed all in capitals says nothing about which words are abbreviations ("CA NHAN" is cá nhân).
    shouting = 2 * sum(w.isupper() for w, a in zip(words, alpha, strict=True) if a) > sum(alpha)
    out: list[Token] = []
    for i, (word, syl) in enumerate(zip(words, syls, strict=True)):
        abbr = (abbreviations or {}).get(word.casefold())
        if abbr is not None and (not abbr.capitals_only or (word.isupper() and not shouting)):
            out.extend(Token(s, True) for s in abbr.expansion)
            continue
        out.append(Token(syl, syl.marked or not _in_accented_writing(i, syls, alpha)))
    return out


def _phrase(text: str, abbreviations: dict[str, Abbreviation]) -> tuple[Syllable, ...]:
    """A keyword's syllables, abbreviations expanded as in the texts it is compared with."""
    out: list[Syllable] = []
    for word in _words(text):
        abbr = abbreviations.get(word.casefold())
        if abbr is not None and (not abbr.capitals_only or word.isupper()):
            out.extend(abbr.expansion)
        else:
            out.append(syllable(word))
    return tuple(out)


def _in_accented_writing(i: int, syls: list[Syllable], alpha: list[bool], reach: int = 3) -> bool:
    """Whether most of the nearest words (up to `reach` on each side) carry marks."""
    near = []
    for step in (-1, 1):
        j, found = i + step, 0
        while 0 <= j < len(syls) and found < reach:
            if alpha[j]:
                near.append(syls[j].marked)
                found += 1
            j += step
    return bool(near) and 2 * sum(near) >= len(near)


def _same(token: Token, key: Syllable, accented_only: bool) -> bool | None:
    """True: the token is this syllable; None: it may be (an unmarked word in accented writing); False: not."""
    if token.syl.marked or not key.marked:
        return token.syl.full == key.full
    if accented_only or token.syl.bare != key.bare:
        return False
    return True if token.sure else None


# ---- the table -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    text: str  # as the operator wrote it; what staff see
    syllables: tuple[Syllable, ...]
    field: str | None  # None: a neutral phrase, found only to hide the shorter keywords inside it
    accented_only: bool = False
    weight: float = 0.0  # by default its number of syllables


@dataclass(frozen=True)
class Rule:
    field: str
    head: Head
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    field: str
    head: Head
    method: str  # submitted | rules | default
    matched_keywords: tuple[str, ...] = ()


_FIELD_KEYS = {"head", "keywords", "accented_only"}
_TOP_KEYS = {"fields", "abbreviations", "neutral"}


class RuleTable:
    def __init__(
        self,
        rules: list[Rule],
        phrases: Iterable[Phrase] = (),
        abbreviations: dict[str, Abbreviation] | None = None,
    ) -> None:
        self.rules = rules
        self.abbreviations = abbreviations or {}
        self._order = {rule.field: n for n, rule in enumerate(rules)}
        self._heads = {rule.field: rule.head for rule in rules}
        self._by_first: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            self._by_first.setdefault(phrase.syllables[0].bare, []).append(phrase)
        for candidates in self._by_first.values():
            # On a tie, the reading whose later phrase is the longer one is kept: "cải tạo" + "nhà văn hóa"
            # rather than "cải tạo nhà" + "văn hóa".
            candidates.sort(key=lambda p: len(p.syllables))

    @classmethod
    def from_yaml(cls, path: Path) -> RuleTable:
        # The C parser when PyYAML has it (a safe loader either way): the table is long and services start
        # often, 56 ms → 9 ms.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with 'fields', 'abbreviations' and 'neutral'")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {sorted(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}")

        abbreviations: dict[str, Abbreviation] = {}
        for short, long in (data.get("abbreviations") or {}).items():
            short = unicodedata.normalize("NFC", str(short))
            if not _WORD.fullmatch(short) or not str(long or "").strip():
                raise ValueError(f"{path}: abbreviation {short!r}: write one word and what it stands for")
            if short.casefold() in abbreviations:
                raise ValueError(f"{path}: abbreviation {short!r} is listed twice (letter case aside)")
            expansion = tuple(syllable(w) for w in _words(str(long)))
            abbreviations[short.casefold()] = Abbreviation(expansion, short.isupper() and len(short) > 1)

        seen: dict[tuple[str, ...], str] = {}
        phrases: list[Phrase] = []

        def add(entry: object, field: str | None, accented_only: bool = False) -> None:
            where = f"field {field}" if field else "neutral"
            text, weight = entry, None
            if isinstance(entry, dict):
                if len(entry) != 1:
                    raise ValueError(f"{path}: {where}: write one keyword per line, as 'phrase' or 'phrase: weight'")
                ((text, weight),) = entry.items()
                if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
                    raise ValueError(f"{path}: {where}: weight of {text!r} must be a positive number, not {weight!r}")
            syls = _phrase(str(text), abbreviations)
            if not syls:
                raise ValueError(f"{path}: {where}: empty keyword {text!r}")
            key = tuple(s.full for s in syls)
            if key in seen:
                raise ValueError(
                    f"{path}: {text!r} is listed twice ({seen[key]} and {where}); keep it in one place only"
                )
            seen[key] = where
            phrases.append(Phrase(str(text).strip(), syls, field, accented_only, float(weight or len(syls))))

        for text in data.get("neutral") or []:
            add(text, None)

        rules: list[Rule] = []
        for code, spec in (data.get("fields") or {}).items():
            if code not in FIELDS:
                raise ValueError(f"{path}: unknown field code {code!r}; known codes: {', '.join(FIELDS)}")
            spec = spec or {}
            extra = set(spec) - _FIELD_KEYS
            if extra:
                raise ValueError(
                    f"{path}: field {code}: unknown key(s) {sorted(extra)}; known: {', '.join(sorted(_FIELD_KEYS))}"
                )
            try:
                head = Head(spec["head"]) if spec.get("head") else FIELDS[code].head
            except ValueError:
                raise ValueError(
                    f"{path}: field {code}: unknown head {spec['head']!r}; known heads: {', '.join(Head)}"
                ) from None
            for k in spec.get("keywords") or []:
                add(k, code)
            for k in spec.get("accented_only") or []:
                add(k, code, accented_only=True)
            rules.append(Rule(code, head, tuple(p.text for p in phrases if p.field == code)))
        return cls(rules, phrases, abbreviations)

    def find(self, text: str) -> list[tuple[Phrase, float]]:
        """The table's phrases in the text, with the weight each earns.

        Where phrases overlap, the reading whose phrases are longest wins (the sum of their squared lengths):
        "nhà văn hóa" rather than "sửa nhà" + "văn hóa", "đường bê tông" rather than "tuyến đường".
        """
        toks = tokens(text, self.abbreviations)
        n = len(toks)
        # best[i]: (sum of squared phrase lengths, -phrases used) from token i on; step[i]: the phrase taken at i
        best: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        step: list[tuple[Phrase, float] | None] = [None] * (n + 1)
        for i in range(n - 1, -1, -1):
            best[i], step[i] = best[i + 1], None
            for phrase in self._by_first.get(toks[i].syl.bare, ()):
                size = len(phrase.syllables)
                if i + size > n:
                    continue
                verdicts = [_same(toks[i + j], phrase.syllables[j], phrase.accented_only) for j in range(size)]
                if any(v is False for v in verdicts):
                    continue
                covered, used = best[i + size]
                candidate = (covered + size * size, used - 1)
                if candidate > best[i]:
                    best[i] = candidate
                    step[i] = (phrase, phrase.weight * (1.0 if all(verdicts) else 0.5))
        found, i = [], 0
        while i < n:
            taken = step[i]
            if taken is None:
                i += 1
                continue
            found.append(taken)
            i += len(taken[0].syllables)
        return found

    def scores(self, text: str) -> dict[str, tuple[float, list[str]]]:
        result: dict[str, tuple[float, list[str]]] = {}
        for phrase, weight in self.find(text):
            if phrase.field is None:
                continue
            score, words = result.get(phrase.field, (0.0, []))
            if phrase.text not in words:
                words.append(phrase.text)
            result[phrase.field] = (score + weight, words)
        return result

    def classify(self, text: str, *, field: str | None = None, head: Head | None = None) -> Classification:
        if field is not None:
            return Classification(field, head or self.head_for(field), "submitted")
        scores = self.scores(text)
        if not scores:
            return Classification(OTHER_FIELD, head or self.head_for(OTHER_FIELD), "default")
        best = max(scores, key=lambda f: (scores[f][0], -self._order[f]))
        return Classification(best, head or self.head_for(best), "rules", tuple(scores[best][1]))

    def head_for(self, field: str) -> Head:
        return self._heads.get(field) or FIELDS[field].head


# ---- complaints and denunciations ------------------------------------------------------------------------
# A complaint (khiếu nại) or denunciation (tố cáo) follows its own procedure, so the secretary is shown a
# hint and decides whether to redirect it. What makes one is the substance, not the words: the speaker
# contests a specific decision or act done to them, or accuses a specific official. An opinion ABOUT
# complaint handling ("đề nghị tăng cường giải quyết khiếu nại, tố cáo") is a dialogue topic and does not
# count. Each rule below needs two or three kinds of evidence together; a cue in parentheses counts
# only when typed with its marks (its unaccented form is an everyday phrase: "lam thu" of "làm thủ tục").


_Cue = tuple[str, tuple[Syllable, ...], bool]  # its text, its syllables, whether only its accented form counts


@dataclass(frozen=True)
class _Cues:
    phrases: tuple[_Cue, ...]

    @classmethod
    def of(cls, *phrases: str) -> _Cues:
        compiled = []
        for p in phrases:
            strict = p.startswith("(")
            text = p.strip("()")
            compiled.append((text, tuple(syllable(w) for w in _words(text)), strict))
        return cls(tuple(compiled))

    @cached_property
    def by_first(self) -> dict[str, list[_Cue]]:
        """The phrases by their first syllable without marks: a token matches a syllable only if those agree."""
        found: dict[str, list[_Cue]] = {}
        for phrase in self.phrases:
            found.setdefault(phrase[1][0].bare, []).append(phrase)
        return found

    def at(self, toks: list[Token], i: int) -> tuple[str, int] | None:
        """The longest cue starting at token i: its text and length."""
        if i >= len(toks):
            return None
        best = None
        for text, syls, strict in self.by_first.get(toks[i].syl.bare, ()):
            n = len(syls)
            if i + n <= len(toks) and all(_same(toks[i + j], syls[j], strict) is not False for j in range(n)):
                if best is None or n > best[1]:
                    best = (text, n)
        return best

    def find(self, toks: list[Token]) -> list[tuple[int, str, int]]:
        hits = []
        for i in range(len(toks)):
            found = self.at(toks, i)
            if found:
                hits.append((i, found[0], found[1]))
        return hits


_SELF = _Cues.of("tôi", "gia đình em", "nhà em", "bố em", "mẹ em", "chồng em", "vợ em")
_COMPLAINT = _Cues.of("khiếu nại", "tố cáo", "khởi kiện", "kiện ra tòa")
# Words between "tôi" and "khiếu nại" that make it a proposal about complaints in general.
_TOPIC = _Cues.of("giải quyết", "tăng cường", "về", "các", "những", "luật", "quyền", "công tác", "việc")
_OWN_CASE = _Cues.of(
    "khiếu nại lần hai",
    "khiếu nại lần 2",
    "khiếu nại lần thứ hai",
    "khiếu nại lần đầu",
    "tiếp tục khiếu nại",
    "quyết định giải quyết khiếu nại",
    "đơn khiếu nại của tôi",
    "đơn khiếu nại của gia đình tôi",
    "đơn tố cáo của tôi",
)
# Who can be denounced: people with a public role ("ông Trần Văn C" by name is found apart).
_OFFICIAL = _Cues.of(
    "cán bộ",
    "công chức",
    "chủ tịch",
    "phó chủ tịch",
    "trưởng thôn",
    "trưởng ấp",
    "trưởng xóm",
    "trưởng bản",
    "thôn trưởng",
    "tổ trưởng",
    "trưởng công an",
    "công an viên",
    "công an",
    "cảnh sát",
    "hiệu trưởng",
    "hiệu phó",
    "giáo viên",
    "cô giáo",
    "thầy giáo",
    "cô chủ nhiệm",
    "kế toán",
    "địa chính",
    "bí thư",
    "trưởng ban",
    "trưởng phòng",
    "tổ công tác",
    "đoàn cưỡng chế",
    "tổ cưỡng chế",
    "ủy ban nhân dân",
    "ubnd",
)
_DECISION = _Cues.of(
    "quyết định số",
    "quyết định xử phạt",
    "quyết định thu hồi",
    "quyết định cưỡng chế",
    "quyết định giải quyết",
    "quyết định xử lý",
    "quyết định hành chính",
    "quyết định",
    "qđ",
    "văn bản trả lời",
    "văn bản số",
    "công văn số",
    "thông báo số",
    "kết luận số",
    "biên bản",
    "xử phạt",
)
_CONTEST = _Cues.of(
    "phản đối",
    "xem xét lại",
    "hủy",
    "hủy bỏ",
    "thu hồi quyết định",
    "trái pháp luật",
    "trái luật",
    "là sai",
    "không đúng",
    "sai quy định",
    "không đồng ý",
    "không nhất trí",
    "vô lý",
    "không thỏa đáng",
    "hoàn trả",
    "bồi thường thiệt hại",
    "đình chỉ",
    "khiếu nại",
)
# A certificate or permit issued wrongly, contested by the one it harms.
_ISSUED_WRONG = _Cues.of(
    "cấp sai",
    "cấp nhầm",
    "cấp trùng",
    "cấp chồng",
    "cấp lấn",
    "cấp trái",
    "cấp không đúng",
    "hủy sổ đỏ",
    "thu hồi sổ đỏ",
    "hủy giấy chứng nhận",
    "thu hồi giấy chứng nhận",
)
# The speaker's own petitions, sent again and again: "tôi đã làm đơn … chưa ai trả lời".
_PETITION = _Cues.of("làm đơn", "gửi đơn", "nộp đơn", "có đơn", "viết đơn")
_UNANSWERED = _Cues.of(
    "nhiều lần",
    "mấy lần",
    "hai lần",
    "ba lần",
    "lần thứ",
    "không được giải quyết",
    "chưa được giải quyết",
    "không được trả lời",
    "chưa được trả lời",
    "chưa ai trả lời",
    "không ai trả lời",
)
# The accuser holds proof: "tôi có đủ chứng cứ", "có đầy đủ tài liệu".
_EVIDENCE = _Cues.of("chứng cứ", "bằng chứng", "đầy đủ tài liệu", "đủ tài liệu", "ghi âm")
# Asking for money: "đòi 2 triệu đồng mới làm".
_DEMAND = _Cues.of("đòi tiền", "đòi", "vòi", "bắt nộp", "ép nộp")
_MONEY = re.compile(r"^(\d.*|triệu|trieu|nghìn|nghin|ngàn|ngan|tiền|tien|đồng|dong|tr|k)$", re.IGNORECASE)
_WRONGDOING = _Cues.of(
    "lợi dụng chức vụ",
    "lợi dụng chức quyền",
    "lạm dụng chức vụ",
    "lạm quyền",
    "nhận hối lộ",
    "hối lộ",
    "nhận tiền của",
    "đòi tiền",
    "vòi tiền",
    "bảo kê",
    "tham ô",
    "biển thủ",
    "chiếm đoạt",
    "ăn chặn",
    "ăn bớt",
    "bớt xén",
    "làm khống",
    "ký khống",
    "giả mạo",
    "làm giả",
    "tự ý gạch tên",
    "gạch tên",
    "cắt tên",
    "tự ý thu tiền",
    "cho người nhà",
    "(lạm thu)",
    "hành hung",
    "đánh đập",
    "cưỡng ép",
    "bao che",
)
# An official's act upon the speaker: "nhận của gia đình tôi…", "đánh con trai tôi", "ép tôi ký".
_ACT_ON = _Cues.of("nhận của", "lấy của", "lấy tiền của", "đánh", "đấm", "tát", "ép", "đe dọa")
_HARM = _Cues.of(
    "cưỡng chế",
    "tháo dỡ",
    "phá dỡ",
    "chặt hạ",
    "tự ý",
    "từ chối",
    "gạch tên",
    "không lập biên bản",
    "tạm giữ",
    "thu giữ",
    "bắt giữ",
    "xử phạt",
)
_REDRESS = _Cues.of(
    "xem xét trách nhiệm",
    "xử lý trách nhiệm",
    "làm rõ trách nhiệm",
    "xem xét hành vi",
    "bồi thường thiệt hại",
    "hoàn trả",
    "trả lại",
)
_TITLE = re.compile(r"^(ông|bà|anh|chị)$", re.IGNORECASE)


def _sentence_starts(words: list[re.Match[str]], text: str) -> set[int]:
    """Indices of the words that open a sentence (first word, or after . ! ? ; : or a line break)."""
    starts, prev_end = set(), 0
    for n, m in enumerate(words):
        if n == 0 or any(c in text[prev_end : m.start()] for c in ".!?;:\n"):
            starts.add(n)
        prev_end = m.end()
    return starts


def _named_people(words: list[re.Match[str]], starts: set[int]) -> list[int]:
    """Where a person is named: "ông Trần Văn C", "bà Lê Thị D" (a title, then a capitalised word)."""
    found = []
    for n in range(len(words) - 1):
        title, name = words[n].group(), words[n + 1].group()
        if _TITLE.match(title) and name[:1].isupper() and (n + 1 not in starts):
            found.append(n)
    return found


def complaint_reason(text: str) -> str | None:
    """Why a text reads like a complaint or denunciation in substance (for the secretary), or None."""
    text = unicodedata.normalize("NFC", text)
    words = list(_WORD.finditer(text))
    toks = tokens(text)  # one token per word: no abbreviation table here
    starts = _sentence_starts(words, text)
    self_at = [i for i, _, _ in _SELF.find(toks)]
    complaint_at = _COMPLAINT.find(toks)

    def quote(a: int, b: int) -> str:
        return " ".join(m.group() for m in words[a:b])

    def topic_pair(i: int, n: int) -> bool:
        # "khiếu nại, tố cáo" / "khiếu nại và tố cáo" / "giải quyết khiếu nại": the name of a subject, not an act
        after = any(_COMPLAINT.at(toks, j) for j in (i + n, i + n + 1) if j < len(toks))
        before = any(j + m in (i - 1, i) and j < i for j, _, m in complaint_at)
        return after or before

    # 1. The speaker files a complaint or denunciation: "tôi (đã gửi đơn) khiếu nại …", "khiếu nại lần hai".
    for i, word, n in complaint_at:
        for s in self_at:
            between = range(s + 1, i)
            if s < i and len(between) <= 3 and not any(_TOPIC.at(toks, j) for j in between) and not topic_pair(i, n):
                return f"người viết {word}: «{quote(s, i + n)}»"
    for _, word, _ in _OWN_CASE.find(toks):
        return f"khiếu nại của chính người viết: «{word}»"
    # … or opens a sentence with it, naming whom or what: "Tố cáo trưởng thôn …", "Khiếu nại quyết định …".
    named = _named_people(words, starts)
    for i, word, n in complaint_at:
        if i in starts and not topic_pair(i, n):
            target = _OFFICIAL.at(toks, i + n) or _DECISION.at(toks, i + n)
            if target or i + n in named:
                return f"{word}: «{quote(i, i + n + 2)}»"

    # 2. The speaker contests a specific decision or document about them, or a certificate issued wrongly.
    decisions = [
        (i, word)
        for i, word, n in _DECISION.find(toks)
        if n > 1 or any(c.isdigit() for m in words[i : i + 8] for c in m.group())
    ]
    contests = _CONTEST.find(toks)
    if self_at and decisions and contests:
        return f"phản đối {decisions[0][1]}: «{contests[0][1]}»"
    issued_wrong = _ISSUED_WRONG.find(toks)
    if self_at and issued_wrong:
        return f"phản đối giấy tờ {issued_wrong[0][1]}"

    # 3. A denunciation: an official's (or a named person's) wrongdoing, or an official's act upon the speaker.
    officials = _OFFICIAL.find(toks)
    wrongs = _WRONGDOING.find(toks)
    if wrongs and (officials or named):
        return f"tố cáo sai phạm: «{wrongs[0][1]}»"
    evidence = _EVIDENCE.find(toks)
    if evidence and officials and self_at:
        return f"tố cáo có chứng cứ: «{evidence[0][1]}»"
    for i, _, n in _DEMAND.find(toks):
        asker = any(i - 6 <= j < i for j, _, _ in officials)  # the official is who asks: "cán bộ X xã đòi …"
        if asker and any(_MONEY.match(m.group()) for m in words[i + n : i + n + 3]):
            return f"cán bộ đòi tiền: «{quote(i, min(i + n + 4, len(words)))}»"
    if officials or named:
        for i, _, n in _ACT_ON.find(toks):
            if any(i + n <= s <= i + n + 3 for s in self_at):
                return f"việc cán bộ làm với người viết: «{quote(i, min(i + n + 4, len(words)))}»"

    # 4. The speaker's own petition, sent again and again or left unanswered.
    petitions = _PETITION.find(toks)
    unanswered = _UNANSWERED.find(toks)
    if self_at and petitions and unanswered:
        return f"đơn của người viết chưa được giải quyết: «{petitions[0][1]}», «{unanswered[0][1]}»"

    # 5. An act done to the speaker, and a demand that someone answer for it.
    harms = _HARM.find(toks)
    redress = _REDRESS.find(toks)
    if self_at and harms and redress:
        return f"đòi xem xét trách nhiệm về việc «{harms[0][1]}»: «{redress[0][1]}»"
    return None


def looks_like_complaint(text: str) -> bool:
    """A hint for the secretary: the text reads like a complaint or denunciation, not a dialogue opinion."""
    return complaint_reason(text) is not None
