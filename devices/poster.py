"""The swipe poster: hands spooled swipes to the operational services, each exactly once.

It reads every reader's spool (finished ``*.jsonl`` files and the ``*.jsonl.open`` file being
written; a torn last line is left for the next pass) in sequence order, and posts the swipes
after the reader's cursor with :func:`operational.services.swipes.post_swipe` — attendance,
merchant service uses or points, as the reader's purpose says — a batch per transaction.

Exactly once, across crashes and restarts:

- the cursor (``{spool_dir}/{reader_id}/POSTED``: the last posted ``seq``) is written, atomically,
  only after the batch's transaction committed;
- a crash between the commit and the cursor write replays that batch, and ``post_swipe`` finds
  each swipe's stored outcome (``swipe_postings``, keyed by the swipe id) and does nothing;
- the services' own idempotency keys (``swipe:<swipe id>``) back that up.

Refused swipes (unknown or lost cards…) are stored with their reason and listed on the readers
page; they advance the cursor like any other. The demo generator marks its history as posted
(:func:`mark_posted`): its swipes are already in the operational data.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.spool import FINISHED_SUFFIX, OPEN_SUFFIX

POSTED_FILE = "POSTED"
LOCK_FILE = ".poster.lock"
BATCH = 200

log = logging.getLogger(__name__)


@dataclass
class PosterReport:
    posted: int = 0  # swipes handed to the services for the first time in this pass
    outcomes: Counter = field(default_factory=Counter)  # posted / already / recorded / refused
    replayed: int = 0  # swipes after the cursor that had been posted (a crash before the cursor)
    readers: int = 0
    busy: bool = False  # another poster holds the spool: this pass did nothing
    errors: list[str] = field(default_factory=list)  # readers whose pass stopped on an error

    def lines(self) -> list[str]:
        parts = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        if self.busy:
            return ["another poster is posting these swipes; nothing done"]
        return [
            f"swipes posted: {self.posted} from {self.readers} readers ({parts or 'none'})",
            f"swipes found posted already (replayed after a crash): {self.replayed}",
            *(f"error: {error}" for error in self.errors),
        ]


def read_cursor(folder: Path) -> int:
    """The last ``seq`` of this reader whose swipe was posted (0: none)."""
    try:
        return int(json.loads((folder / POSTED_FILE).read_text(encoding="utf-8"))["seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def mark_posted(folder: Path, seq: int) -> None:
    """Move the reader's cursor to ``seq`` (atomic: a crash leaves the old or the new one)."""
    temporary = folder / f".{POSTED_FILE}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({"seq": seq}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / POSTED_FILE)


def pending_swipes(folder: Path, after_seq: int) -> Iterator[dict[str, Any]]:
    """Spooled swipes of one reader with ``seq`` > ``after_seq``, in order (complete lines)."""
    files = sorted(
        (path for path in folder.iterdir() if _is_spool_file(path.name)),
        key=lambda path: _first_seq(path.name),
    )
    for index, path in enumerate(files):
        following = files[index + 1] if index + 1 < len(files) else None
        if following is not None and _first_seq(following.name) <= after_seq + 1:
            continue  # every swipe of this file is before the next file's first one
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # renamed from .open to finished meanwhile: next pass
            return
        for line in text.split("\n")[:-1]:  # the part after the last newline may be torn
            if not line.strip():
                continue
            record = json.loads(line)
            if int(record["seq"]) > after_seq:
                yield record


def post_spooled_swipes(
    database_url: str, spool_dir: Path | str, *, batch: int = BATCH
) -> PosterReport:
    """One pass over every reader's spool: post what is new; return what was done.

    One poster at a time (a lock file in the spool folder): a second one returns at once with
    ``busy``. An error in one reader's spool is logged and reported, and the others are posted.
    """
    report = PosterReport()
    root = Path(spool_dir)
    if not root.is_dir():
        return report
    with open(root / LOCK_FILE, "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.busy = True
            return report
        for folder in sorted(path for path in root.iterdir() if path.is_dir()):
            report.readers += 1
            try:
                _post_reader(database_url, folder, batch, report)
            except Exception as error:  # a bad line, a DB hiccup: the other readers go on
                log.exception("posting the swipes of %s stopped", folder.name)
                report.errors.append(f"{folder.name}: {error}")
    return report


def _post_reader(database_url: str, folder: Path, batch: int, report: PosterReport) -> None:
    """Post one reader's swipes after its cursor, a batch per transaction."""
    from operational.db import session_scope
    from operational.services.swipes import post_swipe, posted_swipe_ids, reader_actor

    records = pending_swipes(folder, read_cursor(folder))
    while True:
        chunk = [record for _, record in zip(range(batch), records, strict=False)]
        if not chunk:
            return
        with session_scope(database_url) as session:
            done = posted_swipe_ids(session, (record["swipe_id"] for record in chunk))
            for record in chunk:
                if record["swipe_id"] in done:
                    report.replayed += 1
                    continue
                outcome = post_swipe(session, reader_actor(record["reader_id"]), record)
                report.outcomes[outcome.outcome] += 1
                report.posted += 1
        mark_posted(folder, int(chunk[-1]["seq"]))


def run_poster(
    database_url: str,
    spool_dir: Path | str,
    *,
    interval: float = 2.0,
    stop_event: threading.Event | None = None,
) -> PosterReport:
    """Post new swipes every ``interval`` seconds until ``stop_event`` is set; the total.

    Errors (the database is down) are logged and the next pass tries again.
    """
    stop = stop_event or threading.Event()
    total = PosterReport()
    while not stop.is_set():
        try:
            done = post_spooled_swipes(database_url, spool_dir)
        except Exception:
            log.exception("posting swipes failed; retrying in %s s", interval)
        else:
            total.posted += done.posted
            total.replayed += done.replayed
            total.outcomes.update(done.outcomes)
            total.readers = done.readers
            total.errors.extend(done.errors)
        stop.wait(interval)
    return total


def _is_spool_file(name: str) -> bool:
    return name.endswith(FINISHED_SUFFIX) or name.endswith(OPEN_SUFFIX)


def _first_seq(name: str) -> int:
    stem = name.removesuffix(OPEN_SUFFIX).removesuffix(FINISHED_SUFFIX)
    return int(stem.rsplit("-", 1)[1])
