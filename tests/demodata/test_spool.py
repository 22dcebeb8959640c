"""The swipe spool contract (devices/spool.py): durable appends, restarts, finished files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from devices.spool import (
    FIELDS,
    SPOOL_GLOB,
    SpoolBusy,
    SpoolWriter,
    encode_swipe,
    finished_files,
    read_spool_file,
    swipe_idempotency_key,
)

T0 = datetime(2025, 3, 1, 4, 0, 0, 123000, tzinfo=UTC)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_line_has_the_contract_fields_in_order(tmp_path: Path) -> None:
    with SpoolWriter(tmp_path, "R01") as writer:
        swipe_id = writer.append("0012345678", "1A00BC614E", T0, "activity_checkin", "ACT000001")
    assert swipe_id == "R01-000000000001"
    (path,) = finished_files(tmp_path)
    assert path == tmp_path / "R01" / "R01-000000000001.jsonl"
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    record = json.loads(text)
    assert tuple(record) == FIELDS
    assert record == {
        "swipe_id": "R01-000000000001",
        "reader_id": "R01",
        "seq": 1,
        "card_no": "0012345678",
        "raw": "1A00BC614E",
        "swiped_at": "2025-03-01T04:00:00.123000+00:00",
        "purpose": "activity_checkin",
        "target": "ACT000001",
    }
    assert text == json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert swipe_idempotency_key(swipe_id) == "swipe:R01-000000000001"


def test_times_are_written_in_utc(tmp_path: Path) -> None:
    beijing = timezone(timedelta(hours=8))
    with SpoolWriter(tmp_path, "R02") as writer:
        writer.append("1", "1", datetime(2025, 3, 1, 12, 0, tzinfo=beijing))
        with pytest.raises(ValueError):
            writer.append("1", "1", datetime(2025, 3, 1, 12, 0))  # naive: whose clock?
        with pytest.raises(ValueError):
            writer.append("1", "1", T0, purpose="coffee")
    (record,) = read_spool_file(finished_files(tmp_path)[0])
    assert record["swiped_at"] == "2025-03-01T04:00:00.000000+00:00"
    assert record["purpose"] is None and record["target"] is None


def test_open_files_are_not_finished_until_rotation_or_close(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path, "R03", rotate_every=3)
    for k in range(4):
        writer.append(f"{k}", f"{k}", T0 + timedelta(seconds=k))
    # Three lines rotated into a finished file; the fourth waits in an .open file.
    assert [p.name for p in finished_files(tmp_path)] == ["R03-000000000001.jsonl"]
    assert writer.current_path.name == "R03-000000000004.jsonl.open"
    assert writer.current_path.exists()
    assert not any(p.name.endswith(".open") for p in tmp_path.glob(SPOOL_GLOB))
    writer.close()
    assert [p.name for p in finished_files(tmp_path)] == [
        "R03-000000000001.jsonl",
        "R03-000000000004.jsonl",
    ]
    assert [r["seq"] for r in _lines(finished_files(tmp_path)[1])] == [4]


def test_sequence_continues_after_a_clean_restart_even_when_files_were_archived(
    tmp_path: Path,
) -> None:
    with SpoolWriter(tmp_path, "R04") as writer:
        writer.append("1", "1", T0)
        writer.append("2", "2", T0)
    for path in finished_files(tmp_path):  # loaded and archived by someone
        path.unlink()
    with SpoolWriter(tmp_path, "R04") as writer:
        assert writer.next_seq == 3
        assert writer.append("3", "3", T0) == "R04-000000000003"


def test_appends_survive_a_crash_and_the_sequence_continues(tmp_path: Path) -> None:
    # A reader process acknowledges two swipes (fsync) and dies without closing its file.
    script = textwrap.dedent(
        f"""
        import os, sys
        from datetime import datetime, timezone
        from devices.spool import SpoolWriter
        writer = SpoolWriter({str(tmp_path)!r}, "R05", rotate_every=100, fsync=True)
        for k in range(2):
            writer.append(str(k), str(k), datetime(2025, 3, 1, tzinfo=timezone.utc))
        with open(writer.current_path, "ab") as handle:
            handle.write(b'{{"swipe_id":"R05-0000000')  # torn: power failed mid-line
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[2])
    assert finished_files(tmp_path) == []
    assert len(list((tmp_path / "R05").glob("*.open"))) == 1
    with SpoolWriter(tmp_path, "R05") as writer:
        # The leftover file was finished (torn line dropped) and numbering goes on.
        assert writer.next_seq == 3
        assert writer.append("9", "9", T0) == "R05-000000000003"
    files = finished_files(tmp_path)
    assert [p.name for p in files] == ["R05-000000000001.jsonl", "R05-000000000003.jsonl"]
    assert [r["seq"] for p in files for r in read_spool_file(p)] == [1, 2, 3]
    assert len({r["swipe_id"] for p in files for r in read_spool_file(p)}) == 3


def test_one_writer_per_reader(tmp_path: Path) -> None:
    with SpoolWriter(tmp_path, "R06"):
        with pytest.raises(SpoolBusy):
            SpoolWriter(tmp_path, "R06")
        SpoolWriter(tmp_path, "R07").close()  # another reader is fine
    SpoolWriter(tmp_path, "R06").close()  # released on close


def test_bulk_writes_match_single_appends(tmp_path: Path) -> None:
    records = [
        ("0000000001", "0100000001", T0, "merchant_counter", "MER0001"),
        ("0000000002", "0100000002", "2025-03-01T04:00:01.000000+00:00", None, None),
    ]
    with SpoolWriter(tmp_path / "bulk", "R08", rotate_every=1) as writer:
        assert writer.write_batch(iter(records)) == 2
    with SpoolWriter(tmp_path / "single", "R08") as writer:
        writer.append(*records[0])
        writer.append(*records[1][:2], datetime.fromisoformat(records[1][2]), None, None)
    bulk = [r for p in finished_files(tmp_path / "bulk") for r in read_spool_file(p)]
    single = [r for p in finished_files(tmp_path / "single") for r in read_spool_file(p)]
    assert bulk == single
    assert len(finished_files(tmp_path / "bulk")) == 2  # rotate_every applies to batches too
    with SpoolWriter(tmp_path / "bad", "R08") as writer, pytest.raises(ValueError):
        writer.write_batch([("1", "1", "2025-03-01 04:00:00", None, None)])


def test_reader_ids_must_be_safe_file_names(tmp_path: Path) -> None:
    for bad in ("../x", "a/b", "", "x" * 41):
        with pytest.raises(ValueError):
            SpoolWriter(tmp_path, bad)
    line = encode_swipe(
        "gate-1", 7, 'card"1', "raw\n", "2025-03-01T04:00:00.000000+00:00", None, "t"
    )
    assert json.loads(line)["card_no"] == 'card"1' and line.count("\n") == 1
