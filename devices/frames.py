"""Incremental frame parsers for serial card readers, one per protocol.

Every parser is fed bytes in whatever chunks the serial port delivers (:meth:`FrameParser.feed`)
and returns the card reads completed by those bytes, in order. A read is a :class:`CardRead`: the
card number as configured (``mapping``, below), which is what is matched against a card's
``chip_uid`` or printed ``card_no`` downstream, and ``raw``, what the reader sent.

Rules shared by all parsers:

- **Resynchronisation.** Bytes outside a frame are garbage (counted in ``garbage_bytes``). A start
  that does not lead to a well-formed frame (a partial frame cut by the next one, a wrong
  character, a frame too long) is dropped *one start byte at a time* and the rest is scanned
  again (counted in ``invalid_frames``), so a good frame right behind a broken one is never lost.
- **Checksums.** A well-formed frame whose checksum does not match is rejected whole and counted
  in ``bad_checksums``; it never yields a read.
- A well-formed frame whose content is not a card number (a Wiegand line ``hello``) is counted
  in ``bad_format``.
- Parsers never block and never raise on input; :meth:`FrameParser.idle` is called by the reader
  loop when the line has been quiet for one read timeout (only ``track2`` needs it: see below).

Protocols:

``rdm6300``
    RDM6300 / EM4100 125 kHz modules, 9600 8N1: STX ``0x02``, 10 ASCII hex characters (version
    byte + 4 ID bytes; all 40 bits are kept), 2 ASCII hex characters of XOR checksum over the 5
    data bytes, ETX ``0x03``. Tolerated variants: CR LF before ETX; a raw (binary) checksum byte
    instead of the 2 hex characters (``STX data cs ETX`` and ``STX data cs CR LF ETX``). Hex is
    read in either case; ``raw`` is the 10 data characters in upper case (what the demo spool
    holds).
``wiegand``
    Wiegand-26 / Wiegand-34 to serial converters, one card per line (CR, LF or CR LF), an optional
    ``W26``/``W34``/``WG26``… prefix (followed by ``:``, ``,``, ``=`` or spaces) and then one of:
    ``4283503`` / ``0004283503`` (decimal: the whole number), ``123,45678`` or ``123:45678``
    (facility, card: value ``facility << 16 | card``; each below 65536), ``0x413CDF`` or
    hexadecimal with a letter ``41A5DF`` (hex; digits-only text is read as decimal unless the
    parser is built with ``number_format="hex"``). ``raw`` is the line as sent.
``track2``
    Magnetic stripe track 2: ``;`` PAN ``=`` expiry, service code, discretionary data ``?``, at
    most 40 characters with the sentinels; ``;12345678?`` without a separator is accepted. The
    card number is the PAN (1–19 digits). An optional LRC character may follow ``?``; when it
    does it must match (XOR of the low 4 bits of every character from ``;`` to ``?``, sent as
    ``0x30 + value``) or the frame is a bad checksum. Since an LRC may or may not follow, a frame
    that ends the input is emitted when the next byte arrives or on :meth:`~FrameParser.idle`.
    ``raw`` is the frame from ``;`` to ``?``.
``line``
    One card number per line (CR, LF or CR LF): letters, digits and ``-``, at most 20 characters
    (the width of ``cards.chip_uid``), surrounding spaces ignored. ``raw`` is the line.

Card number mappings (``mapping``; see :data:`DEFAULT_MAPPING` for each protocol's default):

``em4100_decimal10``
    the number printed on EM4100 cards: the last 4 bytes as 10-digit zero-padded decimal
    (``0x01_00_41_5C_DF`` → ``0004283615``);
``hex10``
    all 40 bits as 10 upper-case hex characters;
``wiegand26``
    the 8-digit facility+card form: 3-digit facility (byte 2 of 5: ``value >> 16 & 0xFF``) and
    5-digit card (bytes 3–4: ``value & 0xFFFF``), without separator (``0x01_00_41_5C_DF`` →
    ``06523775``);
``as_read``
    the number exactly as the reader sent it (hex for rdm6300, the PAN for track2, the line for
    ``line``, the digits for wiegand).

The numeric mappings need a number: for ``line`` and ``track2`` the text must then be decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROTOCOLS = ("rdm6300", "wiegand", "track2", "line")
MAPPINGS = ("em4100_decimal10", "hex10", "wiegand26", "as_read")
DEFAULT_MAPPING = {
    "rdm6300": "em4100_decimal10",
    "wiegand": "em4100_decimal10",
    "track2": "as_read",
    "line": "as_read",
}

STX = 0x02
ETX = 0x03
CR = 0x0D
LF = 0x0A

_HEX_RUN = re.compile(rb"[0-9A-Fa-f]*")
_HEX_BYTES = frozenset(b"0123456789ABCDEFabcdef")
_EOL = re.compile(rb"[\r\n]")
_WIEGAND_PREFIX = re.compile(r"^(?:WG?(?:26|34))\s*[:,=]?\s*", re.IGNORECASE)
_DECIMAL = re.compile(r"^[0-9]{1,13}$")
_FACILITY_CARD = re.compile(r"^([0-9]{1,5})\s*[,:]\s*([0-9]{1,5})$")
_HEX_0X = re.compile(r"^0[xX]([0-9A-Fa-f]{1,10})$")
_HEX_WITH_LETTER = re.compile(r"^(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{1,10}$")
_HEX_ONLY = re.compile(r"^[0-9A-Fa-f]{1,10}$")
_LINE_CARD = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_TRACK2_BODY = re.compile(r"^([0-9]{1,19})(?:=[0-9:<=>]*)?$")

MAX_VALUE = (1 << 40) - 1


@dataclass(frozen=True, slots=True)
class CardRead:
    """One card read off the wire: the mapped card number and what the reader sent."""

    card_no: str
    raw: str


@dataclass(slots=True)
class ParserCounts:
    """What a parser has seen so far (monotonic counters)."""

    frames: int = 0
    bad_checksums: int = 0
    garbage_bytes: int = 0
    invalid_frames: int = 0
    bad_format: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "frames": self.frames,
            "bad_checksums": self.bad_checksums,
            "garbage_bytes": self.garbage_bytes,
            "invalid_frames": self.invalid_frames,
            "bad_format": self.bad_format,
        }


def map_value(value: int, mapping: str) -> str:
    """The card number of a numeric ``value`` under a numeric ``mapping``."""
    if mapping == "em4100_decimal10":
        return f"{value & 0xFFFFFFFF:010d}"
    if mapping == "hex10":
        return f"{value & MAX_VALUE:010X}"
    if mapping == "wiegand26":
        return f"{(value >> 16) & 0xFF:03d}{value & 0xFFFF:05d}"
    raise ValueError(f"mapping {mapping!r} is not one of {MAPPINGS}")


def check_mapping(protocol: str, mapping: str | None) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r} is not one of {PROTOCOLS}")
    mapping = DEFAULT_MAPPING[protocol] if mapping is None else mapping
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping {mapping!r} is not one of {MAPPINGS}")
    return mapping


class FrameParser:
    """Base class: ``feed(bytes) -> list[CardRead]``, ``idle()``, ``reset()``, ``counts``."""

    protocol = ""

    def __init__(self, mapping: str | None = None) -> None:
        self.mapping = check_mapping(self.protocol, mapping)
        self.counts = ParserCounts()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[CardRead]:
        raise NotImplementedError

    def idle(self) -> list[CardRead]:
        """The line has been quiet: emit a frame that was only waiting for an optional tail."""
        return []

    def reset(self) -> None:
        """Forget a partial frame (the port was reopened); its bytes count as garbage."""
        self.counts.garbage_bytes += len(self._buf)
        self._buf.clear()

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def _map_text(self, text: str) -> str | None:
        """Map a decimal (or, for ``as_read``, any) card text; None when it is not a number."""
        if self.mapping == "as_read":
            return text
        if not text.isdigit() or not text.isascii():
            return None
        value = int(text)
        if value > MAX_VALUE:
            return None
        return map_value(value, self.mapping)


class Rdm6300Parser(FrameParser):
    """RDM6300 / EM4100 frames (see the module docstring for the accepted variants)."""

    protocol = "rdm6300"

    def feed(self, data: bytes) -> list[CardRead]:
        buf = self._buf
        buf += data
        counts = self.counts
        reads: list[CardRead] = []
        while buf:
            start = buf.find(STX)
            if start < 0:
                counts.garbage_bytes += len(buf)
                buf.clear()
                break
            if start:
                counts.garbage_bytes += start
                del buf[:start]
            status, end, checksum = _rdm_frame(buf)
            if status == _NEED_MORE:
                break
            if status == _INVALID:
                counts.invalid_frames += 1
                counts.garbage_bytes += 1
                del buf[:1]
                continue
            data_hex = bytes(buf[1:11])
            del buf[:end]
            value = int(data_hex, 16)
            xor = 0
            for shift in (32, 24, 16, 8, 0):
                xor ^= (value >> shift) & 0xFF
            if xor != checksum:
                counts.bad_checksums += 1
                continue
            counts.frames += 1
            raw = data_hex.decode("ascii").upper()
            card_no = raw if self.mapping == "as_read" else map_value(value, self.mapping)
            reads.append(CardRead(card_no, raw))
        return reads


_NEED_MORE, _INVALID, _OK = 0, 1, 2


def _rdm_frame(buf: bytearray) -> tuple[int, int, int]:
    """Look at the frame starting at ``buf[0] == STX``: (status, length, checksum value)."""
    n = len(buf)
    hex_end = _HEX_RUN.match(buf, 1, min(n, 11)).end()
    if hex_end < min(n, 11):
        return _INVALID, 0, 0
    if n < 13:
        return _NEED_MORE, 0, 0
    b11, b12 = buf[11], buf[12]
    if b12 == ETX:  # STX data cs ETX (raw checksum byte)
        return _OK, 13, b11
    if b11 in _HEX_BYTES and b12 in _HEX_BYTES:  # two hex checksum characters
        if n < 14:
            return _NEED_MORE, 0, 0
        checksum = int(bytes(buf[11:13]), 16)
        if buf[13] == ETX:
            return _OK, 14, checksum
        if buf[13] != CR:
            return _INVALID, 0, 0
        if n < 16:
            return (_NEED_MORE if n == 14 or buf[14] == LF else _INVALID), 0, 0
        if buf[14] == LF and buf[15] == ETX:
            return _OK, 16, checksum
        return _INVALID, 0, 0
    if b12 == CR:  # STX data cs CR LF ETX (raw checksum byte)
        if n < 15:
            return (_NEED_MORE if n == 13 or buf[13] == LF else _INVALID), 0, 0
        if buf[13] == LF and buf[14] == ETX:
            return _OK, 15, b11
        return _INVALID, 0, 0
    return _INVALID, 0, 0


class LineParser(FrameParser):
    """One frame per line (CR, LF or CR LF); subclasses turn a line into a card number."""

    protocol = "line"
    max_line = 64

    def __init__(self, mapping: str | None = None) -> None:
        super().__init__(mapping)
        self._discarding = False  # inside a line that grew too long: skip to its end

    def feed(self, data: bytes) -> list[CardRead]:
        buf = self._buf
        buf += data
        reads: list[CardRead] = []
        counts = self.counts
        pos = 0
        while True:
            match = _EOL.search(buf, pos)
            if match is None:
                break
            line = bytes(buf[pos : match.start()])
            pos = match.end()
            if self._discarding:
                counts.garbage_bytes += len(line)
                self._discarding = False
                continue
            if not line.strip():
                continue
            read = self._line(line)
            if read is not None:
                reads.append(read)
        if pos:
            del buf[:pos]
        if len(buf) > self.max_line:
            counts.invalid_frames += 1
            counts.garbage_bytes += len(buf)
            buf.clear()
            self._discarding = True
        return reads

    def _line(self, line: bytes) -> CardRead | None:
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            text = None
        card_no = self._card(text) if text else None
        if card_no is None:
            self.counts.bad_format += 1
            return None
        self.counts.frames += 1
        return CardRead(card_no, text)

    def _card(self, text: str) -> str | None:
        if not _LINE_CARD.match(text):
            return None
        return self._map_text(text)


class WiegandParser(LineParser):
    """Wiegand-26/34 converters sending ASCII lines (forms in the module docstring)."""

    protocol = "wiegand"

    def __init__(self, mapping: str | None = None, number_format: str = "auto") -> None:
        if number_format not in ("auto", "decimal", "hex"):
            raise ValueError("number_format must be 'auto', 'decimal' or 'hex'")
        super().__init__(mapping)
        self.number_format = number_format

    def _card(self, text: str) -> str | None:
        text = _WIEGAND_PREFIX.sub("", text, count=1)
        value = self._value(text)
        if value is None or value > MAX_VALUE:
            return None
        if self.mapping == "as_read":
            return str(value)
        return map_value(value, self.mapping)

    def _value(self, text: str) -> int | None:
        pair = _FACILITY_CARD.match(text)
        if pair:
            facility, card = int(pair.group(1)), int(pair.group(2))
            if facility > 0xFFFF or card > 0xFFFF:
                return None
            return facility << 16 | card
        prefixed = _HEX_0X.match(text)
        if prefixed:
            return int(prefixed.group(1), 16)
        if self.number_format == "hex":
            return int(text, 16) if _HEX_ONLY.match(text) else None
        if _DECIMAL.match(text):
            return int(text)
        if self.number_format == "auto" and _HEX_WITH_LETTER.match(text):
            return int(text, 16)
        return None


class Track2Parser(FrameParser):
    """Magnetic stripe track 2 frames ``;…?`` with an optional LRC character."""

    protocol = "track2"
    max_frame = 40  # sentinels included (ISO 7813)

    def feed(self, data: bytes) -> list[CardRead]:
        self._buf += data
        return self._scan(final=False)

    def idle(self) -> list[CardRead]:
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> list[CardRead]:
        buf = self._buf
        counts = self.counts
        reads: list[CardRead] = []
        while buf:
            start = buf.find(b";")
            if start < 0:
                counts.garbage_bytes += _not_eol(buf, 0, len(buf))
                buf.clear()
                break
            if start:
                counts.garbage_bytes += _not_eol(buf, 0, start)
                del buf[:start]
            end = buf.find(b"?", 1, self.max_frame)
            restart = buf.find(b";", 1, end if end > 0 else self.max_frame)
            if restart > 0 or (end < 0 and len(buf) >= self.max_frame):
                counts.invalid_frames += 1
                counts.garbage_bytes += 1
                del buf[:1]
                continue
            if end < 0:
                break
            if len(buf) == end + 1:
                if not final:
                    break
                lrc = None
            else:
                lrc = buf[end + 1]
                if lrc in (CR, LF) or lrc == ord(";"):
                    lrc = None
            frame = bytes(buf[: end + 1])
            del buf[: end + 1 if lrc is None else end + 2]
            if lrc is not None and lrc != _track2_lrc(frame):
                counts.bad_checksums += 1
                continue
            read = self._frame(frame)
            if read is not None:
                reads.append(read)
        return reads

    def _frame(self, frame: bytes) -> CardRead | None:
        try:
            text = frame.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        match = _TRACK2_BODY.match(text[1:-1])
        card_no = self._map_text(match.group(1)) if match else None
        if card_no is None:
            self.counts.bad_format += 1
            return None
        self.counts.frames += 1
        return CardRead(card_no, text)


def _not_eol(buf: bytearray, start: int, end: int) -> int:
    """Bytes in ``buf[start:end]`` that are not line ends (line ends between frames are normal)."""
    chunk = buf[start:end]
    return len(chunk) - chunk.count(b"\r") - chunk.count(b"\n")


def _track2_lrc(frame: bytes) -> int:
    """The LRC character of a track 2 frame (``;`` … ``?``) as sent by ASCII readers."""
    value = 0
    for byte in frame:
        value ^= byte & 0x0F
    return 0x30 + value


_PARSERS: dict[str, type[FrameParser]] = {
    "rdm6300": Rdm6300Parser,
    "wiegand": WiegandParser,
    "track2": Track2Parser,
    "line": LineParser,
}


def make_parser(protocol: str, mapping: str | None = None, **options: object) -> FrameParser:
    """A fresh parser for ``protocol`` (one of :data:`PROTOCOLS`) with the card mapping."""
    check_mapping(protocol, mapping)
    return _PARSERS[protocol](mapping, **options)  # type: ignore[arg-type]
