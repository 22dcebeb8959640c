"""Benchmark the card readers: parser throughput as a multiple of the 9600-baud wire rate, and how
many readers at full wire rate one process keeps up with.

1. *Parsers.* A damaged stream per protocol (``devices.simulator.script``: noise, split frames,
   bad checksums, partial frames; held cards for rdm6300) is fed in 48-byte chunks (what a 50 ms
   read timeout collects at 960 bytes/s), through the parser alone and through parser +
   debounce. The figure is bytes per second of CPU divided by 960.
2. *Readers.* N pseudo-terminals, each saturated at 9600 baud 8N1 by a paced writer in a separate
   process (RDM6300 frames back to back: about 23 swipes a second per line, far above a real
   door), read by N :class:`devices.reader.Reader` threads in this process, each spooling with an
   fsync per swipe onto the benchmark's temporary directory. A run keeps up when every writer
   held the wire rate (a reader falling behind fills its pty and slows its writer) and every
   swipe is spooled within 1 s of the end. CPU is this process's (all reader and spool threads).

Not collected by pytest; run it as

    .venv/bin/python tests/bench/bench_readers.py [--seconds 10] [--readers 1,8,32,64,128]

and copy the Markdown it prints into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from devices.frames import PROTOCOLS, make_parser  # noqa: E402
from devices.reader import DEFAULT_CONFIRM_READS, Debouncer, Reader  # noqa: E402
from devices.simulator import SimulatorStats, open_pty, script  # noqa: E402

WIRE = 960  # bytes per second at 9600 baud 8N1
CARDS = [f"{n:010d}" for n in range(4283600, 4283700)]
CHUNK = 48


def _stream(protocol: str, nbytes: int) -> bytes:
    options = dict(noise_rate=0.3, split_rate=0.2, bad_checksum_rate=0.05, partial_rate=0.05)
    if protocol == "rdm6300":
        options.update(hold_frames=(3, 12), frame_interval=0.0, gap=(0.0, 0.0))
    else:
        options.update(gap=(0.0, 0.0))
    out = bytearray()
    for _, data in script(protocol, CARDS, seconds=None, seed=1, **options):
        out += data
        if len(out) >= nbytes:
            return bytes(out)
    return bytes(out)


def parser_throughput(nbytes: int = 2_000_000) -> list[tuple[str, float, float, int]]:
    rows = []
    for protocol in PROTOCOLS:
        data = _stream(protocol, nbytes)
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
        parser = make_parser(protocol)
        started = time.process_time()
        reads = 0
        for chunk in chunks:
            reads += len(parser.feed(chunk))
        parse_only = len(data) / (time.process_time() - started)
        parser = make_parser(protocol)
        debouncer = Debouncer(DEFAULT_CONFIRM_READS[protocol], 1.0)
        started = time.process_time()
        now = 0.0
        for chunk in chunks:
            now += CHUNK / WIRE
            for read in parser.feed(chunk):
                debouncer.read(read.card_no, now)
        with_debounce = len(data) / (time.process_time() - started)
        rows.append((protocol, parse_only / WIRE, with_debounce / WIRE, reads))
    return rows


WRITER = """
import heapq, os, sys, time
sys.path.insert(0, sys.argv[1])
from devices.simulator import script
fds = [int(x) for x in sys.argv[2].split(",")]
seconds, start_at = float(sys.argv[3]), float(sys.argv[4])
cards = [f"{n:010d}" for n in range(4283600, 4283700)]
def tagged(i):
    events = script("rdm6300", cards, seconds=seconds, seed=i, hold_frames=(2, 4),
        frame_interval=0.0, gap=(0.0, 0.0), noise_rate=0.05, split_rate=0.1,
        split_pause=(0.0005, 0.002), bad_checksum_rate=0.02, partial_rate=0.02, phantom_rate=0.0)
    for t, data in events:
        yield t, i, data
streams = [tagged(i) for i in range(len(fds))]
time.sleep(max(0.0, start_at - time.time()))
origin = time.monotonic()
sent = [0] * len(fds)
for t, i, data in heapq.merge(*streams):
    delay = origin + t - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    view = memoryview(data)
    while view:
        view = view[os.write(fds[i], view):]
    sent[i] += len(data)
elapsed = time.monotonic() - origin
print(min(sent) / elapsed, sum(sent) / elapsed, elapsed)
"""


def readers_run(count: int, seconds: float) -> dict[str, float]:
    ptys = [open_pty() for _ in range(count)]
    expected = []
    for i in range(count):
        stats = SimulatorStats()
        for _ in script(
            "rdm6300",
            CARDS,
            seconds=seconds,
            seed=i,
            hold_frames=(2, 4),
            frame_interval=0.0,
            gap=(0.0, 0.0),
            noise_rate=0.05,
            split_rate=0.1,
            split_pause=(0.0005, 0.002),
            bad_checksum_rate=0.02,
            partial_rate=0.02,
            phantom_rate=0.0,
            stats=stats,
        ):
            pass
        expected.append(len(stats.presentations))
    masters = [m for m, _, _ in ptys]
    with tempfile.TemporaryDirectory(prefix="bench-readers-", dir=".") as spool:
        stop = threading.Event()
        readers = [
            Reader(path, "rdm6300", f"r{i:03d}", spool, stop_event=stop, status_interval=1.0)
            for i, (_, _, path) in enumerate(ptys)
        ]
        threads = [threading.Thread(target=r.run, daemon=True) for r in readers]
        for thread in threads:
            thread.start()
        start_at = time.time() + 0.5
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(Path(__file__).resolve().parents[2]),
                ",".join(map(str, masters)),
                str(seconds),
                str(start_at),
            ],
            pass_fds=masters,
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(max(0.0, start_at - time.time()))
        cpu0, wall0 = time.process_time(), time.monotonic()
        out, _ = writer.communicate()
        cpu1, wall1 = time.process_time(), time.monotonic()
        min_rate, total_rate, _ = (float(x) for x in out.split())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(r.stats.swipes >= e for r, e in zip(readers, expected, strict=True)):
                break
            time.sleep(0.02)
        drain = time.monotonic() - wall1
        swipes = sum(r.stats.swipes for r in readers)
        stop.set()
        for thread in threads:
            thread.join()
    for master, slave, _ in ptys:
        os.close(master)
        os.close(slave)
    lost = sum(expected) - swipes
    return {
        "readers": count,
        "min_line_rate": min_rate / WIRE,
        "bytes_per_s": total_rate,
        "swipes": swipes,
        "expected": sum(expected),
        "lost": lost,
        "drain": drain,
        "cpu": (cpu1 - cpu0) / (wall1 - wall0),
        "keeps_up": lost == 0 and drain < 1.0 and min_rate >= 0.97 * WIRE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--readers", default="1,8,32,64,128")
    parser.add_argument("--parser-bytes", type=int, default=2_000_000)
    args = parser.parse_args()

    print(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")
    print(f"### Frame parsers ({CHUNK}-byte chunks, damaged streams)\n")
    print("| protocol | parser × wire rate | parser + debounce × wire rate | reads |")
    print("|---|---:|---:|---:|")
    for protocol, parse, debounce, reads in parser_throughput(args.parser_bytes):
        print(f"| {protocol} | {parse:,.0f}× | {debounce:,.0f}× | {reads:,} |")
    print(f"\n### Readers at full 9600-baud wire rate in one process ({args.seconds:.0f} s runs)\n")
    print(
        "| readers | slowest line (× wire rate) | swipes spooled / sent | drain after end (s) "
        "| CPU (share of one core) | keeps up |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    for count in (int(x) for x in args.readers.split(",")):
        r = readers_run(count, args.seconds)
        print(
            f"| {r['readers']} | {r['min_line_rate']:.3f} | {r['swipes']:,} / {r['expected']:,} "
            f"| {r['drain']:.2f} | {r['cpu']:.0%} | {'yes' if r['keeps_up'] else 'no'} |",
            flush=True,
        )
        if not r["keeps_up"]:
            break


if __name__ == "__main__":
    main()
