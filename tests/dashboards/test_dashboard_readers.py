"""The card readers page (AppTest): state, last swipe, errors, and refused swipes to follow up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from smallclub import open_page

from clubcrm.settings import Settings
from devices.poster import post_spooled_swipes
from devices.reader import STATUS_FILE
from devices.spool import SpoolWriter


def _status(settings: Settings, reader_id: str, *, age: timedelta, **counters) -> None:
    folder = settings.spool_dir / reader_id
    folder.mkdir(parents=True, exist_ok=True)
    updated = (datetime.now(UTC) - age).isoformat()
    status = {"reader_id": reader_id, "state": "connected", "updated_at": updated, **counters}
    (folder / STATUS_FILE).write_text(json.dumps(status), encoding="utf-8")


def test_no_reader_yet_says_how_to_start_one(small_club: Settings) -> None:
    page = open_page("readers", locale="en_US")
    assert not page.exception
    assert "clubcrm reader" in page.info[0].value


def test_readers_show_their_state_and_refused_swipes_are_listed(small_club: Settings) -> None:
    small_club.ensure_dirs()
    swiped = datetime(2026, 4, 10, 7, 0, tzinfo=UTC)
    with SpoolWriter(small_club.spool_dir, "DESK-1") as writer:
        writer.append("4242424242", "4242424242", swiped, "points_award")
        writer.append("4242424242", "4242424242", swiped, None)
    post_spooled_swipes(small_club.database_url, small_club.spool_dir)
    _status(small_club, "DESK-1", age=timedelta(seconds=5), swipes=2, bad_checksums=3)
    _status(small_club, "GATE-9", age=timedelta(hours=1), swipes=0)

    page = open_page("readers", locale="en_US")
    assert not page.exception
    readers = page.dataframe[0].value.set_index("Reader")
    assert readers.loc["DESK-1", "State"] == "Running"
    assert readers.loc["DESK-1", "Bad checksums"] == "3"
    assert readers.loc["DESK-1", "Not posted"] == "1"
    assert readers.loc["DESK-1", "Last swipe"] == "2026-04-10 15:00"  # club time
    assert readers.loc["GATE-9", "State"] == "Not responding (the process may have died)"
    refused = page.dataframe[1].value
    assert list(refused["Card"]) == ["4242424242"]
    assert list(refused["Reason"]) == ["Unknown card (not issued, or the number mapping is wrong)"]
    assert page.get("plotly_chart")


def test_the_page_speaks_chinese_by_default(small_club: Settings) -> None:
    page = open_page("readers")
    assert page.title[0].value == "刷卡机"
