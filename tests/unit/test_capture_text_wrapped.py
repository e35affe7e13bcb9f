"""Capture text as mail and terminals break it (issue 20, item 6: the text people paste):
a tcpdump or ASA/FTD packet line broken over several lines is read whole again
(capture.textjoin).

On 112b9c3 the pieces were read as they came: what followed a break was lost. The lab's
reset story printed by tcpdump and broken by coreutils' fold at 76 columns read as
HEALTHY, its ICMP frag-needed story lost its MTU, the clamp story its MSS. Here the real
tcpdump prints the lab's captures, the real fold breaks them (at a column, and at spaces),
and a mailer's wrap drops the space at each break; each must give the report of the text
as printed."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pathprobe.capture.text import parse_text
from pathprobe.capture.textdecode import decode_text
from pathprobe.capture.textjoin import unwrapped
from pathprobe.capture.textrows import ROW
from tests.unit.test_capture_content_unseen import CAPTURES, _report
from tests.unit.test_capture_text_hex import classic_text

TEXTS = Path(__file__).resolve().parents[1] / "fixtures" / "text"
STORIES = ("rst", "mtu", "clamp", "blackhole-leg1")


def _tcpdump(story: str, flags: str) -> str:
    return subprocess.run(["tcpdump", flags, "-r", str(CAPTURES / f"{story}.pcap")],
                          capture_output=True, text=True, check=True, timeout=60).stdout


def _fold(text: str, *flags: str) -> str:
    return subprocess.run(["fold", *flags], input=text, capture_output=True, text=True,
                          check=True, timeout=60).stdout


def _mailer(text: str, width: int = 72) -> str:
    """A mail client's wrap: at spaces, the space at each break dropped."""
    return "\n".join(part for line in text.splitlines()
                     for part in (textwrap.wrap(line, width, break_long_words=False,
                                                break_on_hyphens=False) or [""])) + "\n"


WRAPS: dict[str, Callable[[str], str]] = {
    "fold -w 76": lambda t: _fold(t, "-w", "76"),
    "fold -s -w 72": lambda t: _fold(t, "-s", "-w", "72"),
    "mailer 72": _mailer,
}


def _told(doc: dict[str, Any]) -> list[Any]:
    return [[(v["code"], v["leg"], v["direction"], v["severity"], v.get("pmtu_low"),
              v.get("pmtu_high"), v.get("mtu")) for v in doc["verdicts"]],
            [(leg["mss_sent"], leg["mss_received"], leg["max_seg_up"], leg["max_seg_down"],
              leg["ended"], leg["status"], leg["tls"]) for leg in doc["legs"]]]


@pytest.mark.parametrize("story", STORIES)
def test_broken_lines_read_as_the_text_printed(tmp_path: Path, story: str) -> None:
    texts = {flags: _tcpdump(story, flags) for flags in ("-n", "-nv", "-ne", "-nx")}
    texts.update({form: classic_text(story, form) for form in ("asa", "asa-detail")})
    for form, text in texts.items():
        printed = tmp_path / f"{story}{form}.txt"
        printed.write_text(text)
        want = _told(_report(printed))
        for name, wrap in WRAPS.items():
            broken = tmp_path / f"{story}{form}-{name.replace(' ', '')}.txt"
            broken.write_text(wrap(text))
            assert _told(_report(broken)) == want, (form, name)


def test_a_fold_inside_the_last_number_is_joined() -> None:
    """fold breaks "length 1448" as "length 14" / "48": the first piece looks whole; that
    every broken line is as wide as the others, and none wider, tells a fold."""
    lines = [
        "12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [.], seq 1:1449, ack 1, "
        "win 63, length 1448",
        "12:00:00.000002 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [.], seq 1449:2897, ack "
        "1, win 63, length 1448"]
    width = len(lines[0]) - 2
    broken = [part for line in lines for part in (line[:width], line[width:])]
    joined, starts = unwrapped(broken)
    assert [x for x in joined if x] == lines and starts == {2: 1, 4: 3}
    assert [(p.line, p.length) for p in parse_text(broken).packets] == [(1, 1448), (3, 1448)]


def test_a_mailers_dropped_space_is_put_back() -> None:
    lines = ["12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags",
             "[S], seq 7, win 64240, options [mss 1460,sackOK,TS val",
             "1 ecr 0,nop,wscale 7], length 0",
             "12:00:00.000002 IP 198.18.2.2.3128 > 198.18.1.2.40000: Flags",
             "[S.], seq 9, ack 8, win 64240, options [mss 1300,sackOK,TS val",
             "2 ecr 1,nop,wscale 7], length 0"]
    packets = parse_text(lines).packets
    assert [(p.line, p.mss, p.tsopt, p.seq) for p in packets] == [(1, 1460, True, 7),
                                                                 (4, 1300, True, 9)]


# packet lines that start their own: nothing to join
_LINES_ALONE = [
    # tcpdump -A: the payload below a whole line is no piece of it
    ["12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [P.], seq 1:40, ack 1, "
     "win 63, length 39", "E..[..@.@.........", "CONNECT up.example:443 HTTP/1.1"],
    # -v: the packet's own line, indented, below the IP header's
    ["12:00:00.000001 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), "
     "length 60)", "    198.18.1.2.40000 > 198.18.2.2.3128: Flags [S], seq 7, win 64240, "
     "length 0"],
    # -x: a hex dump below the line; ASA/FTD 'show capture NAME dump'
    ["12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [S], seq 7, win 6",
     "\t0x0000:  4500 003c 0001 4000 4006 0000 c612 0102"],
    ["   1: 12:00:00.000001 198.18.1.2.40000 > 198.18.2.2.3128: S 7:7(0) win",
     "0x0000\t 4500 003c 0001 4000 4006 0000 c612 0102\t..."],
    # a line cut short, then the next packet's: nothing to join
    ["12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [S], seq 7, win 6",
     "12:00:00.000002 IP 198.18.2.2.3128 > 198.18.1.2.40000: Flags [R.], seq 0, ack 8, "
     "win 0, length 0"],
]


def _wrap(lines: list[str], width: int, how: str) -> list[str]:
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        elif how == "fold":
            out += [line[i:i + width] for i in range(0, len(line), width)]
        else:
            out += textwrap.wrap(line, width, drop_whitespace=how == "mailer",
                                 break_long_words=False, break_on_hyphens=False)
    return out


def _read(lines: list[str]) -> list[tuple[Any, ...]]:
    return [(p.src, p.sport, p.dst, p.dport, p.flags, p.seq, p.ack, p.length, p.mss,
             p.icmp_mtu, p.ts) for p in parse_text(lines).packets]


_FORMS = sorted(p for p in TEXTS.glob("*.txt") if p.name.endswith((
    "tcpdump-n.txt", "tcpdump-S.txt", "tcpdump-v.txt", "tcpdump-ev.txt", ".asa.txt",
    "asa-detail.txt", "classic.txt")))


@settings(max_examples=400, deadline=None)
@given(text=st.sampled_from(_FORMS), width=st.integers(72, 140),
       how=st.sampled_from(["fold", "mailer keeping spaces", "mailer"]))
def test_any_break_reads_as_the_text_printed(text: Path, width: int, how: str) -> None:
    """The fixtures' tcpdump and ASA forms, broken at any column from 72 on, by a fold or
    a mailer (keeping or dropping the spaces), read as printed: the same packets, sizes,
    options, MTUs and times. (A fold is told by two or more lines broken alike.)"""
    lines = text.read_text().splitlines()
    assume(sum(len(line) > width for line in lines) >= 2)
    assert _read(_wrap(lines, width, how)) == _read(lines)


_PIECES = st.sampled_from([
    "12:00:00.000001 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags", "[S], seq 7, win 6",
    "4240, length 0", "   1: 12:00:00.000001 198.18.1.2.40000 > 198.18.2.2.3128: S", "<mss",
    "1460>", "    (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length",
    "\t0x0000:  4500", "", " ", "length 9" + "9" * 5000, "(((", "]]]<<<", "E..<",
    "    1   0.000000   198.18.1.2 \u2192 198.18.2.2   TCP 66 48716 \u2192 80 [SYN, A",
    "CK] Seq=0 Win=64240 Len=0", "MSS=1460 SACK_PERM", "No.\tTime\tSource",
    "2\t0.01\t198.18.2.2\t198.18.1.2\tHTTP\t90\tCONNECT a:443"])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(_PIECES, st.text(max_size=120)), max_size=40))
def test_joining_keeps_every_line_in_its_place(lines: list[str]) -> None:
    """Any lines: as many come back; a joined line stands where its last piece stood, with
    only blank lines above it back to its first, and is made of the pieces in order."""
    out, starts = unwrapped(lines)
    assert len(out) == len(lines)
    for last, first in starts.items():
        assert 1 <= first < last <= len(lines) and not any(out[first - 1:last - 1])
        assert "".join(out[last - 1].split()) == "".join("".join(lines[first - 1:last]).split())
    assert all(out[k] == lines[k] for k in range(len(lines))
               if not any(first <= k + 1 <= last for last, first in starts.items()))


def test_a_time_tcpdump_could_not_print_still_starts_a_line() -> None:
    """tcpdump prints "[Error converting time]" for a timestamp it cannot convert
    (Lekensteyn's loopback TLS captures): such a line, broken, is joined too (its SYN-ACK's
    MSS was lost)."""
    line = ("[Error converting time] IP 127.0.0.1.4433 > 127.0.0.1.37174: Flags [S.], seq 1, "
            "ack 2, win 43690, options [mss 65495,sackOK,TS val 6 ecr 6,nop,wscale 7], length 0")
    lines = ["21:39:14.921858 IP 127.0.0.1.37174 > 127.0.0.1.4433: Flags [S], seq 1, win 43690, "
             "options [mss 65495,nop,wscale 7], length 0", line[:80], line[80:]]
    assert [p.mss for p in parse_text(lines).packets] == [65495, 65495]


# --- Wireshark/tshark packet-list rows ------------------------------------------------------

ROW_STORIES = ("healthy", "rst", "silence")
ROW_FORMS = ("tshark", "list", "list-nonum", "csv")


def _fold_bytes(text: bytes, *flags: str) -> bytes:
    """coreutils' fold counts bytes: it may break a row inside an arrow's three."""
    return subprocess.run(["fold", *flags], input=text, capture_output=True, check=True,
                          timeout=60).stdout


ROW_WRAPS: dict[str, Callable[[bytes], bytes]] = {
    "fold -w 76": lambda t: _fold_bytes(t, "-w", "76"),
    "fold -w 80": lambda t: _fold_bytes(t, "-w", "80"),
    "fold -s -w 72": lambda t: _fold_bytes(t, "-s", "-w", "72"),
    "mailer 72": lambda t: _mailer(t.decode()).encode(),
}


@pytest.mark.parametrize("story", ROW_STORIES)
def test_broken_rows_read_as_the_rows_printed(tmp_path: Path, story: str) -> None:
    """tshark's rows and Wireshark's packet list (with and without the No. column), broken
    by the real fold (which counts bytes: an arrow is three) and by a mailer. On c9d9c9f
    every one of these lost what followed a break: the healthy story's clamp (MSS 1300)
    read as HEALTHY, the silence story's black hole as HEALTHY or TUNNEL_STALL."""
    for form in ROW_FORMS:
        printed = TEXTS / f"{story}.{form}.txt"
        want = _told(_report(printed))
        for name, wrap in ROW_WRAPS.items():
            broken = tmp_path / f"{story}.{form}-{name.replace(' ', '')}.txt"
            broken.write_bytes(wrap(printed.read_bytes()))
            assert _told(_report(broken)) == want, (form, name)


@pytest.mark.parametrize("story", ROW_STORIES)
def test_the_packet_list_exported_as_csv_reads_as_tshark_rows(story: str) -> None:
    """Wireshark's File > Export Packet Dissections > As CSV (every field quoted)."""
    want = _told(_report(TEXTS / f"{story}.tshark.txt"))
    assert _told(_report(TEXTS / f"{story}.csv.txt")) == want


_ROW_TEXTS = sorted(TEXTS / f"{story}.{form}.txt" for story in ROW_STORIES for form in ROW_FORMS)


@settings(max_examples=300, deadline=None)
@given(text=st.sampled_from(_ROW_TEXTS), width=st.integers(72, 140),
       how=st.sampled_from(["fold", "mailer keeping spaces", "mailer"]))
def test_any_break_of_rows_reads_as_the_rows_printed(text: Path, width: int, how: str) -> None:
    lines = text.read_text().splitlines()
    assume(sum(len(line) > width for line in lines) >= 2)
    assert _read(_wrap(lines, width, how)) == _read(lines)


_ROWS_ALONE = [
    # a remark below a row narrower than the text's widest, a header below a row: no
    # pieces of it
    ["  5   0.052627   198.18.2.2 \u2192 198.18.1.2   TCP 54 80 \u2192 48716 [ACK] Seq=1 "
     "Ack=123 Win=8222720 Len=0", "this is where it hangs",
     "  6   0.196364   198.18.2.2 \u2192 198.18.1.2   TCP 66 80 \u2192 48716 [SYN, ACK] Seq=0 "
     "Ack=1 Win=64240 Len=0 MSS=1300 SACK_PERM WS=128"],
    ["  5   0.052627   198.18.2.2 \u2192 198.18.1.2   TCP 54 80 \u2192 48716 [ACK] Seq=1 "
     "Ack=123 Win=8222720 Len=0", "No.     Time           Source                Destination"],
    # a remark below the widest row (on fe34215 taken for the rest of its Info)
    ["  5   0.052627   198.18.2.2 \u2192 198.18.1.2   TCP 54 80 \u2192 48716 [ACK] Seq=1 "
     "Ack=123 Win=8222720 Len=0",
     "   15   1.725862   198.18.1.2 \u2192 198.18.2.2   TCP 1494 [TCP Retransmission] 48716 "
     "\u2192 80 [PSH, ACK] Seq=766 Ack=1240 Win=8222720 Len=1440", "this is where it hangs",
     "   16   2.145862   198.18.1.2 \u2192 198.18.2.2   TCP 1494 [TCP Retransmission] 48716 "
     "\u2192 80 [PSH, ACK] Seq=766 Ack=1240 Win=822 Len=1440"],
    # a row cut short, then the next row: nothing to join
    ["1\t0.000000\t198.18.1.2\t198.18.2.2\tTCP\t66\t48716 \u2192 80 [SYN] Seq=0",
     "2\t0.019717\t198.18.2.2\t198.18.1.2\tTCP\t66\t80 \u2192 48716 [SYN, ACK] Seq=0 "
     "Ack=1 Win=64240 Len=0 MSS=1300"],
]


@pytest.mark.parametrize("lines", [*_LINES_ALONE, *_ROWS_ALONE])
def test_lines_that_start_their_own_are_left_alone(lines: list[str]) -> None:
    assert unwrapped(lines) == (lines, {})


def test_a_row_broken_inside_its_flags_by_a_mailer_gets_its_space_back_only_between_words(
        ) -> None:
    rows = ["    2   0.019717   198.18.2.2 \u2192 198.18.1.2   TCP 66 80 \u2192 48716 [SYN, ACK]",
            "Seq=0 Ack=1 Win=64240 Len=0", "MSS=1300 SACK_PERM WS=128",
            "    4   0.019860   198.18.1.2 \u2192 198.18.2.2   HTTP 176 CONNECT "
            "tools.cisco.com:443",
            "HTTP/1.1"]
    out, starts = unwrapped(rows)
    assert out[2].endswith("[SYN, ACK] Seq=0 Ack=1 Win=64240 Len=0 MSS=1300 SACK_PERM WS=128")
    assert out[4].endswith("CONNECT tools.cisco.com:443 HTTP/1.1") and starts == {3: 1, 5: 4}
    (synack,) = [p for p in parse_text(rows).packets if p.flags & 0x02]
    assert (synack.line, synack.mss, synack.sack) == (1, 1300, True)


def test_a_row_broken_before_its_protocol_column_is_joined() -> None:
    """Long IPv6 addresses put the Protocol column past 72-80 columns: a fold or a mailer
    breaks the row there, so its first piece is no row at all (simsong's tcpflow test4, as
    tshark prints it, read as "not a capture" after fold -w 80 or a mailer's wrap at 72)."""
    rows = ["    1   0.000000 2001:db8::53aa:64c:422:2ece:a29c:9cf6 \u2192 2001:db8:1220:809::93e5:"
            "916 TCP 80 51391 \u2192 80 [SYN] Seq=0 Win=4880 Len=0 MSS=1220 SACK_PERM "
            "TSval=7487540 TSecr=0 WS=128",
            "    2   0.081671 2001:db8:1220:809::93e5:916 \u2192 2001:db8::53aa:64c:422:2ece:a29c:"
            "9cf6 TCP 80 80 \u2192 51391 [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1200 WS=16 "
            "SACK_PERM TSval=1963605515 TSecr=7487540"]
    want = [(1, 1220, True, 80), (2, 1200, True, 51391)]
    assert [(p.line, p.mss, p.sack, p.dport) for p in parse_text(rows).packets] == want
    for how in ("fold", "mailer"):
        broken = _wrap(rows, 80 if how == "fold" else 72, how)
        assert not any(ROW.match(line) for line in broken), broken   # (no piece is a row)
        assert [(p.mss, p.sack, p.dport) for p in parse_text(broken).packets] == [
            w[1:] for w in want], how


# --- characters a byte-counting fold cut in two ----------------------------------------------

def _arrow_split_widths(data: bytes) -> list[int]:
    """The widths at which the real fold cuts one of the text's arrows in two."""
    widths = []
    for width in range(60, 141):
        try:
            _fold_bytes(data, "-w", str(width)).decode()
        except UnicodeDecodeError:
            widths.append(width)
    return widths


def test_rows_whose_arrow_a_fold_cut_in_two_read_as_the_rows_printed(tmp_path: Path) -> None:
    """fold counts bytes, so at some widths it breaks tshark's rows inside an arrow; the
    file is then no valid UTF-8. Read as Latin-1, every arrow in it was lost and the text
    refused as "not a capture" (the silence story at 84 columns on fe34215; 30 of 425
    public captures' rows at 80)."""
    printed = TEXTS / "silence.tshark.txt"
    widths = _arrow_split_widths(printed.read_bytes())
    assert 84 in widths
    want = _told(_report(printed))
    broken = tmp_path / "silence.tshark-fold84.txt"
    broken.write_bytes(_fold_bytes(printed.read_bytes(), "-w", "84"))
    assert _told(_report(broken)) == want


@pytest.mark.parametrize("text", _ROW_TEXTS, ids=lambda p: p.name)
def test_rows_read_alike_at_every_width_that_cuts_an_arrow(text: Path) -> None:
    data = text.read_bytes()
    want = _read(decode_text(data))
    widths = _arrow_split_widths(data)
    assert widths
    for width in widths:
        assert _read(decode_text(_fold_bytes(data, "-w", str(width)))) == want, width


@pytest.mark.parametrize(("data", "want"), [
    # an arrow cut after its first or second byte, at a line break: kept, and mended where
    # the pieces are joined
    (b"a \xe2\n\x86\x92 b\n", ["a \udce2", "\udc86\udc92 b"]),
    (b"a \xe2\x86\r\n\x92 b", ["a \udce2\udc86", "\udc92 b"]),
    # Latin-1 (or any 8-bit code page): its bytes stand inside the lines
    (b"caf\xe9 au lait\n\xe2\x86\x92\n", ["caf\xe9 au lait", "\xe2\x86\x92"]),
    (b"end \xe9\nna\xefve\n", ["end \xe9", "na\xefve"]),
    # four bad bytes in a row are no character cut in two
    (b"x \xe2\x86\x92 \xfc\xfd\xfe\xff\nrest", ["x \xe2\x86\x92 \xfc\xfd\xfe\xff", "rest"]),
])
def test_text_with_bytes_that_are_no_utf8(data: bytes, want: list[str]) -> None:
    assert decode_text(data) == want


def test_joined_rows_get_their_arrows_back_and_a_lone_piece_becomes_a_replacement() -> None:
    printed = (TEXTS / "silence.tshark.txt").read_bytes()
    lines = decode_text(_fold_bytes(printed, "-w", "84"))
    assert any("\udce2" in line for line in lines)
    out, _ = unwrapped([*lines, "", "a remark cut short \udce2"])
    assert [line for line in out if line] == [*printed.decode().splitlines(),
                                              "a remark cut short \ufffd"]


_CSV_ROW = ('"1","0.000000","199.204.31.89","172.16.133.41","TCP","112","80 \u2192 52875 '
            '[RST, ACK] Seq=1 Ack=1 Win=5785 Len=58"')


@pytest.mark.parametrize("pieces", [
    # one row alone, broken by fold inside its flags (the tcpdump project's tcp_rst_data
    # at 80 columns: alike both ways, on ca0061c "[RST, A CK]" was taken for its flags)
    [_CSV_ROW[:79], _CSV_ROW[79:]],
    # by a mailer, which dropped the space at the break
    [_CSV_ROW[:_CSV_ROW.index(" Win=")], _CSV_ROW[_CSV_ROW.index(" Win=") + 1:]],
    # between two fields, and inside the address after them
    [_CSV_ROW[:17], _CSV_ROW[17:40], _CSV_ROW[40:]],
    # before a comma: the row above looks closed (tcpdump's bigtcp-ipv6-hbh at 64 columns)
    [_CSV_ROW[:_CSV_ROW.index(',"TCP"')], _CSV_ROW[_CSV_ROW.index(',"TCP"'):]],
])
def test_a_csv_row_broken_over_lines_is_joined(pieces: list[str]) -> None:
    header = '"No.","Time","Source","Destination","Protocol","Length","Info"'
    out, starts = unwrapped([header, *pieces])
    assert out == [header, *[""] * (len(pieces) - 1), _CSV_ROW]
    assert starts == {len(pieces) + 1: 2}
    (rst,) = parse_text([header, *pieces]).packets
    assert (rst.line, rst.flags, rst.sport, rst.dport) == (2, 0x14, 80, 52875)


def test_a_csv_row_cut_short_does_not_take_in_the_next_row() -> None:
    rows = ['"1","0.000000","198.18.1.2","198.18.2.2","TCP","66","48716 \u2192 80 [SYN] Seq=0',
            '"2","0.019717","198.18.2.2","198.18.1.2","TCP","66","80 \u2192 48716 [SYN, ACK] '
            'Seq=0 Ack=1 Win=64240 Len=0 MSS=1300"']
    assert unwrapped(rows) == (rows, {})


@pytest.mark.parametrize(("lines", "want"), [
    # an IP packet cut short ('truncated-ip'), broken by a mailer before and after '>'
    # (the tcpdump project's kday4, at 72 columns)
    (["23:52:05.672232 IP truncated-ip - 768 bytes missing! 198.18.51.132.50079",
      "> 198.18.54.80.22: Flags [.], seq 0:768, ack 1, win 4094, options",
      "[nop,nop,TS val 941371775 ecr 4294967242], length 768 [|ssh]"], (768, 0x10, None)),
    (["03:20:48.999999 IP truncated-ip - 12 bytes missing! 198.18.128.20.323 >",
      "198.18.6.127.49600: Flags [P.], seq 2684354563:2684354585, win 28672,",
      "length 22, RPKI-RTR"], (22, 0x18, None)),
    # behind MPLS labels, broken by a fold inside the destination (lspping-fec-ldp at 80)
    (["10:17:05.850284 MPLS (label 100656, tc 6, [S], ttl 64) IP 198.18.4.4.4100 > 198.18.8",
      ".8.179: Flags [P.], seq 1860641958:1860641977, ack 2969468967, win 16384, length 19"
      ": BGP"], (19, 0x18, None)),
    # options tcpdump could not read end the line ('[bad opt]', no length: scps_invalid)
    (["19:37:40.000000 IP 198.18.202.230.52750 > 198.18.102.83.63764: Flags",
      "[S], seq 3757264999, win 8192, options [mss 1452,nop,wscale",
      "2,nop,nop,scps[bad opt]]"], (None, 0x02, 1452)),
])
def test_tcpdump_lines_with_what_comes_before_their_addresses_are_joined(
        lines: list[str], want: tuple[int | None, int, int | None]) -> None:
    """Lines that tcpdump starts with MPLS labels or 'IP truncated-ip - N bytes missing!',
    or ends at options it cannot read, were not taken for packet lines: their pieces were
    read apart (cc9a0ee), and the packet lost its flags, length or MSS."""
    out, starts = unwrapped(lines)
    assert out[:-1] == [""] * (len(lines) - 1) and starts == {len(lines): 1}
    (p,) = parse_text(lines).packets
    assert (p.line, p.length, p.flags, p.mss) == (1, *want)


def test_a_line_whose_decoder_follows_its_length_without_a_space_is_whole() -> None:
    """tcpdump prints some decoders right after the length ('length 32LDP, ...': the
    tcpdump project's ldp-common-session); broken by a mailer, the line was never taken
    for whole (53b1931), so its pieces were read apart and the segment was lost."""
    lines = ["12:23:59.828062 IP 198.18.0.2.58320 > 198.18.0.1.646: Flags [P.], seq",
             "96201:96233, ack 83737, win 2990, length 32LDP, Label-Space-ID:",
             "198.18.0.2:0, pdu-length: 28"]
    out, starts = unwrapped(lines)
    assert out[0] == "" and out[1].endswith("win 2990, length 32LDP, Label-Space-ID:")
    assert starts == {2: 1}     # (the decoder's rest holds nothing of TCP)
    (p,) = parse_text(lines).packets
    assert (p.line, p.seq, p.length) == (1, 96201, 32)
