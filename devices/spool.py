"""The durable swipe spool: the contract between card readers and everything that reads swipes.

Layout and format (fixed; ingestion and posting rely on it):

- one directory per reader: ``{spool_dir}/{reader_id}/``;
- a file being written is ``{reader_id}-{first_seq:012d}.jsonl.open``; when it is finished
  (rotation or close) it is atomically renamed (``os.replace``) to
  ``{reader_id}-{first_seq:012d}.jsonl``. Only ``*.jsonl`` files are finished and loadable
  (:data:`SPOOL_GLOB`, :func:`finished_files`);
- one JSON object per line (UTF-8, ``\\n``-terminated) with the keys, in this order:
  ``swipe_id`` (``f"{reader_id}-{seq:012d}"``, unique across restarts), ``reader_id``, ``seq``
  (int, per reader, never reused: the next one is kept in ``{spool_dir}/{reader_id}/SEQ``),
  ``card_no`` (the printed card number as read), ``raw`` (what the reader read: frame data or
  the number), ``swiped_at`` (ISO 8601 UTC with microseconds, ``2025-03-01T04:00:00.123000+00:00``),
  ``purpose`` (``activity_checkin`` | ``merchant_counter`` | ``points_award`` | null) and
  ``target`` (e.g. an activity or merchant code, or null).

Durability: with ``fsync=True`` every :meth:`SpoolWriter.append` is flushed and fsynced before it
returns, so an acknowledged swipe survives a power cut. A writer killed without closing leaves a
``.open`` file; the next writer for that reader drops a torn last line, finishes the file and
continues the sequence after the highest ``seq`` found (the ``SEQ`` file may lag behind after a
crash, the files never do). One writer per reader at a time (an ``flock`` on ``LOCK``).

Whoever posts swipes (points, attendance, merchant service uses) keys them with
:func:`swipe_idempotency_key`, so a swipe is posted once however often it is read.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

SPOOL_GLOB = "*/*.jsonl"
FINISHED_SUFFIX = ".jsonl"
OPEN_SUFFIX = ".jsonl.open"
SEQ_FILE = "SEQ"
LOCK_FILE = "LOCK"
PURPOSES = ("activity_checkin", "merchant_counter", "points_award")
FIELDS = ("swipe_id", "reader_id", "seq", "card_no", "raw", "swiped_at", "purpose", "target")

_READER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_SWIPED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
_PURPOSES = frozenset(PURPOSES)

SwipeRecord = tuple[str, str, "datetime | str", "str | None", "str | None"]
"""(card_no, raw, swiped_at, purpose, target) as accepted by :meth:`SpoolWriter.write_batch`."""


class SpoolError(RuntimeError):
    """The spool cannot be written as the contract requires."""


class SpoolBusy(SpoolError):
    """Another process is writing this reader's spool."""


def check_reader_id(reader_id: str) -> str:
    """Reader ids name directories and files: letters, digits, ``_.-``, at most 40."""
    if not isinstance(reader_id, str) or not _READER_ID.match(reader_id):
        raise ValueError(f"reader id {reader_id!r}: use letters, digits, '_', '.', '-' (max 40)")
    return reader_id


def swipe_id(reader_id: str, seq: int) -> str:
    return f"{reader_id}-{seq:012d}"


def swipe_idempotency_key(swipe_id_: str) -> str:
    """The idempotency key of whatever is posted from one swipe (points, service use)."""
    return f"swipe:{swipe_id_}"


def file_name(reader_id: str, first_seq: int, *, finished: bool = True) -> str:
    return f"{reader_id}-{first_seq:012d}{FINISHED_SUFFIX if finished else OPEN_SUFFIX}"


def format_swiped_at(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds; naive datetimes are refused (whose clock?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def encode_swipe(
    reader_id: str,
    seq: int,
    card_no: str,
    raw: str,
    swiped_at: str,
    purpose: str | None,
    target: str | None,
) -> str:
    """One spool line (with its newline); equal to compact ``json.dumps`` of the record."""
    return (
        f'{{"swipe_id":"{reader_id}-{seq:012d}","reader_id":"{reader_id}","seq":{seq},'
        f'"card_no":{encode_basestring(card_no)},"raw":{encode_basestring(raw)},'
        f'"swiped_at":"{swiped_at}",'
        f'"purpose":{"null" if purpose is None else encode_basestring(purpose)},'
        f'"target":{"null" if target is None else encode_basestring(target)}}}\n'
    )


def decode_line(line: str) -> dict[str, Any]:
    """Parse one spool line and check it carries every field of the contract."""
    record = json.loads(line)
    if not isinstance(record, dict) or tuple(record) != FIELDS:
        raise ValueError(f"spool line does not have the fields {FIELDS}: {line[:200]!r}")
    return record


def read_spool_file(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [decode_line(line) for line in handle if line.strip()]


def finished_files(spool_dir: Path | str) -> list[Path]:
    """Every finished (loadable) spool file, sorted by reader and first sequence number."""
    root = Path(spool_dir)
    if not root.is_dir():
        return []
    return sorted(path for path in root.glob(SPOOL_GLOB) if path.is_file())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_seq(path: Path) -> int:
    stem = path.name.split(".", 1)[0]
    return int(stem.rsplit("-", 1)[1])


def _last_seq(path: Path) -> int | None:
    """The ``seq`` of the last complete line of a spool file (None when it has none)."""
    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb") as handle:
        block = 4096
        while True:
            start = max(0, size - block)
            handle.seek(start)
            pieces = handle.read(size - start).split(b"\n")
            # The piece after the last newline is torn (or empty); the first one may be cut.
            candidates = pieces[:-1] if start == 0 else pieces[1:-1]
            complete = [piece for piece in candidates if piece.strip()]
            if complete:
                return int(json.loads(complete[-1])["seq"])
            if start == 0:
                return None
            block *= 4


class SpoolWriter:
    """Appends swipes of one reader to its spool, rotating files every ``rotate_every`` lines.

    Use as a context manager (``close`` finishes the open file). ``fsync=False`` is for bulk
    writers that finish each file with one fsync (the demo generator), never for a live reader.
    """

    def __init__(
        self,
        spool_dir: Path | str,
        reader_id: str,
        rotate_every: int = 1000,
        fsync: bool = True,
    ) -> None:
        if rotate_every < 1:
            raise ValueError("rotate_every must be at least 1")
        self.reader_id = check_reader_id(reader_id)
        self.directory = Path(spool_dir) / reader_id
        self.rotate_every = rotate_every
        self.fsync = fsync
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.directory / LOCK_FILE, "a+b")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise SpoolBusy(
                f"reader {reader_id} is already being spooled by another process"
            ) from exc
        self._handle = None
        self._path: Path | None = None
        self._lines_in_file = 0
        self._closed = False
        self._next_seq = self._recover()

    # -- state -------------------------------------------------------------------------------
    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def current_path(self) -> Path | None:
        """The ``.open`` file being written, if any."""
        return self._path

    def _seq_path(self) -> Path:
        return self.directory / SEQ_FILE

    def _recover(self) -> int:
        """Finish files a crashed writer left open; return the next sequence number."""
        prefix = f"{self.reader_id}-"
        highest = 0
        for leftover in sorted(self.directory.glob(f"{prefix}*{OPEN_SUFFIX}")):
            self._finish_leftover(leftover)
        finished = sorted(self.directory.glob(f"{prefix}*{FINISHED_SUFFIX}"), key=_first_seq)
        if finished:
            last = _last_seq(finished[-1])
            highest = last if last is not None else _first_seq(finished[-1]) - 1
        stored = 0
        if self._seq_path().exists():
            text = self._seq_path().read_text(encoding="ascii").strip()
            stored = int(text) if text else 0
        next_seq = max(stored, highest + 1, 1)
        if next_seq != stored:
            self._write_seq(next_seq)
        return next_seq

    def _finish_leftover(self, path: Path) -> None:
        with open(path, "r+b") as handle:
            data = handle.read()
            cut = data.rfind(b"\n") + 1  # drop a torn last line (written but not acknowledged)
            if cut != len(data):
                handle.truncate(cut)
                handle.flush()
                os.fsync(handle.fileno())
        if cut == 0:
            path.unlink()
            return
        target = path.with_name(path.name[: -len(OPEN_SUFFIX)] + FINISHED_SUFFIX)
        os.replace(path, target)
        _fsync_dir(self.directory)

    def _write_seq(self, value: int) -> None:
        tmp = self.directory / f"{SEQ_FILE}.tmp"
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(f"{value}\n")
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, self._seq_path())
        if self.fsync:
            _fsync_dir(self.directory)

    # -- writing -----------------------------------------------------------------------------
    def _ensure_file(self):
        if self._closed:
            raise SpoolError("the spool writer is closed")
        if self._handle is None:
            self._path = self.directory / file_name(self.reader_id, self._next_seq, finished=False)
            self._handle = open(self._path, "xb")  # noqa: SIM115 - kept open across appends
            self._lines_in_file = 0
            if self.fsync:
                _fsync_dir(self.directory)
        return self._handle

    def append(
        self,
        card_no: str,
        raw: str,
        swiped_at: datetime,
        purpose: str | None = None,
        target: str | None = None,
    ) -> str:
        """Spool one swipe; when this returns (fsync=True) the swipe is on disk. Returns its id."""
        if not card_no or not isinstance(card_no, str) or not isinstance(raw, str):
            raise ValueError("card_no and raw must be strings (card_no not empty)")
        if purpose is not None and purpose not in _PURPOSES:
            raise ValueError(f"purpose {purpose!r} is not one of {PURPOSES}")
        moment = format_swiped_at(swiped_at)
        handle = self._ensure_file()
        seq = self._next_seq
        handle.write(
            encode_swipe(self.reader_id, seq, card_no, raw, moment, purpose, target).encode()
        )
        handle.flush()
        if self.fsync:
            os.fsync(handle.fileno())
        self._next_seq = seq + 1
        self._lines_in_file += 1
        if self._lines_in_file >= self.rotate_every:
            self.rotate()
        return swipe_id(self.reader_id, seq)

    def write_batch(self, records: Iterable[SwipeRecord]) -> int:
        """Spool many swipes at once (one flush and fsync per file); returns how many.

        ``swiped_at`` may be an aware datetime or an already formatted UTC string
        (``format_swiped_at``). Rotation still happens every ``rotate_every`` lines.
        """
        count = 0
        for group in self._groups(iter(records)):
            handle = self._ensure_file()
            lines = []
            seq = self._next_seq
            rid = self.reader_id
            for card_no, raw, swiped_at, purpose, target in group:
                if isinstance(swiped_at, datetime):
                    moment = format_swiped_at(swiped_at)
                elif isinstance(swiped_at, str) and _SWIPED_AT.match(swiped_at):
                    moment = swiped_at
                else:
                    raise ValueError(
                        f"swiped_at {swiped_at!r} is not an aware datetime or UTC text"
                    )
                if purpose is not None and purpose not in _PURPOSES:
                    raise ValueError(f"purpose {purpose!r} is not one of {PURPOSES}")
                if not card_no:
                    raise ValueError("card_no must not be empty")
                lines.append(encode_swipe(rid, seq, card_no, raw, moment, purpose, target))
                seq += 1
            handle.write("".join(lines).encode())
            handle.flush()
            if self.fsync:
                os.fsync(handle.fileno())
            written = seq - self._next_seq
            self._next_seq = seq
            self._lines_in_file += written
            count += written
            if self._lines_in_file >= self.rotate_every:
                self.rotate()
        return count

    def _groups(self, records: Iterator[SwipeRecord]) -> Iterator[list[SwipeRecord]]:
        """Slices of ``records`` that fit in the room left in the current file."""
        while True:
            room = self.rotate_every - (self._lines_in_file if self._handle is not None else 0)
            group = []
            for record in records:
                group.append(record)
                if len(group) >= room:
                    break
            if not group:
                return
            yield group

    def rotate(self) -> Path | None:
        """Finish the current file (fsync, atomic rename to ``.jsonl``); return its final path."""
        if self._handle is None:
            return None
        handle, path = self._handle, self._path
        self._handle, self._path = None, None
        handle.flush()
        if self.fsync:
            os.fsync(handle.fileno())
        handle.close()
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)] + FINISHED_SUFFIX)
        os.replace(path, final)
        if self.fsync:
            _fsync_dir(self.directory)
        self._write_seq(self._next_seq)
        return final

    def close(self) -> None:
        """Finish the open file and release the reader's lock (safe to call twice)."""
        if self._closed:
            return
        try:
            self.rotate()
        finally:
            self._closed = True
            self._lock.close()

    def __enter__(self) -> SpoolWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
