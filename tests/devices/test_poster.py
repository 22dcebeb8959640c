"""The swipe poster: spooled swipes reach the services once, across crashes and restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devices import poster
from devices.spool import SpoolWriter
from operational.bootstrap import initialise
from operational.db import session_scope
from operational.models import Card, Member, PointEntry, SwipePosting
from operational.services import merchants, points
from operational.services.common import Actor

WHEN = datetime(2026, 4, 10, 7, 0, tzinfo=UTC)
ADMIN = Actor("admin", "admin")


@pytest.fixture
def club(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'operational.sqlite'}"
    initialise(url, admin_password="admin-password-1")
    with session_scope(url) as session:
        member = Member(member_no="M00000001", name="会员", joined_at=date(2025, 1, 1))
        session.add(member)
        session.flush()
        session.add(Card(card_no="C0000001", member_id=member.id, kind="main",
                         card_type="ordinary", chip_uid="0004283503"))  # fmt: skip
    return url


def _balance(url: str) -> int:
    with session_scope(url) as session:
        member_id = session.scalar(select(Member.id).where(Member.member_no == "M00000001"))
        return points.balance_of(session, member_id)


def _postings(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(SwipePosting))


def test_each_swipe_is_posted_once_and_refusals_are_kept(club: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with SpoolWriter(spool, "DESK-1", rotate_every=3) as writer:
        for card in ("0004283503", "9999999999", "0004283503", "0004283503", "c0000001"):
            writer.append(card, card, WHEN, "points_award")
    first = poster.post_spooled_swipes(club, spool, batch=2)
    assert (first.posted, dict(first.outcomes)) == (5, {"posted": 4, "refused": 1})
    assert _balance(club) == 40  # the swipe rule: 10 points a swipe
    again = poster.post_spooled_swipes(club, spool)
    assert (again.posted, again.replayed) == (0, 0)
    assert poster.read_cursor(spool / "DESK-1") == 5


def test_a_crash_before_the_cursor_moves_replays_nothing_twice(club: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with SpoolWriter(spool, "DESK-1") as writer:
        for _ in range(3):
            writer.append("0004283503", "0004283503", WHEN, "points_award")
    poster.post_spooled_swipes(club, spool)
    poster.mark_posted(spool / "DESK-1", 1)  # as if the process died before writing the cursor
    replay = poster.post_spooled_swipes(club, spool)
    assert (replay.posted, replay.replayed) == (0, 2)
    assert _balance(club) == 30
    assert _postings(club) == 3


def test_the_open_file_is_read_up_to_its_last_complete_line(club: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = SpoolWriter(spool, "DESK-1")
    writer.append("0004283503", "0004283503", WHEN, "points_award")
    writer.append("0004283503", "0004283503", WHEN, None)
    open_file = writer.current_path
    assert open_file is not None and open_file.name.endswith(".jsonl.open")
    with open(open_file, "a", encoding="utf-8") as handle:
        handle.write('{"swipe_id": "DESK-1-0000')  # a line being written
    done = poster.post_spooled_swipes(club, spool)
    assert dict(done.outcomes) == {"posted": 1, "recorded": 1}
    writer._handle.truncate(open_file.stat().st_size - len('{"swipe_id": "DESK-1-0000'))
    writer.append("0004283503", "0004283503", WHEN, "points_award")
    writer.close()  # renamed to its finished name
    later = poster.post_spooled_swipes(club, spool)
    assert dict(later.outcomes) == {"posted": 1}
    assert _balance(club) == 20


def test_a_merchant_counter_swipe_records_a_service_use(club: str, tmp_path: Path) -> None:
    with session_scope(club) as session:
        merchants.create_merchant(session, ADMIN, code="SPA", name="水疗", merchant_type="health")
        service = merchants.add_service(
            session, ADMIN, merchant_code="SPA", name="八五折", starts_on=date(2026, 1, 1)
        )
        service_id = service.id
    spool = tmp_path / "spool"
    with SpoolWriter(spool, "SPA-1") as writer:
        writer.append("0004283503", "0004283503", WHEN, "merchant_counter", f"service:{service_id}")
        writer.append("0004283503", "0004283503", WHEN, "merchant_counter", "SPA")  # its service
        writer.append("0004283503", "0004283503", WHEN, "merchant_counter", "NOSUCH")
    done = poster.post_spooled_swipes(club, spool)
    assert dict(done.outcomes) == {"posted": 2, "refused": 1}
    with session_scope(club) as session:
        detail = merchants.merchant_detail(session, "SPA")
        assert sum(s.uses for s in detail.services) == 2
        assert session.scalar(select(func.count()).select_from(PointEntry)) == 0


def test_killing_the_poster_mid_stream_loses_and_doubles_nothing(club: str, tmp_path: Path) -> None:
    """A poster process SIGKILLed three times while swipes keep arriving, then restarted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    spool = tmp_path / "spool"
    env = {**os.environ, "CLUBCRM_HOME": str(tmp_path), "CLUBCRM_DATABASE_URL": club}
    command = [sys.executable, "-m", "clubcrm.cli", "post-swipes", "--watch", "--interval", "0.02"]
    writer = SpoolWriter(spool, "DESK-1", rotate_every=7)
    sent = 0
    for _ in range(3):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        posted_before = poster.read_cursor(spool / "DESK-1")
        started = time.monotonic()
        # keep swiping until this poster has posted something (a loaded machine starts it
        # slowly), then a little longer, and kill it mid-stream
        while time.monotonic() - started < 60:
            writer.append("0004283503", "00004157DF", WHEN, "points_award")
            sent += 1
            time.sleep(0.01)
            if poster.read_cursor(spool / "DESK-1") > posted_before:
                break
        for _ in range(20):
            writer.append("0004283503", "00004157DF", WHEN, "points_award")
            sent += 1
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    writer.close()
    final = poster.post_spooled_swipes(club, spool)
    assert final.posted + final.replayed < sent  # the killed posters had done most of it
    assert _postings(club) == sent
    assert _balance(club) == 10 * sent
    with session_scope(club) as session:
        assert session.scalar(select(func.count()).select_from(PointEntry)) == sent
