"""A simulated card reader: realistic frames written to a serial port or pseudo-terminal.

What it sends (all at the wire rate: 8N1 is 10 bits a byte, 960 bytes/s at 9600 baud; a
pseudo-terminal ignores the baud rate, so writes are paced on a clock and never run ahead of it):

- *presentations*: a card (one of ``cards``, or with ``unknown_rate`` a random card number no
  member has) held in the field. ``rdm6300`` modules repeat the frame every ``frame_interval``
  (65 ms) for ``hold_frames`` frames; ``wiegand``, ``track2`` and ``line`` devices send one frame
  per presentation. Two presentations in a row are never of the same card, and every
  presentation carries at least ``confirm_reads`` intact frames, so each one is exactly one swipe
  for a reader with the same ``confirm_reads`` (:attr:`SimulatorStats.expected_swipes`).
- *damage on top*: noise bytes between presentations (``noise_rate``; for the line protocols a
  garbage line, since a line has no checksum), frames written in two pieces ``split_pause`` apart (``split_rate``),
  frames with a bad checksum and frames cut short (``bad_checksum_rate``, ``partial_rate``;
  ``rdm6300`` and ``track2``, the protocols that can detect them), and phantom single frames of
  a random card between presentations (``phantom_rate``, ``rdm6300``: a single read is never a
  swipe).

:func:`script` produces the timed writes (deterministic for a ``seed``), :func:`write_paced`
writes them, :func:`run_simulator` does both; :func:`reader_sim_main` is ``clubcrm reader-sim``:
it opens a pseudo-terminal, prints the device path for ``clubcrm reader --port`` and writes until
stopped.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
import tty
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import serial

from devices.frames import PROTOCOLS, check_mapping, map_value

FRAME_INTERVAL = 0.065


def wire_seconds(nbytes: int, baudrate: int = 9600) -> float:
    """Time ``nbytes`` take on an 8N1 line (start + 8 data + stop bits)."""
    return nbytes * 10 / baudrate


@dataclass
class Presentation:
    card_no: str
    start: float
    valid_frames: int
    known: bool


@dataclass
class SimulatorStats:
    """What was sent; ``presentations`` is the ground truth of the swipes."""

    bytes_written: int = 0
    frames: int = 0
    noise_bytes: int = 0
    bad_checksums: int = 0
    partial_frames: int = 0
    split_frames: int = 0
    phantom_frames: int = 0
    presentations: list[Presentation] = field(default_factory=list)

    @property
    def expected_swipes(self) -> list[str]:
        return [p.card_no for p in self.presentations]


# -- encoding ----------------------------------------------------------------------------------
def card_value(protocol: str, card_no: str, mapping: str | None = None) -> int:
    """The number a device sends for ``card_no`` (the inverse of the parser's mapping).

    For ``rdm6300`` the bytes a mapping drops (the version byte, and byte 1 for ``wiegand26``)
    are derived from the card number, so one card always sends the same frame.
    """
    mapping = check_mapping(protocol, mapping)
    filler = zlib.crc32(card_no.encode()) & 0xFFFF
    if mapping == "em4100_decimal10":
        value = int(card_no)
        if value >= 1 << 32:
            raise ValueError(f"card {card_no}: more than 32 bits")
        return ((filler & 0xFF) << 32 | value) if protocol == "rdm6300" else value
    if mapping == "hex10" or (mapping == "as_read" and protocol == "rdm6300"):
        return int(card_no, 16)
    if mapping == "wiegand26":
        facility, number = int(card_no[:3]), int(card_no[3:])
        if facility > 0xFF or number > 0xFFFF:
            raise ValueError(f"card {card_no}: not 3-digit facility + 5-digit card")
        value = facility << 16 | number
        return (filler << 24 | value) if protocol == "rdm6300" else value
    return int(card_no)


def rdm6300_frame(value: int, *, variant: str = "standard", bad_checksum: bool = False) -> bytes:
    """One RDM6300 frame; variants ``standard``, ``crlf``, ``raw`` (binary checksum), ``raw_crlf``."""
    data = f"{value:010X}".encode()
    checksum = 0
    for shift in (32, 24, 16, 8, 0):
        checksum ^= (value >> shift) & 0xFF
    if bad_checksum:
        checksum ^= 0x5A
    tail = bytes([checksum]) if variant.startswith("raw") else f"{checksum:02X}".encode()
    if variant.endswith("crlf"):
        tail += b"\r\n"
    return b"\x02" + data + tail + b"\x03"


def track2_frame(pan: str, *, lrc: bool = True, bad_checksum: bool = False) -> bytes:
    """``;PAN=YYMM SSS discretionary?`` plus an optional LRC character, then CR LF."""
    frame = f";{pan}=2812101{zlib.crc32(pan.encode()) % 100000:05d}?".encode()
    tail = b""
    if lrc:
        value = 0
        for byte in frame:
            value ^= byte & 0x0F
        if bad_checksum:
            value ^= 0x05
        tail = bytes([0x30 + value])
    return frame + tail + b"\r\n"


def wiegand_line(value: int, form: str = "decimal") -> bytes:
    """A converter's line: ``decimal`` (``4283503``), ``facility_card`` (``65,23775``), ``hex``."""
    if form == "decimal":
        text = str(value)
    elif form == "facility_card":
        text = f"{value >> 16},{value & 0xFFFF}"
    elif form == "hex":
        text = f"0x{value:X}"
    else:
        raise ValueError("form must be 'decimal', 'facility_card' or 'hex'")
    return text.encode() + b"\r\n"


def encode_card(
    protocol: str,
    card_no: str,
    mapping: str | None = None,
    *,
    bad_checksum: bool = False,
    variant: str = "standard",
    wiegand_form: str = "decimal",
) -> bytes:
    """The bytes a ``protocol`` device sends for one read of ``card_no``."""
    if protocol == "rdm6300":
        return rdm6300_frame(
            card_value(protocol, card_no, mapping), variant=variant, bad_checksum=bad_checksum
        )
    if protocol == "wiegand":
        return wiegand_line(card_value(protocol, card_no, mapping), wiegand_form)
    if protocol == "track2":
        return track2_frame(card_no, bad_checksum=bad_checksum)
    return card_no.encode() + b"\r\n"


def random_card(protocol: str, mapping: str | None, rng: random.Random) -> str:
    mapping = check_mapping(protocol, mapping)
    if mapping == "hex10" or (mapping == "as_read" and protocol == "rdm6300"):
        return f"{rng.randrange(1 << 40):010X}"
    if mapping == "wiegand26":
        return f"{rng.randrange(256):03d}{rng.randrange(65536):05d}"
    return map_value(rng.randrange(1 << 32), "em4100_decimal10")


# -- the script --------------------------------------------------------------------------------
def script(
    protocol: str,
    cards: Sequence[str],
    *,
    seconds: float | None,
    seed: int | None = None,
    mapping: str | None = None,
    baudrate: int = 9600,
    hold_frames: tuple[int, int] = (5, 20),
    frame_interval: float = FRAME_INTERVAL,
    gap: tuple[float, float] = (0.5, 3.0),
    split_pause: tuple[float, float] = (0.001, 0.02),
    confirm_reads: int | None = None,
    unknown_rate: float = 0.05,
    noise_rate: float = 0.2,
    split_rate: float = 0.1,
    bad_checksum_rate: float = 0.03,
    partial_rate: float = 0.03,
    phantom_rate: float = 0.05,
    rdm6300_variants: Sequence[str] = ("standard",),
    wiegand_form: str = "decimal",
    stats: SimulatorStats | None = None,
) -> Iterator[tuple[float, bytes]]:
    """Timed writes ``(seconds from start, bytes)``, endless when ``seconds`` is None.

    Presentations are recorded in ``stats`` as they are generated; one starting before
    ``seconds`` is always finished.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} is not one of {PROTOCOLS}")
    if not cards and unknown_rate <= 0:
        raise ValueError("give cards or a positive unknown_rate")
    rng = random.Random(seed)
    stats = stats if stats is not None else SimulatorStats()
    repeats = protocol == "rdm6300"
    confirm = (2 if repeats else 1) if confirm_reads is None else confirm_reads
    detects = protocol in ("rdm6300", "track2")
    low, high = hold_frames if repeats else (1, 1)
    low = max(low, confirm)
    high = max(high, low)
    wire = 10 / baudrate
    t = 0.0
    previous: str | None = None
    while seconds is None or t < seconds:
        t += rng.uniform(*gap)
        # Between presentations: noise and phantom frames.
        if rng.random() < noise_rate:
            noise = _noise(protocol, rng)
            stats.noise_bytes += len(noise)
            yield t, noise
            t += len(noise) * wire
        if repeats and rng.random() < phantom_rate:
            phantom = encode_card(protocol, random_card(protocol, mapping, rng), mapping)
            stats.phantom_frames += 1
            stats.frames += 1
            yield t, phantom
            t += len(phantom) * wire + rng.uniform(0.05, 0.2) + frame_interval
        card = None
        if cards and rng.random() >= unknown_rate:
            for _ in range(10):  # never the same card twice in a row (it would be one swipe)
                choice = rng.choice(cards)
                if choice != previous:
                    card = choice
                    break
        known = card is not None
        while card is None or card == previous:
            card = random_card(protocol, mapping, rng)
        previous = card
        frames = rng.randint(low, high)
        stats.presentations.append(Presentation(card, t, frames, known))
        variant = rng.choice(list(rdm6300_variants))
        good = encode_card(protocol, card, mapping, variant=variant, wiegand_form=wiegand_form)
        for index in range(frames):
            start = t
            if detects and rng.random() < bad_checksum_rate:  # an extra, rejected frame
                bad = encode_card(protocol, card, mapping, bad_checksum=True, variant=variant)
                stats.bad_checksums += 1
                yield t, bad
                t += len(bad) * wire
            if detects and rng.random() < partial_rate:  # a frame cut short
                whole = good.index(b"?") if protocol == "track2" else len(good) - 2
                cut = good[: rng.randint(1, whole)]
                stats.partial_frames += 1
                yield t, cut
                t += len(cut) * wire
            if rng.random() < split_rate:
                at = rng.randint(1, len(good) - 1)
                stats.split_frames += 1
                yield t, good[:at]
                t += at * wire + rng.uniform(*split_pause)
                yield t, good[at:]
                t += (len(good) - at) * wire
            else:
                yield t, good
                t += len(good) * wire
            stats.frames += 1
            if index < frames - 1:
                t = max(t, start + frame_interval)


def _noise(protocol: str, rng: random.Random) -> bytes:
    if protocol == "rdm6300":
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:  # a start byte and the beginning of a frame in the noise
            noise += b"\x02" + b"0123456789ABCDEF"[: rng.randint(0, 12)]
        return noise
    if protocol == "track2":
        return bytes(rng.choice(b"%^ABZ019 \x00\xff") for _ in range(rng.randint(1, 12)))
    # A line protocol has no checksum: noise is a garbage line the parser rejects as a format.
    return bytes(rng.choice(b"!#*?%\x00\xff") for _ in range(rng.randint(1, 10))) + b"\r\n"


# -- writing -----------------------------------------------------------------------------------
def write_paced(
    out: Any,
    events: Iterator[tuple[float, bytes]],
    *,
    stop_event: threading.Event | None = None,
    stats: SimulatorStats | None = None,
    clock: Any = time.monotonic,
) -> int:
    """Write each ``(t, bytes)`` no earlier than ``t`` seconds after the start; returns bytes.

    ``out`` is a file descriptor (a pty master) or an object with ``write`` (a pyserial port).
    When the writer falls behind (a slow consumer filling the pty) it writes the backlog at once.
    """
    start = clock()
    total = 0
    for at, data in events:
        delay = start + at - clock()
        if delay > 0:
            if stop_event is not None:
                if stop_event.wait(delay):
                    break
            else:
                time.sleep(delay)
        elif stop_event is not None and stop_event.is_set():
            break
        if isinstance(out, int):
            view = memoryview(data)
            while view:
                written = os.write(out, view)
                view = view[written:]
        else:
            out.write(data)
        total += len(data)
        if stats is not None:
            stats.bytes_written = total
    return total


def run_simulator(
    port_or_fd: Any,
    protocol: str,
    cards: Sequence[str],
    *,
    seconds: float | None,
    seed: int | None = None,
    stop_event: threading.Event | None = None,
    baudrate: int = 9600,
    stats: SimulatorStats | None = None,
    **options: Any,
) -> SimulatorStats:
    """Write a simulated reader's frames to ``port_or_fd`` for ``seconds`` (None: until stopped).

    ``port_or_fd``: a file descriptor (pty master), an object with ``write``, or a pyserial
    URL/device path (opened here at ``baudrate``). ``options`` go to :func:`script`.
    Returns what was sent, with the presentations (the expected swipes).
    """
    stats = stats if stats is not None else SimulatorStats()
    events = script(
        protocol, cards, seconds=seconds, seed=seed, baudrate=baudrate, stats=stats, **options
    )
    owned = None
    out = port_or_fd
    if isinstance(port_or_fd, str | Path):
        owned = out = serial.serial_for_url(str(port_or_fd), baudrate=baudrate)
    try:
        write_paced(out, events, stop_event=stop_event, stats=stats)
    finally:
        if owned is not None:
            owned.close()
    return stats


def open_pty(link: Path | str | None = None) -> tuple[int, int, str]:
    """A pseudo-terminal pair in raw mode: ``(master_fd, slave_fd, slave_path)``.

    The caller keeps ``slave_fd`` open so that the pty survives a reader closing and reopening
    it (bytes written meanwhile wait in the pty). With ``link``, a symlink to the slave is
    (re)created there: a stable port name, like ``/dev/serial/by-id``.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    if link is not None:
        link = Path(link)
        tmp = link.with_name(link.name + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path)
        os.replace(tmp, link)
    return master, slave, path


DEMO_CARDS = tuple(f"{n:010d}" for n in (4283503, 4283615, 12345678, 87654321, 3141592, 2718281))


def reader_sim_main(
    protocol: str = "rdm6300",
    cards: Sequence[str] | None = None,
    *,
    seconds: float | None = None,
    seed: int | None = None,
    link: Path | str | None = None,
    out: TextIO | None = None,
    stop_event: threading.Event | None = None,
    **options: Any,
) -> int:
    """``clubcrm reader-sim``: open a pty, print its device path, write frames until stopped.

    Stops on SIGTERM/SIGINT (when run in the main thread), ``stop_event`` or after ``seconds``.
    ``cards`` default to :data:`DEMO_CARDS` (pass the members' chip numbers to see known
    swipes). The first line printed is the device path, for ``clubcrm reader --port``.
    """
    out = out or sys.stdout
    stop_event = stop_event or threading.Event()
    master, slave, path = open_pty(link)
    print(path, file=out, flush=True)
    if link is not None:
        print(f"linked as {link}", file=out, flush=True)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop_event.set())
    try:
        stats = run_simulator(
            master,
            protocol,
            list(cards) if cards else list(DEMO_CARDS),
            seconds=seconds,
            seed=seed,
            stop_event=stop_event,
            **options,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(master)
        os.close(slave)
        if link is not None:
            Path(link).unlink(missing_ok=True)
    print(
        f"{len(stats.presentations)} presentations, {stats.frames} frames, "
        f"{stats.bytes_written} bytes",
        file=out,
        flush=True,
    )
    return 0
