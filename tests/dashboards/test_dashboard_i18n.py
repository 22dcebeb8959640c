"""Labels in both languages and the formats managers read (thousands, ISO dates, local time)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dashboards.i18n import (
    STRINGS,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    format_money,
    normalize_locale,
    translate,
)


def test_every_label_exists_in_both_languages() -> None:
    assert set(STRINGS["zh_CN"]) == set(STRINGS["en_US"])
    assert translate("kpi.total_members", "zh_CN") == "会员总数"
    assert translate("kpi.total_members", "en_US") == "Total members"
    assert translate("members.found", "en_US", count="1,234") == "1,234 members found."
    assert translate("no.such.key", "en_US") == "no.such.key"


@pytest.mark.parametrize(
    ("raw", "locale"),
    [
        ("en_US", "en_US"),
        ("en", "en_US"),
        ("en-GB", "en_US"),
        ("zh_CN", "zh_CN"),
        ("", "zh_CN"),
        (None, "zh_CN"),
        ("fr_FR", "zh_CN"),
    ],
)
def test_locale_from_settings(raw: str | None, locale: str) -> None:
    assert normalize_locale(raw) == locale


def test_dictionary_labels_follow_the_locale() -> None:
    assert dictionary_label("region", "11", "zh_CN") == "北京"
    assert dictionary_label("region", "11", "en_US") == "Beijing"
    assert dictionary_label("tier", "vip", "en_US") == "VIP"
    assert dictionary_label("region", "99", "en_US") == "99"
    assert dictionary_label("region", None, "en_US") == ""


def test_numbers_have_thousands_separators() -> None:
    assert format_int(1234567) == "1,234,567"
    assert format_int(Decimal("40320")) == "40,320"
    assert format_money(Decimal("6153012.5")) == "¥6,153,012.50"
    assert format_money(-1200) == "-¥1,200.00"
    assert format_int(None) == "–"


def test_dates_are_iso_and_times_local_to_the_club() -> None:
    assert format_date(date(2025, 3, 1)) == "2025-03-01"
    late_utc = datetime(2025, 2, 28, 20, 30, tzinfo=UTC)  # already 1 March in Beijing
    assert format_date(late_utc) == "2025-03-01"
    assert format_datetime(late_utc) == "2025-03-01 04:30"
    assert format_datetime(None) == ""
