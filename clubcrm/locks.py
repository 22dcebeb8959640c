"""One writer of a data folder's warehouse at a time (DuckDB allows one writing process).

Every warehouse writer takes :func:`warehouse_lock`: ``clubcrm pipeline run`` (refuses at once
when busy), runs the Dagster daemon launches (their warehouse resource holds it for the whole
run, waiting), ``clubcrm backup`` and ``clubcrm restore`` (waiting). It is an advisory
``flock`` on ``warehouse/.pipeline.lock`` beside the build file, so it works between processes
and is released by the kernel if the holder dies.

The lock is re-entrant within one thread: ``clubcrm pipeline run`` takes it, then executes the
Dagster run in-process, whose warehouse resource takes it again without deadlocking. Another
thread or process opening the lock file gets its own lock and waits (flock locks belong to
the open file, not to the process).
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clubcrm.settings import Settings

LOCK_NAME = ".pipeline.lock"
_POLL_SECONDS = 0.5

_held = threading.local()  # lock path -> depth, for the current thread only


class WarehouseBusy(RuntimeError):
    """Another writer holds this data folder's warehouse."""


def lock_path(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / LOCK_NAME


@contextmanager
def warehouse_lock(settings: Settings, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the warehouse writer's lock of ``settings``' data folder.

    ``wait_seconds`` 0 refuses at once when another writer holds it; otherwise waits up to that
    long. Raises :class:`WarehouseBusy` (naming the folder) when it cannot be had.
    """
    with build_lock(settings.build_warehouse_path, wait_seconds):
        yield


@contextmanager
def build_lock(build_path: Path, wait_seconds: float = 0) -> Iterator[None]:
    """:func:`warehouse_lock` for a build warehouse file (the lock lives in its folder)."""
    folder = Path(build_path).parent
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder).resolve()
    depths: dict[Path, int] = _held.__dict__.setdefault("depths", {})
    if depths.get(path):
        depths[path] += 1
        try:
            yield
        finally:
            depths[path] -= 1
        return
    deadline = time.monotonic() + max(wait_seconds, 0)
    with open(path, "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    waited = f" for {wait_seconds:.0f} s" if wait_seconds > 0 else ""
                    raise WarehouseBusy(
                        f"another pipeline run, backup or restore is using {folder}{waited}; "
                        "try again when it ends"
                    ) from exc
                time.sleep(_POLL_SECONDS)
        depths[path] = 1
        try:
            yield
        finally:
            depths.pop(path, None)
            fcntl.flock(handle, fcntl.LOCK_UN)
