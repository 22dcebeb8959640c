"""Write the simulated swipes as reader spool files (``devices.spool`` format).

One finished file per reader and local calendar month, written through
:class:`devices.spool.SpoolWriter` in bulk mode (no fsync: demo data can be regenerated), so the
demo spool is exactly what live readers produce and their sequence numbers continue after it.
"""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import numpy as np

from demodata.reference import PURPOSE_OF_KIND
from demodata.tables import World
from demodata.timebase import iso_utc_ms, local_day, numbers
from devices.poster import mark_posted
from devices.spool import LOCK_FILE, SpoolBusy, SpoolWriter

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def em4100_frames(version: np.ndarray, number: np.ndarray) -> np.ndarray:
    """The 10 hex characters an RDM6300 reader reports: version byte + 32-bit tag id."""
    value = (np.asarray(version, dtype=np.int64) << 32) | np.asarray(number, dtype=np.int64)
    shifts = np.arange(36, -1, -4, dtype=np.int64)
    digits = (value[:, None] >> shifts) & 0xF
    return np.ascontiguousarray(_HEX[digits].astype(np.uint32)).view("<U10").ravel()


def check_spool_free(spool_dir: Path) -> None:
    """Raise :class:`SpoolBusy` while a live reader is writing into ``spool_dir``."""
    if not spool_dir.is_dir():
        return
    for folder in sorted(p for p in spool_dir.iterdir() if p.is_dir()):
        lock = folder / LOCK_FILE
        if lock.exists():
            with open(lock, "a+b") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError as exc:
                    raise SpoolBusy(
                        f"a reader is spooling into {folder}; stop it before replacing demo data"
                    ) from exc


def clear_spool(spool_dir: Path) -> None:
    """Remove earlier demo spool files (every reader folder); refuse while one is in use."""
    check_spool_free(spool_dir)
    for folder in sorted(p for p in spool_dir.iterdir() if p.is_dir()):
        shutil.rmtree(folder)


def write_spool(spool_dir: Path, world: World) -> int:
    """Write every swipe of ``world``; return how many lines were written."""
    s = world.swipes
    total = 0
    readers = world.readers
    if not len(s["reader"]):
        return 0
    month = (
        local_day(s["ts_ms"] // 1000)
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype(np.int64)
    )
    breaks = np.flatnonzero((np.diff(s["reader"]) != 0) | (np.diff(month) != 0)) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(s["reader"])]])
    codes = world.derived["activity_code"]
    merchant_codes = world.merchants.code
    by_reader: dict[int, list[tuple[int, int]]] = {}
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        by_reader.setdefault(int(s["reader"][a]), []).append((a, b))
    for reader, runs in sorted(by_reader.items()):
        kind = int(readers.kind[reader])
        purpose = PURPOSE_OF_KIND[kind]
        merchant_target = str(merchant_codes[readers.merchant[reader]]) if kind == 2 else None
        with SpoolWriter(
            spool_dir, readers.reader_id[reader], rotate_every=1 << 40, fsync=False
        ) as w:
            for a, b in runs:
                if w.next_seq != int(s["seq"][a]):
                    raise RuntimeError("spool sequence out of step with the simulated swipes")
                card_no = numbers(s["number"][a:b], 10).tolist()
                raw = em4100_frames(s["version"][a:b], s["number"][a:b]).tolist()
                when = iso_utc_ms(s["ts_ms"][a:b]).tolist()
                if kind == 0:
                    act = s["activity"][a:b]
                    target = np.where(act >= 0, codes[np.maximum(act, 0)], "").tolist()
                    target = [t or None for t in target]
                else:
                    target = [merchant_target] * (b - a)
                records = zip(card_no, raw, when, [purpose] * (b - a), target, strict=True)
                total += w.write_batch(records)
                w.rotate()
            last_seq = w.next_seq - 1
        # The demo history is already in the operational data: the poster starts after it.
        mark_posted(Path(spool_dir) / readers.reader_id[reader], last_seq)
    return total
