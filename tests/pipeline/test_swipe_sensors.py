"""The swipe sensors: finished spool files are loaded once, whatever the timing; swipes posted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from sqlalchemy import select

from clubcrm.settings import Settings, get_settings
from devices.spool import SpoolWriter
from operational.bootstrap import initialise
from operational.db import session_scope
from operational.models import Card, Member
from operational.services import points
from orchestration.swipe_sensors import post_swipes, swipe_poster_sensor, swipe_spool_sensor

WHEN = datetime(2026, 4, 10, 7, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLUBCRM_HOME", str(tmp_path))
    monkeypatch.setenv("CLUBCRM_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "build.duckdb"))
    settings = get_settings()
    settings.ensure_dirs()
    return settings


def _tick(sensor, instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    return sensor(context), context.cursor


def _load(instance: dg.DagsterInstance) -> int:
    from orchestration.definitions import defs

    result = defs.resolve_job_def("load_swipes").execute_in_process(instance=instance)
    assert result.success
    path = get_settings().build_warehouse_path
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select count(*) from raw.swipes").fetchone()[0]


def test_each_finished_file_is_requested_once_and_loaded_once(home: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    writer = SpoolWriter(home.spool_dir, "GATE-1", rotate_every=2, fsync=False)
    for _ in range(3):  # one finished file of 2 swipes, one open file of 1
        writer.append("0004283503", "00004157DF", WHEN, None)
    first, cursor = _tick(swipe_spool_sensor, instance, None)
    assert isinstance(first, dg.RunRequest)
    assert _load(instance) == 2  # the open file is not loaded yet
    again, cursor = _tick(swipe_spool_sensor, instance, cursor)
    assert isinstance(again, dg.SkipReason)
    writer.close()  # the open file is finished now
    later, cursor = _tick(swipe_spool_sensor, instance, cursor)
    assert isinstance(later, dg.RunRequest) and later.run_key != first.run_key
    assert _load(instance) == 3
    assert _load(instance) == 3  # a second run of the same files adds nothing


def test_the_poster_sensor_posts_new_swipes_once(home: Settings) -> None:
    initialise(home.database_url, admin_password="admin-password-1")
    with session_scope(home.database_url) as session:
        member = Member(member_no="M00000001", name="会员", joined_at=date(2025, 1, 1))
        session.add(member)
        session.flush()
        session.add(Card(card_no="C0000001", member_id=member.id, kind="main",
                         card_type="ordinary", chip_uid="0004283503"))  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    nothing, cursor = _tick(swipe_poster_sensor, instance, None)
    assert isinstance(nothing, dg.SkipReason)
    with SpoolWriter(home.spool_dir, "DESK-1") as writer:
        writer.append("0004283503", "00004157DF", WHEN, "points_award")
        writer.append("0004283503", "00004157DF", WHEN, "points_award")
    request, cursor = _tick(swipe_poster_sensor, instance, cursor)
    assert isinstance(request, dg.RunRequest)
    resources = {"clubcrm": dg.ResourceDefinition.hardcoded_resource(home)}
    for _ in range(2):
        result = post_swipes.execute_in_process(resources=resources, instance=instance)
        assert result.success
    assert isinstance(_tick(swipe_poster_sensor, instance, cursor)[0], dg.SkipReason)
    with session_scope(home.database_url) as session:
        member_id = session.scalar(select(Member.id))
        assert points.balance_of(session, member_id) == 20
