"""Vietnamese text as people type it: NFC or NFD, with or without tone marks, any case.

One place for the normalisation every comparison needs (classification, search, duplicates):
the same word typed on different keyboards must compare equal.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def fold_case(text: str) -> str:
    """NFC, lower case, punctuation to single spaces, padded so phrases match on word bounds."""
    text = unicodedata.normalize("NFC", text).casefold()
    return f" {_NON_WORD.sub(' ', text).strip()} "


def strip_marks(text: str) -> str:
    """Remove Vietnamese tone and vowel marks: 'Đất đai' → 'Dat dai'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def has_marks(text: str) -> bool:
    return strip_marks(text) != text


def search_key(text: str) -> str:
    """What a search compares: folded and without marks ('Ngập úng NGÕ 12' → 'ngap ung ngo 12')."""
    return strip_marks(fold_case(text)).strip()


def mentions(text: str, phrases: list[str] | tuple[str, ...]) -> str | None:
    """The first phrase the text contains as whole words, compared with tone marks, and also without them when
    the phrase has two syllables or more or the text has none at all (one bare syllable without marks is too
    ambiguous: "de" is "đê" and "đề"); None if none."""
    folded = fold_case(text)
    plain = strip_marks(folded)
    unaccented = folded == plain
    for phrase in phrases:
        wanted = fold_case(phrase)
        if wanted in folded:
            return phrase
        if (unaccented or len(wanted.split()) > 1) and strip_marks(wanted) in plain:
            return phrase
    return None


def vn_number(value: float | None, digits: int = 0) -> str:
    """A number as Vietnamese write it: 1.234,5 (a dot between thousands, a decimal comma); "—" for none."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
