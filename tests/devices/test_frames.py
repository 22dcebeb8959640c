"""Frame parsers: every frame variant, resynchronisation, checksums, card number mappings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.frames import CardRead, make_parser
from devices.simulator import rdm6300_frame, track2_frame

# Version byte 0x01, tag 0x00415CDF: the card printed 0004283615.
TAG = 0x0100415CDF
STANDARD = b"\x020100415CDF" + b"%02X" % (0x01 ^ 0x00 ^ 0x41 ^ 0x5C ^ 0xDF) + b"\x03"
OTHER = rdm6300_frame(0x2A00BC614E)  # card 0012345678


def feed_all(parser, chunks):
    reads = []
    for chunk in chunks:
        reads += parser.feed(chunk)
    return reads + parser.idle()


def test_rdm6300_standard_frame_reads_the_printed_card_number():
    parser = make_parser("rdm6300")
    assert STANDARD == rdm6300_frame(TAG)
    assert parser.feed(STANDARD) == [CardRead("0004283615", "0100415CDF")]
    assert parser.counts.frames == 1 and parser.counts.garbage_bytes == 0


@pytest.mark.parametrize(
    ("mapping", "card_no"),
    [
        ("em4100_decimal10", "0004283615"),
        ("hex10", "0100415CDF"),
        ("wiegand26", "06523775"),  # facility 0x41 = 65, card 0x5CDF = 23775
        ("as_read", "0100415CDF"),
    ],
)
def test_rdm6300_card_number_mappings(mapping, card_no):
    assert make_parser("rdm6300", mapping).feed(STANDARD)[0].card_no == card_no


@pytest.mark.parametrize("variant", ["standard", "crlf", "raw", "raw_crlf"])
def test_rdm6300_tolerates_crlf_and_a_raw_checksum_byte(variant):
    frame = rdm6300_frame(TAG, variant=variant)
    parser = make_parser("rdm6300")
    assert parser.feed(frame + frame) == [CardRead("0004283615", "0100415CDF")] * 2
    assert parser.counts.invalid_frames == 0 and parser.counts.garbage_bytes == 0


def test_rdm6300_reads_lower_case_hex_and_keeps_all_40_bits():
    frame = rdm6300_frame(0xFF00415CDF).lower()
    parser = make_parser("rdm6300", "hex10")
    assert parser.feed(frame) == [CardRead("FF00415CDF", "FF00415CDF")]


@pytest.mark.parametrize("variant", ["standard", "crlf", "raw", "raw_crlf"])
def test_rdm6300_bad_checksum_is_counted_and_rejected(variant):
    parser = make_parser("rdm6300")
    bad = rdm6300_frame(TAG, variant=variant, bad_checksum=True)
    reads = parser.feed(bad + OTHER)
    assert reads == [CardRead("0012345678", "2A00BC614E")]
    assert parser.counts.bad_checksums == 1
    assert parser.counts.frames == 1


def test_rdm6300_garbage_between_frames_is_skipped_and_counted():
    parser = make_parser("rdm6300")
    reads = parser.feed(b"\xff\x00zz" + STANDARD + b"\x03\x03\x99" + OTHER + b"\x7f")
    assert [r.card_no for r in reads] == ["0004283615", "0012345678"]
    assert parser.counts.garbage_bytes == 8


@pytest.mark.parametrize("cut", range(1, len(STANDARD) - 1))
def test_rdm6300_partial_frame_is_dropped_and_the_next_frame_read(cut):
    parser = make_parser("rdm6300")
    reads = parser.feed(STANDARD[:cut] + OTHER)
    assert reads == [CardRead("0012345678", "2A00BC614E")]
    assert parser.counts.invalid_frames == 1
    assert parser.counts.garbage_bytes == cut


def test_rdm6300_start_bytes_in_noise_resynchronise():
    parser = make_parser("rdm6300")
    noise = b"\x02\x02AB\x02012345678\x02\x03\x02" + b"0100415CDF" + b"ZZ\x03"
    reads = parser.feed(noise + STANDARD + b"\x02\x02" + OTHER)
    assert [r.card_no for r in reads] == ["0004283615", "0012345678"]
    assert parser.counts.invalid_frames >= 6
    assert parser.counts.bad_checksums == 0


@pytest.mark.parametrize("at", range(1, len(STANDARD)))
def test_rdm6300_frame_split_at_every_byte_boundary(at):
    parser = make_parser("rdm6300")
    assert parser.feed(STANDARD[:at]) == []
    assert parser.feed(STANDARD[at:]) == [CardRead("0004283615", "0100415CDF")]


STREAM = (
    b"\x00\x02AB"
    + STANDARD
    + rdm6300_frame(TAG, variant="raw_crlf")
    + rdm6300_frame(TAG, bad_checksum=True)
    + OTHER[:7]
    + rdm6300_frame(TAG, variant="crlf")
    + b"\xfe\x02"
    + OTHER
    + rdm6300_frame(TAG, variant="raw")
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_rdm6300_any_chunking_gives_the_same_reads_and_counts(cuts):
    whole = make_parser("rdm6300")
    expected = whole.feed(STREAM)
    points = [0, *sorted(cuts), len(STREAM)]
    chunked = make_parser("rdm6300")
    reads = feed_all(chunked, [STREAM[a:b] for a, b in zip(points, points[1:], strict=False)])
    assert reads == expected
    assert len(expected) == 5  # see test_rdm6300_stream_counts
    assert chunked.counts == whole.counts


def test_rdm6300_stream_counts():
    parser = make_parser("rdm6300")
    reads = parser.feed(STREAM)
    assert [r.card_no for r in reads] == [
        "0004283615",
        "0004283615",
        "0004283615",
        "0012345678",
        "0004283615",
    ]
    assert parser.counts.bad_checksums == 1
    assert parser.counts.frames == 5


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_rdm6300_random_bytes_never_break_the_parser(noise):
    parser = make_parser("rdm6300")
    parser.feed(noise)
    assert parser.pending_bytes <= 16  # never buffers more than one frame
    # Whatever came before, a clean frame after a quiet line end is read.
    reads = parser.feed(b"\x03" * 16 + STANDARD)
    assert reads[-1] == CardRead("0004283615", "0100415CDF")


@pytest.mark.parametrize(
    ("line", "card_no"),
    [
        (b"4283615\r\n", "0004283615"),
        (b"0004283615\n", "0004283615"),
        (b"65,23775\r", "0004283615"),  # facility,card
        (b"065:23775\r\n", "0004283615"),
        (b"W26:65,23775\r\n", "0004283615"),
        (b"W34 4283615\r\n", "0004283615"),
        (b"0x415CDF\r\n", "0004283615"),
        (b"415cdf\r\n", "0004283615"),  # hex: it has a letter
        (b"  4283615  \r\n", "0004283615"),
    ],
)
def test_wiegand_line_forms(line, card_no):
    parser = make_parser("wiegand")
    assert [r.card_no for r in parser.feed(line)] == [card_no]
    assert parser.counts.frames == 1 and parser.counts.bad_format == 0


def test_wiegand_mappings_and_hex_number_format():
    assert make_parser("wiegand", "wiegand26").feed(b"65,23775\n")[0].card_no == "06523775"
    assert make_parser("wiegand", "as_read").feed(b"065,23775\n")[0].card_no == "4283615"
    hexa = make_parser("wiegand", number_format="hex")
    assert hexa.feed(b"00415CDF\n00123456\n")[1].card_no == f"{0x123456:010d}"


def test_wiegand_bad_lines_are_counted_and_skipped():
    parser = make_parser("wiegand")
    reads = parser.feed(b"hello\r\n65,70000\r\n\xff\xfe\r\n\r\n\n12\r\n")
    assert [r.card_no for r in reads] == ["0000000012"]
    assert parser.counts.bad_format == 3


def test_line_endings_cr_lf_and_crlf_and_overlong_lines():
    parser = make_parser("line")
    reads = parser.feed(b"C0001\rC0002\nC0003\r\n" + b"9" * 100)
    reads += parser.feed(b"99\r\nC0004\r\n")
    assert [r.card_no for r in reads] == ["C0001", "C0002", "C0003", "C0004"]
    assert parser.counts.invalid_frames == 1
    assert parser.counts.garbage_bytes == 102


def test_line_rejects_non_card_text_and_maps_numbers():
    parser = make_parser("line")
    assert parser.feed(b"a b c\r\n!!\r\n0012345678\r\n") == [CardRead("0012345678", "0012345678")]
    assert parser.counts.bad_format == 2
    assert make_parser("line", "hex10").feed(b"4283615\n")[0].card_no == "0000415CDF"
    numeric = make_parser("line", "em4100_decimal10")
    assert numeric.feed(b"C0001\n") == [] and numeric.counts.bad_format == 1


@pytest.mark.parametrize("at", range(1, 20))
def test_line_split_at_every_byte_boundary(at):
    data = b"0012345678\r\n0004283615\r\n"
    parser = make_parser("line")
    reads = parser.feed(data[:at]) + parser.feed(data[at:])
    assert [r.card_no for r in reads] == ["0012345678", "0004283615"]


def test_track2_takes_the_pan_with_and_without_lrc():
    parser = make_parser("track2")
    with_lrc = track2_frame("6221881234567890")
    reads = parser.feed(with_lrc + b";6221880000000001=2512?\r\n;12345678?")
    reads += parser.idle()
    assert [r.card_no for r in reads] == ["6221881234567890", "6221880000000001", "12345678"]
    assert reads[1].raw == ";6221880000000001=2512?"
    assert parser.counts.frames == 3 and parser.counts.garbage_bytes == 0


def test_track2_frame_waits_for_a_possible_lrc_until_the_line_is_quiet():
    parser = make_parser("track2")
    assert parser.feed(b";12345678=2512?") == []
    assert [r.card_no for r in parser.idle()] == ["12345678"]


def test_track2_bad_lrc_is_counted_and_rejected():
    parser = make_parser("track2")
    reads = parser.feed(track2_frame("111", bad_checksum=True) + track2_frame("222"))
    assert [r.card_no for r in reads] == ["222"]
    assert parser.counts.bad_checksums == 1


def test_track2_resynchronises_after_garbage_and_partial_frames():
    parser = make_parser("track2")
    data = b"%B6221^DOE^2512?\r\n" + b";6221" + b";12345678=2512?\r\n" + b";" + b"9" * 50 + b"?"
    reads = parser.feed(data + b";555?\r\n")
    assert [r.card_no for r in reads] == ["12345678", "555"]
    assert parser.counts.invalid_frames == 2
    assert parser.counts.garbage_bytes == 16 + 5 + 52
    bad = make_parser("track2")
    assert bad.feed(b";12AB=1?\r\n") == [] and bad.counts.bad_format == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=80), max_size=12))
def test_track2_any_chunking_gives_the_same_reads(cuts):
    data = b"xx;1" + track2_frame("6221881234567890") + b";42=1?\r\n" + track2_frame("7")
    expected = make_parser("track2").feed(data)
    points = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    parser = make_parser("track2")
    reads = []
    for a, b in zip(points, points[1:], strict=False):
        reads += parser.feed(data[a:b])
    assert [r.card_no for r in reads] == [r.card_no for r in expected]
    assert [r.card_no for r in expected] == ["6221881234567890", "42", "7"]


def test_unknown_protocol_or_mapping_is_refused():
    with pytest.raises(ValueError, match="protocol"):
        make_parser("barcode")
    with pytest.raises(ValueError, match="mapping"):
        make_parser("rdm6300", "decimal8")
