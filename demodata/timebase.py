"""The simulated calendar and vectorised formatting of dates and UTC timestamps.

Times are int64 seconds since the Unix epoch in UTC; days are int64 day numbers since
1970-01-01. The club works on Beijing time (UTC+8, no daylight saving), so "local" office hours
are converted with a fixed offset. ``NA`` marks a missing value in integer arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

NA = np.iinfo(np.int64).min
DAY = 86_400
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai
EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    return (value - EPOCH).days


def local_ts(day, seconds_of_day):
    """UTC epoch seconds of a local (Beijing) wall-clock time on day number ``day``."""
    return (
        np.asarray(day, dtype=np.int64) * DAY
        + np.asarray(seconds_of_day, dtype=np.int64)
        - LOCAL_OFFSET
    )


def local_day(ts):
    """The local (Beijing) day number of UTC epoch seconds."""
    return (np.asarray(ts, dtype=np.int64) + LOCAL_OFFSET) // DAY


@dataclass(frozen=True)
class Timeline:
    """``months`` calendar months ending on ``end`` (the last one possibly partial)."""

    start: date
    end: date

    @classmethod
    def ending(cls, end: date, months: int) -> Timeline:
        index = end.year * 12 + end.month - 1 - (months - 1)
        return cls(start=date(index // 12, index % 12 + 1, 1), end=end)

    @property
    def start_day(self) -> int:
        return day_number(self.start)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    @property
    def n_days(self) -> int:
        return self.end_day - self.start_day + 1

    @property
    def start_ts(self) -> int:
        return int(local_ts(self.start_day, 0))

    @property
    def end_ts(self) -> int:
        """First second after the history (local midnight after ``end``), exclusive."""
        return int(local_ts(self.end_day + 1, 0))

    def month_starts(self) -> list[date]:
        out, index = [], self.start.year * 12 + self.start.month - 1
        while True:
            first = date(index // 12, index % 12 + 1, 1)
            if first > self.end:
                return out
            out.append(first)
            index += 1


# -- vectorised formatting ---------------------------------------------------------------------
def _fix_t(text: np.ndarray, width: int) -> np.ndarray:
    """Replace the ISO 'T' by a space in place (the form SQLAlchemy writes to SQLite)."""
    assert text.dtype.itemsize == width * 4, text.dtype
    view = text.view(np.uint32).reshape(-1, width)
    view[:, 10] = ord(" ")
    return text


def sql_timestamps(ts: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS.000000' (naive UTC) for epoch seconds; NA gives garbage, mask it."""
    text = np.datetime_as_string(np.asarray(ts, dtype=np.int64).astype("datetime64[s]"), unit="s")
    text = np.ascontiguousarray(text, dtype="<U19")
    return np.strings.add(_fix_t(text, 19), ".000000")


def sql_dates(days: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' for day numbers."""
    return np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def compact_dates(days: np.ndarray) -> np.ndarray:
    """'YYYYMMDD' for day numbers (ID numbers, document numbers)."""
    text = sql_dates(days)
    # np.strings.replace fails on empty arrays (numpy 2.x).
    return np.strings.replace(text, "-", "") if text.size else text.astype("<U8")


def iso_utc_ms(ts_ms: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DDTHH:MM:SS.mmm000+00:00' for epoch milliseconds (the spool's swiped_at)."""
    text = np.datetime_as_string(
        np.asarray(ts_ms, dtype=np.int64).astype("datetime64[ms]"), unit="ms"
    )
    return np.strings.add(text, "000+00:00")


def numbers(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Decimal text of integers, zero-padded to ``width``."""
    text = np.asarray(values, dtype=np.int64).astype("U")
    return np.strings.zfill(text, width) if width and text.size else text


def concat(*parts) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars."""
    out = parts[0] if isinstance(parts[0], np.ndarray) else np.asarray(parts[0], dtype="U")
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out
