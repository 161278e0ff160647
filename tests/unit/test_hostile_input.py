"""Hostile shapes of the inputs people and clients type: periods, dates, JSON nesting, spreadsheet
cells. Property tests (hypothesis): whatever comes in, the answer is a valid value or a ValueError that
becomes a 4xx, never another exception (which became a 500)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.assignment.reports import inert
from shared.clock import EARLIEST, LATEST, sane_moment
from shared.http.app import MAX_JSON_DEPTH, json_too_deep
from shared.periods import parse_period

DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩０１２３"  # ASCII, Arabic-Indic and full-width digits
periods = st.one_of(
    st.text(max_size=12),
    st.builds(
        lambda year, rest: year + rest,
        st.text(alphabet=DIGITS, min_size=1, max_size=6),
        st.sampled_from(["", "-01", "-12", "-13", "-Q1", "-Q4", "-Q5", "-6M", "-9M", "-7M", "-00", "-q2"]),
    ),
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets)


@settings(max_examples=400, deadline=None)
@given(periods)
def test_a_period_is_valid_or_a_value_error(text: str) -> None:
    try:
        period = parse_period(text)
    except ValueError:
        return
    assert period.code.isascii() and EARLIEST <= period.start < period.end <= LATEST
    period.start.isoformat()  # usable in a query and a file name


@settings(max_examples=400, deadline=None)
@given(st.one_of(moments, st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))))
def test_a_moment_is_in_range_or_a_value_error(moment: datetime) -> None:
    try:
        checked = sane_moment(moment)
    except ValueError:
        return
    assert EARLIEST <= checked.astimezone(UTC) < LATEST


def test_the_attack_values_are_refused() -> None:
    for bad in ("0001", "٢٠٢٦", "9999", "2026-٠١"):
        try:
            parse_period(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")
    for bad in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        try:
            sane_moment(datetime.fromisoformat(bad))
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_json_depth_is_counted_outside_strings_only(value: object) -> None:
    body = json.dumps(value).encode()

    def depth(v: object) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    assert json_too_deep(body) == (depth(value) > MAX_JSON_DEPTH)


def test_brackets_inside_strings_do_not_count() -> None:
    assert not json_too_deep(json.dumps({"text": "[" * 5000 + '\\"{' * 100}).encode())
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))


@given(st.text())
def test_no_text_cell_starts_like_a_formula(text: str) -> None:
    cell = inert(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) and cell.lstrip("'") in (text, text.lstrip("'"))
