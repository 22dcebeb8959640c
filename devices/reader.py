"""The card reader loop: serial port → frame parser → debounce → durable spool.

Rules:

- **Port.** Any pyserial URL or device path (``/dev/ttyUSB0``, a pty, ``loop://``), 8N1 at
  ``baudrate``, read with a short timeout (``read_timeout``, 50 ms) so a stop is noticed quickly.
  When the device disappears (``SerialException`` / ``OSError`` on open or read) the port is
  closed, the partial frame is dropped and the port is reopened with a doubling back-off
  (0.1 s … 2 s) until it comes back or the reader is stopped; ``reconnects`` counts the
  successful reopenings.
- **Debounce** (:class:`Debouncer`). A card held in the field repeats its frame about every
  65 ms. A swipe is accepted once the same card has been read ``confirm_reads`` times in a row
  (consecutive reads at most ``away_gap`` apart; any other card's read breaks the run). This
  rejects phantom single reads of noise that happen to pass the checksum. The default is 2 for
  ``rdm6300`` and 1 for the line protocols (``wiegand``, ``track2``, ``line``), whose devices send
  one frame per presentation. After acceptance further reads of that card are folded into the
  same swipe until the card has been away (no read of it) for more than ``away_gap`` seconds, or
  until a different card has been *accepted* (a single phantom read does not end the fold).
- **Spool first.** An accepted swipe (its time is the moment of the confirming read, UTC) is
  put on a bounded queue and appended by one writer thread to the reader's spool
  (:meth:`devices.spool.SpoolWriter.append`, fsync) in the order accepted; only then does it
  count (``swipes``, ``last_swipe_at``). The serial loop therefore never waits for the disk:
  a slow fsync only lengthens the queue (10,000 swipes, hours of a busy counter; should it ever
  fill, the loop waits and the kernel's serial buffer takes the bytes meanwhile). Posting
  points or attendance is not done here: posters read the spool.
- **Restarts.** The spool's sequence continues (``SpoolWriter`` recovery). So that a card still
  held while the reader is killed and restarted is not spooled twice, the writer thread
  publishes, with the status, the folded card *once its swipe is on disk* and when it was last
  read; a restarted reader resumes that fold if the card was seen less than ``away_gap`` ago.
  A swipe accepted but not yet on disk when the process dies is not counted and not folded: the
  card, if still held, is accepted again.
- **Status.** :meth:`Reader.status` (in process) and ``{spool_dir}/{reader_id}/STATUS.json``
  (rewritten atomically every ``status_interval`` seconds and at stop; read with
  :func:`read_status`) give frames, swipes, bad checksums, garbage bytes, invalid frames,
  reconnects, the state and the last swipe. ``STATUS.json`` is not a spool file (only
  ``*.jsonl`` are).
- **Stop.** ``stop_event`` set, or SIGTERM / SIGINT when :func:`run_reader` runs in the main
  thread without a ``stop_event``: the loop ends, queued swipes are spooled and the spool file is
  finished (:meth:`~devices.spool.SpoolWriter.close`) so the next pipeline run loads it.
- Files rotate every ``rotate_every`` swipes or ``rotate_seconds`` after a file was opened,
  whichever comes first, so a quiet reader's swipes still reach the warehouse.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import serial

from devices.frames import CardRead, FrameParser, check_mapping, make_parser
from devices.spool import SpoolWriter, check_reader_id, finished_files, read_spool_file

log = logging.getLogger(__name__)

STATUS_FILE = "STATUS.json"
DEFAULT_CONFIRM_READS = {"rdm6300": 2, "wiegand": 1, "track2": 1, "line": 1}

PortOpener = Callable[..., Any]


@dataclass
class ReaderStats:
    """Counters of one reader (monotonic while it runs) and its state."""

    reader_id: str
    port: str
    protocol: str
    mapping: str
    purpose: str | None = None
    target: str | None = None
    state: str = "starting"  # starting | connected | disconnected | stopped | failed
    pid: int = field(default_factory=os.getpid)
    started_at: str | None = None
    updated_at: str | None = None
    bytes_read: int = 0
    frames: int = 0
    swipes: int = 0
    folded_reads: int = 0
    bad_checksums: int = 0
    garbage_bytes: int = 0
    invalid_frames: int = 0
    bad_format: int = 0
    reconnects: int = 0
    queued: int = 0
    last_swipe_at: str | None = None
    last_swipe_id: str | None = None
    last_card_no: str | None = None
    last_error: str | None = None
    fold_card_no: str | None = None
    fold_seen_at: float | None = None  # wall clock (epoch seconds) of the last read of it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Debouncer:
    """Turns card reads into swipes (rules in the module docstring). Times are monotonic."""

    def __init__(self, confirm_reads: int = 2, away_gap: float = 1.0) -> None:
        if confirm_reads < 1:
            raise ValueError("confirm_reads must be at least 1")
        if away_gap <= 0:
            raise ValueError("away_gap must be positive")
        self.confirm_reads = confirm_reads
        self.away_gap = away_gap
        self.folded: str | None = None
        self.folded_seen = 0.0
        self._run_card: str | None = None
        self._run_len = 0
        self._run_seen = 0.0

    def resume_fold(self, card_no: str, seen: float) -> None:
        """Continue a fold from an earlier process (``seen`` on this process's monotonic clock)."""
        self.folded, self.folded_seen = card_no, seen

    def read(self, card_no: str, now: float) -> str:
        """Record one read; returns ``"accepted"``, ``"folded"`` or ``"pending"``."""
        if self.folded is not None and now - self.folded_seen > self.away_gap:
            self.folded = None
        if card_no == self.folded:
            self.folded_seen = now
            self._run_card, self._run_len = None, 0
            return "folded"
        if self._run_card == card_no and now - self._run_seen <= self.away_gap:
            self._run_len += 1
        else:
            self._run_card, self._run_len = card_no, 1
        self._run_seen = now
        if self._run_len >= self.confirm_reads:
            self.folded, self.folded_seen = card_no, now
            self._run_card, self._run_len = None, 0
            return "accepted"
        return "pending"


@dataclass(frozen=True, slots=True)
class _Accepted:
    token: int
    read: CardRead
    at: datetime


_STOP = object()


class Reader:
    """One reader: :meth:`run` blocks until stopped (see the module docstring)."""

    def __init__(
        self,
        port: str,
        protocol: str,
        reader_id: str,
        spool_dir: Path | str,
        *,
        purpose: str | None = None,
        target: str | None = None,
        mapping: str | None = None,
        confirm_reads: int | None = None,
        away_gap: float = 1.0,
        stop_event: threading.Event | None = None,
        baudrate: int = 9600,
        read_timeout: float = 0.05,
        open_port: PortOpener | None = None,
        rotate_every: int = 1000,
        rotate_seconds: float = 3600.0,
        status_interval: float = 0.25,
        queue_size: int = 10_000,
        backoff: tuple[float, float] = (0.1, 2.0),
        parser: FrameParser | None = None,
    ) -> None:
        self.mapping = check_mapping(protocol, mapping)
        self.reader_id = check_reader_id(reader_id)
        self.port = port
        self.protocol = protocol
        self.spool_dir = Path(spool_dir)
        self.purpose = purpose
        self.target = target
        self.baudrate = baudrate
        self.read_timeout = read_timeout
        self.open_port = open_port or _open_serial
        self.rotate_every = rotate_every
        self.rotate_seconds = rotate_seconds
        self.status_interval = status_interval
        self.backoff = backoff
        self.stop_event = stop_event or threading.Event()
        confirm = DEFAULT_CONFIRM_READS[protocol] if confirm_reads is None else confirm_reads
        self.debouncer = Debouncer(confirm, away_gap)
        self.parser = parser or make_parser(protocol, self.mapping)
        self.stats = ReaderStats(reader_id, port, protocol, self.mapping, purpose, target)
        self._queue: queue.Queue[Any] = queue.Queue(queue_size)
        self._token = 0
        self._fold: tuple[str | None, int] = (None, 0)  # folded card, token of its swipe
        self._spooled_token = 0  # highest token on disk
        self._sink_error: BaseException | None = None

    # -- status ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """A snapshot of the counters and state (safe to call from any thread)."""
        self._sync_counts()
        self.stats.queued = self._queue.qsize()
        return self.stats.as_dict()

    def _sync_counts(self) -> None:
        counts = self.parser.counts
        stats = self.stats
        stats.frames = counts.frames
        stats.bad_checksums = counts.bad_checksums
        stats.garbage_bytes = counts.garbage_bytes
        stats.invalid_frames = counts.invalid_frames
        stats.bad_format = counts.bad_format

    def _write_status(self) -> None:
        snapshot = self.status()
        # Publish the fold only once the swipe that started it is on disk (see the docstring).
        card, token = self._fold
        seen = self.debouncer.folded_seen
        if card is not None and card == self.debouncer.folded and token <= self._spooled_token:
            snapshot["fold_card_no"] = card
            snapshot["fold_seen_at"] = time.time() - (time.monotonic() - seen)
        else:
            snapshot["fold_card_no"] = snapshot["fold_seen_at"] = None
        snapshot["updated_at"] = _now_text()
        path = self.spool_dir / self.reader_id / STATUS_FILE
        tmp = path.with_name(f"{STATUS_FILE}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:  # status is advisory; never stop spooling for it
            log.warning("reader %s: cannot write status: %s", self.reader_id, exc)

    # -- running -----------------------------------------------------------------------------
    def run(self) -> ReaderStats:
        writer = SpoolWriter(self.spool_dir, self.reader_id, rotate_every=self.rotate_every)
        self.stats.started_at = _now_text()
        self._resume_fold()
        sink = threading.Thread(
            target=self._sink, args=(writer,), name=f"spool-{self.reader_id}", daemon=True
        )
        sink.start()
        port = None
        try:
            port = self._loop()
        finally:
            _close_quietly(port)
            self._queue.put(_STOP)
            sink.join()
            self.stats.state = "failed" if self._sink_error else "stopped"
            self._write_status()
        if self._sink_error is not None:
            raise self._sink_error
        return self.stats

    def _resume_fold(self) -> None:
        """Fold a card still held across a restart (status file, else the last spooled swipe)."""
        card, seen = None, None
        path = self.spool_dir / self.reader_id / STATUS_FILE
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
            card, seen = previous.get("fold_card_no"), previous.get("fold_seen_at")
        except (OSError, ValueError):
            pass
        last = _last_spooled(self.spool_dir, self.reader_id)
        if last is not None:
            at = datetime.fromisoformat(last["swiped_at"]).timestamp()
            if card != last["card_no"] or seen is None or seen < at:
                card, seen = last["card_no"], at
        if card and seen is not None:
            age = time.time() - float(seen)
            if 0 <= age <= self.debouncer.away_gap:
                self.debouncer.resume_fold(card, time.monotonic() - age)

    def _loop(self) -> Any:
        stop = self.stop_event
        stats = self.stats
        parser = self.parser
        port = None
        delay = self.backoff[0]
        opened_before = False
        while not stop.is_set() and self._sink_error is None:
            if port is None:
                try:
                    port = self.open_port(
                        self.port, baudrate=self.baudrate, timeout=self.read_timeout
                    )
                except (serial.SerialException, OSError, ValueError) as exc:
                    stats.state = "disconnected"
                    stats.last_error = f"open {self.port}: {exc}"
                    stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                if opened_before:
                    stats.reconnects += 1
                opened_before = True
                delay = self.backoff[0]
                stats.state = "connected"
            try:
                data = port.read(4096)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial's posix read on a port closed under it.
                stats.state = "disconnected"
                stats.last_error = f"read {self.port}: {exc}"
                _close_quietly(port)
                port = None
                parser.reset()
                continue
            if data:
                stats.bytes_read += len(data)
                reads = parser.feed(data)
            else:
                reads = parser.idle()
            if reads:
                self._debounce(reads)
        return port

    def _debounce(self, reads: list[CardRead]) -> None:
        now = time.monotonic()
        for read in reads:
            outcome = self.debouncer.read(read.card_no, now)
            if outcome == "folded":
                self.stats.folded_reads += 1
            elif outcome == "accepted":
                self._token += 1
                self._fold = (read.card_no, self._token)  # one assignment: read whole by _sink
                item = _Accepted(self._token, read, datetime.now(UTC))
                while True:
                    try:
                        self._queue.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        if self._sink_error is not None:
                            return

    def _sink(self, writer: SpoolWriter) -> None:
        """The only thread touching the spool: append (fsync) in order, then count."""
        stats = self.stats
        opened_at: float | None = None
        next_status = 0.0
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.status_interval)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    if writer.current_path is None:
                        opened_at = time.monotonic()
                    swipe = writer.append(
                        item.read.card_no, item.read.raw, item.at, self.purpose, self.target
                    )
                    self._spooled_token = item.token
                    stats.swipes += 1
                    stats.last_swipe_at = item.at.isoformat(timespec="microseconds")
                    stats.last_swipe_id = swipe
                    stats.last_card_no = item.read.card_no
                if (
                    opened_at is not None
                    and writer.current_path is not None
                    and time.monotonic() - opened_at >= self.rotate_seconds
                ):
                    writer.rotate()
                    opened_at = None
                if time.monotonic() >= next_status:
                    self._write_status()
                    next_status = time.monotonic() + self.status_interval
        except BaseException as exc:  # noqa: BLE001 - reported by run()
            self._sink_error = exc
            stats.last_error = f"spool: {exc}"
        finally:
            writer.close()


def _open_serial(port: str, **kwargs: Any) -> Any:
    return serial.serial_for_url(port, **kwargs)


def _close_quietly(port: Any) -> None:
    if port is None:
        return
    try:
        port.close()
    except Exception:  # noqa: BLE001 - the device may already be gone
        pass


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _last_spooled(spool_dir: Path, reader_id: str) -> dict[str, Any] | None:
    files = [p for p in finished_files(spool_dir) if p.parent.name == reader_id]
    for path in reversed(files):
        records = read_spool_file(path)
        if records:
            return records[-1]
    return None


def run_reader(
    port: str,
    protocol: str,
    reader_id: str,
    spool_dir: Path | str,
    *,
    purpose: str | None = None,
    target: str | None = None,
    mapping: str | None = None,
    confirm_reads: int | None = None,
    away_gap: float = 1.0,
    stop_event: threading.Event | None = None,
    baudrate: int = 9600,
    **options: Any,
) -> ReaderStats:
    """Run one reader until ``stop_event`` is set (or SIGTERM/SIGINT; see the module docstring).

    ``mapping`` defaults to the protocol's (:data:`devices.frames.DEFAULT_MAPPING`),
    ``confirm_reads`` to :data:`DEFAULT_CONFIRM_READS`. ``options`` go to :class:`Reader`
    (``read_timeout``, ``open_port``, ``rotate_every``, ``rotate_seconds``, ``status_interval``).
    Raises :class:`devices.spool.SpoolBusy` when another process spools this reader.
    """
    own_signals = stop_event is None and threading.current_thread() is threading.main_thread()
    stop_event = stop_event or threading.Event()
    reader = Reader(
        port,
        protocol,
        reader_id,
        spool_dir,
        purpose=purpose,
        target=target,
        mapping=mapping,
        confirm_reads=confirm_reads,
        away_gap=away_gap,
        stop_event=stop_event,
        baudrate=baudrate,
        **options,
    )
    previous: dict[int, Any] = {}
    if own_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop_event.set())
    try:
        return reader.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def read_status(spool_dir: Path | str, reader_id: str | None = None) -> list[dict[str, Any]]:
    """The last published status of every reader under ``spool_dir`` (or of one reader).

    A reader whose status says ``connected``/``disconnected`` but was not updated for a few
    status intervals has died without stopping; callers compare ``updated_at`` with now.
    """
    root = Path(spool_dir)
    folders = [root / reader_id] if reader_id else sorted(p for p in root.glob("*") if p.is_dir())
    result = []
    for folder in folders:
        try:
            result.append(json.loads((folder / STATUS_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return result
