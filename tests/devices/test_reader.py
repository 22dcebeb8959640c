"""The reader loop over real pseudo-terminals and pyserial's ``loop://``: debounce, wire rate,
unplug and replug, slow disks, SIGTERM and SIGKILL with restarts (nothing lost, nothing twice)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from devices import reader as reader_module
from devices.reader import Debouncer, Reader, read_status
from devices.simulator import (
    SimulatorStats,
    encode_card,
    open_pty,
    rdm6300_frame,
    script,
    write_paced,
)
from devices.spool import SpoolWriter, finished_files, read_spool_file

ROOT = Path(__file__).resolve().parents[2]
CARDS = [f"{n:010d}" for n in (4283615, 12345678, 87654321, 3141592, 2718281, 1618033)]
HELD = encode_card("rdm6300", "0004283615")
OTHER = encode_card("rdm6300", "0012345678")


# -- debounce rules ----------------------------------------------------------------------------
def test_a_single_read_is_not_a_swipe_two_in_a_row_are():
    d = Debouncer(confirm_reads=2, away_gap=1.0)
    assert d.read("A", 0.0) == "pending"
    assert d.read("A", 0.065) == "accepted"


def test_a_held_card_is_one_swipe_until_it_has_been_away():
    d = Debouncer(2, away_gap=1.0)
    outcomes = [d.read("A", i * 0.065) for i in range(40)]
    assert outcomes.count("accepted") == 1 and outcomes.count("folded") == 38
    assert d.read("A", 39 * 0.065 + 0.9) == "folded"  # away less than the gap
    assert d.read("A", 39 * 0.065 + 0.9 + 1.2) == "pending"  # away longer: a new swipe
    assert d.read("A", 39 * 0.065 + 0.9 + 1.3) == "accepted"


def test_reads_far_apart_are_not_in_a_row_and_another_card_breaks_the_run():
    d = Debouncer(2, away_gap=1.0)
    assert d.read("A", 0.0) == "pending"
    assert d.read("A", 5.0) == "pending"  # two isolated phantom reads
    assert d.read("B", 5.1) == "pending"
    assert d.read("A", 5.2) == "pending"
    assert d.read("A", 5.3) == "accepted"


def test_a_phantom_read_does_not_end_a_fold_but_an_accepted_card_does():
    d = Debouncer(2, away_gap=1.0)
    d.read("A", 0.0), d.read("A", 0.1)
    assert d.read("X", 0.2) == "pending"  # phantom
    assert d.read("A", 0.3) == "folded"
    assert [d.read("B", 0.4), d.read("B", 0.5)] == ["pending", "accepted"]
    assert [d.read("A", 0.6), d.read("A", 0.7)] == ["pending", "accepted"]


def test_confirm_reads_of_one_and_invalid_settings():
    d = Debouncer(1, away_gap=0.5)
    assert [d.read("A", 0.0), d.read("A", 0.2), d.read("A", 1.0)] == [
        "accepted",
        "folded",
        "accepted",
    ]
    with pytest.raises(ValueError):
        Debouncer(0)


# -- helpers -----------------------------------------------------------------------------------
def spooled(spool_dir: Path, reader_id: str = "door1") -> list[dict]:
    records = []
    for path in finished_files(spool_dir):
        if path.parent.name == reader_id:
            records += read_spool_file(path)
    return records


def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class ReaderThread:
    """A :class:`Reader` in a thread (as a daemon runs it), stopped with its stop event."""

    def __init__(self, port: str, spool_dir: Path, protocol: str = "rdm6300", **options):
        self.stop_event = threading.Event()
        self.result: list = []
        self.error: list = []
        options.setdefault("read_timeout", 0.02)
        options.setdefault("status_interval", 0.05)
        self.reader = Reader(
            port,
            protocol,
            "door1",
            spool_dir,
            purpose="activity_checkin",
            target="ACT-7",
            stop_event=self.stop_event,
            **options,
        )

        def target():
            try:
                self.result.append(self.reader.run())
            except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
                self.error.append(exc)

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def status(self) -> dict:
        return self.reader.status()

    def wait_connected(self) -> None:
        wait_for(lambda: self.status()["state"] == "connected", what="connected")

    def stop(self):
        self.stop_event.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        if self.error:
            raise self.error[0]
        return self.result[0]


@pytest.fixture
def pty_port():
    master, slave, path = open_pty()
    yield master, path
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def held(frame: bytes, frames: int, start: float = 0.0, interval: float = 0.065):
    return [(start + i * interval, frame) for i in range(frames)]


# -- over a pseudo-terminal --------------------------------------------------------------------
def test_an_isolated_single_frame_is_not_a_swipe(pty_port, tmp_path):
    master, path = pty_port
    reader = ReaderThread(path, tmp_path)
    reader.wait_connected()
    os.write(master, HELD)
    wait_for(lambda: reader.status()["frames"] == 1, what="the frame")
    time.sleep(0.1)
    stats = reader.stop()
    assert stats.frames == 1 and stats.swipes == 0
    assert spooled(tmp_path) == []


def test_a_held_card_is_one_swipe_spooled_with_purpose_and_target(pty_port, tmp_path):
    master, path = pty_port
    reader = ReaderThread(path, tmp_path)
    reader.wait_connected()
    write_paced(master, iter(held(HELD, 15)))
    wait_for(lambda: reader.status()["frames"] == 15, what="15 frames")
    stats = reader.stop()
    assert (stats.swipes, stats.folded_reads) == (1, 13)
    [record] = spooled(tmp_path)
    assert record["card_no"] == "0004283615" and record["raw"] == HELD[1:11].decode()
    assert record["purpose"] == "activity_checkin" and record["target"] == "ACT-7"
    assert record["swipe_id"] == "door1-000000000001"
    assert not list((tmp_path / "door1").glob("*.open"))  # stopping finished the file
    [status] = read_status(tmp_path)
    assert status["state"] == "stopped" and status["swipes"] == 1
    assert status["last_swipe_id"] == "door1-000000000001"


def test_the_same_card_again_after_the_away_gap_is_a_new_swipe(pty_port, tmp_path):
    master, path = pty_port
    reader = ReaderThread(path, tmp_path, away_gap=0.3)
    reader.wait_connected()
    events = held(HELD, 5) + held(HELD, 5, start=0.9) + held(OTHER, 3, start=1.5)
    events += held(HELD, 3, start=1.8)  # a different card accepted in between ends the fold
    write_paced(master, iter(events))
    wait_for(lambda: reader.status()["frames"] == 16, what="16 frames")
    reader.stop()
    assert [r["card_no"] for r in spooled(tmp_path)] == [
        "0004283615",
        "0004283615",
        "0012345678",
        "0004283615",
    ]


def _wire_rate_run(master: int, path: str, spool_dir: Path, seconds: float, seed: int) -> None:
    """Back-to-back presentations saturating 9600 baud, with damage; every swipe arrives."""
    reader = ReaderThread(path, spool_dir)
    reader.wait_connected()
    sim = SimulatorStats()
    events = script(
        "rdm6300",
        CARDS,
        seconds=seconds,
        seed=seed,
        hold_frames=(2, 4),
        frame_interval=0.0,
        gap=(0.0, 0.0),
        noise_rate=0.1,
        split_rate=0.2,
        split_pause=(0.0005, 0.003),
        bad_checksum_rate=0.05,
        partial_rate=0.05,
        phantom_rate=0.0,
        rdm6300_variants=("standard", "crlf", "raw"),
        stats=sim,
    )
    started = time.monotonic()
    write_paced(master, events, stats=sim)
    elapsed = time.monotonic() - started
    assert sim.bytes_written / elapsed > 0.95 * 960  # the line was full
    assert sim.bytes_written / elapsed < 1.02 * 960  # …and never ran ahead of 9600 baud
    wait_for(lambda: reader.status()["swipes"] == len(sim.presentations), what="every swipe")
    stats = reader.stop()
    records = spooled(spool_dir)
    assert [r["card_no"] for r in records] == sim.expected_swipes
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert stats.frames == sim.frames
    assert stats.bad_checksums == sim.bad_checksums
    assert stats.invalid_frames >= sim.partial_frames


def test_swipes_at_the_full_wire_rate_for_5_seconds_lose_nothing(pty_port, tmp_path):
    master, path = pty_port
    _wire_rate_run(master, path, tmp_path, seconds=5.0, seed=11)


@pytest.mark.slow
def test_swipes_at_the_full_wire_rate_for_60_seconds_lose_nothing(pty_port, tmp_path):
    master, path = pty_port
    _wire_rate_run(master, path, tmp_path, seconds=60.0, seed=60)


def test_unplug_and_replug_the_reader_reconnects(tmp_path):
    link = tmp_path / "ttyREADER"  # a stable name, as /dev/serial/by-id gives
    master, slave, _ = open_pty(link)
    reader = ReaderThread(str(link), tmp_path / "spool", backoff=(0.02, 0.1))
    reader.wait_connected()
    write_paced(master, iter(held(HELD, 4)))
    wait_for(lambda: reader.status()["swipes"] == 1, what="first swipe")
    os.write(master, HELD[:6])  # unplugged in the middle of a frame
    time.sleep(0.05)
    os.close(master), os.close(slave)
    link.unlink()
    wait_for(lambda: reader.status()["state"] == "disconnected", what="disconnect")
    time.sleep(0.3)  # retries fail meanwhile
    master, slave, _ = open_pty(link)
    try:
        reader.wait_connected()
        write_paced(master, iter(held(OTHER, 4)))
        wait_for(lambda: reader.status()["swipes"] == 2, what="swipe after replug")
        stats = reader.stop()
    finally:
        os.close(master), os.close(slave)
    assert stats.reconnects == 1
    assert [r["card_no"] for r in spooled(tmp_path / "spool")] == ["0004283615", "0012345678"]


def test_loop_port_fails_and_comes_back(tmp_path):
    ports: list = []
    plugged = threading.Event()
    plugged.set()
    refused = []

    def opener(url, **kwargs):
        if not plugged.is_set():
            refused.append(url)
            raise serial.SerialException(f"could not open port {url}")
        port = serial.serial_for_url("loop://", **kwargs)
        ports.append(port)
        return port

    reader = ReaderThread("loop://", tmp_path, open_port=opener, backoff=(0.02, 0.05))
    reader.wait_connected()
    ports[-1].write(HELD * 3)
    wait_for(lambda: reader.status()["swipes"] == 1, what="first swipe")
    plugged.clear()
    ports[-1].close()  # the device disappears under the reader
    wait_for(lambda: len(refused) >= 2, what="reopen attempts")
    plugged.set()
    wait_for(lambda: len(ports) == 2 and reader.status()["state"] == "connected", what="back")
    ports[-1].write(OTHER * 3)
    wait_for(lambda: reader.status()["swipes"] == 2, what="swipe after reconnect")
    stats = reader.stop()
    assert stats.reconnects == 1 and "could not open" in (stats.last_error or "")
    assert [r["card_no"] for r in spooled(tmp_path)] == ["0004283615", "0012345678"]


@pytest.mark.parametrize(
    ("protocol", "data", "cards"),
    [
        ("wiegand", b"65,23775\r\nnoise\r\n4283503\r\n", ["0004283615", "0004283503"]),
        ("track2", b";6221881234567890=2512?\r\n%B^x?;42?\r\n", ["6221881234567890", "42"]),
        ("line", b"C0001\r\nC0002\r\nC0001\r\n", ["C0001", "C0002", "C0001"]),
    ],
)
def test_line_protocols_need_one_read_per_swipe(tmp_path, protocol, data, cards):
    ports: list = []

    def opener(url, **kwargs):
        ports.append(serial.serial_for_url("loop://", **kwargs))
        return ports[-1]

    reader = ReaderThread("loop://", tmp_path, protocol=protocol, open_port=opener)
    reader.wait_connected()
    ports[0].write(data)
    wait_for(lambda: reader.status()["swipes"] == len(cards), what="swipes")
    reader.stop()
    assert [r["card_no"] for r in spooled(tmp_path)] == cards


def test_a_slow_disk_never_blocks_reading(tmp_path, monkeypatch):
    class SlowSpool(SpoolWriter):
        def append(self, *args, **kwargs):
            time.sleep(0.3)
            return super().append(*args, **kwargs)

    monkeypatch.setattr(reader_module, "SpoolWriter", SlowSpool)
    ports: list = []

    def opener(url, **kwargs):
        ports.append(serial.serial_for_url("loop://", **kwargs))
        return ports[-1]

    reader = ReaderThread("loop://", tmp_path, open_port=opener)
    reader.wait_connected()
    cards = [encode_card("rdm6300", card) for card in CARDS]
    ports[0].write(b"".join(frame * 2 for frame in cards))
    wait_for(lambda: reader.status()["frames"] == 12, timeout=1.0, what="all frames read")
    status = reader.status()
    assert status["swipes"] < len(CARDS)  # the disk is behind; the port is not
    wait_for(lambda: reader.status()["swipes"] == len(CARDS), what="all swipes spooled")
    reader.stop()
    assert [r["card_no"] for r in spooled(tmp_path)] == CARDS


# -- a reader process killed and restarted ------------------------------------------------------
READER_PROCESS = """
import sys
from devices.reader import run_reader
run_reader(sys.argv[1], "rdm6300", "door1", sys.argv[2], purpose="points_award",
           read_timeout=0.02, status_interval=0.05)
"""


def _start_reader(port: str, spool_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", READER_PROCESS, port, str(spool_dir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    status = spool_dir / "door1" / "STATUS.json"

    def ready() -> bool:
        assert proc.poll() is None, "the reader process died"
        try:
            data = json.loads(status.read_text())
        except (OSError, ValueError):
            return False
        return data["pid"] == proc.pid and data["state"] == "connected"

    wait_for(ready, what="reader process")
    return proc


def test_killing_the_reader_mid_stream_loses_and_duplicates_nothing(pty_port, tmp_path):
    master, path = pty_port  # the test keeps the pty open: bytes wait while the reader is down
    sim = SimulatorStats()
    events = script(
        "rdm6300",
        CARDS,
        seconds=7.0,
        seed=5,
        hold_frames=(6, 12),
        gap=(0.05, 0.3),
        noise_rate=0.2,
        split_rate=0.2,
        phantom_rate=0.1,
        stats=sim,
    )
    proc = _start_reader(path, tmp_path)
    writer = threading.Thread(target=write_paced, args=(master, events), kwargs={"stats": sim})
    writer.start()
    kills = 0
    for pause in (1.7, 1.9, 1.3):
        time.sleep(pause)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = _start_reader(path, tmp_path)
    writer.join()
    time.sleep(1.0)  # let the reader drain the pty
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    records = spooled(tmp_path)
    assert kills == 3 and len(sim.presentations) > 10
    assert [r["card_no"] for r in records] == sim.expected_swipes
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert len({r["swipe_id"] for r in records}) == len(records)
    assert not list((tmp_path / "door1").glob("*.open"))  # SIGTERM finished the last file
    assert read_status(tmp_path, "door1")[0]["state"] == "stopped"


def test_a_single_frame_split_byte_by_byte_over_the_wire(pty_port, tmp_path):
    master, path = pty_port
    reader = ReaderThread(path, tmp_path)
    reader.wait_connected()
    frame = rdm6300_frame(0x2A00BC614E, variant="crlf")
    write_paced(master, iter([(i * 0.002, bytes([b])) for i, b in enumerate(frame * 2)]))
    wait_for(lambda: reader.status()["swipes"] == 1, what="swipe")
    stats = reader.stop()
    assert stats.frames == 2 and stats.garbage_bytes == 0


def test_reader_sim_prints_a_port_that_a_reader_reads_live_swipes_from(tmp_path):
    import io

    from devices.simulator import reader_sim_main

    out = io.StringIO()
    stop = threading.Event()
    link = tmp_path / "reader-sim.tty"
    sim = threading.Thread(
        target=reader_sim_main,
        kwargs=dict(
            cards=CARDS,
            seed=3,
            link=link,
            out=out,
            stop_event=stop,
            gap=(0.05, 0.2),
            hold_frames=(4, 8),
            unknown_rate=0.0,
        ),
    )
    sim.start()
    try:
        wait_for(lambda: out.getvalue().count("\n") >= 2, what="the printed port")
        port = out.getvalue().splitlines()[0]
        assert port.startswith("/dev/pts/") and os.path.realpath(link) == port
        reader = ReaderThread(str(link), tmp_path / "spool")
        wait_for(lambda: reader.status()["swipes"] >= 3, what="live swipes")
        reader.stop()
    finally:
        stop.set()
        sim.join(5)
    assert not sim.is_alive() and not link.exists()
    assert "presentations" in out.getvalue().splitlines()[-1]
    assert {r["card_no"] for r in spooled(tmp_path / "spool")} <= set(CARDS)
