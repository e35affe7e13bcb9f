"""Pings and frag-needed in pasted text (issue 20 items 5 and 6): a DF ping sweep, a ping
answered by frag-needed / Packet Too Big, and a router that names no MTU, as pcaps and as
the text tcpdump and tshark print for them (tests/fixtures/text/ping-*, made by
scripts/make_text_captures.py with the real tools). Text gives the pcap's verdict, and
says what it could not show: an IPv4 ping's DF flag (only -v and -V print it), and the
MTU a packet-list row leaves out. Through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.text import parse_text
from pathprobe.capture.textforms import tcpdump_line
from pathprobe.capture.textpacket import Echo, TextPacket
from pathprobe.capture.textrows import packet_list_row
from tests.conftest import cli_env

TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "text"
SHOWS_DF = ("pcap", "tcpdump-v.txt", "tcpdump-ev.txt", "tshark-V.txt.gz")
FORMS = ("pcap", "tcpdump-n.txt", "tcpdump-v.txt", "tcpdump-ev.txt", "tshark.txt", "list.txt",
         "tshark-V.txt.gz")
# what tcpdump -n and -v show of the MTU and the quote, and a packet-list row does not
ROW_FORMS = ("tshark.txt", "list.txt")


def analyze(path: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          capture_output=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def only_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    (v,) = doc["verdicts"]
    return v    # type: ignore[no-any-return]


def bounds(v: dict[str, Any]) -> tuple[Any, Any, Any]:
    return v.get("mtu"), v.get("pmtu_low"), v.get("pmtu_high")


def cases(story: str, six: bool = False) -> list[str]:
    return [f for f in FORMS if not (six and f == "list.txt")]


@pytest.mark.parametrize("form", cases("ping-sweep"))
def test_a_ping_sweep_is_the_same_black_hole_in_every_form(form: str) -> None:
    """DF pings up to 1400 bytes answered, 1450 and 1500 not, then 1000 again answered:
    every form said HEALTHY (pings were 'other protocols'); the pcap said PMTU_BLACKHOLE
    between 1400 and 1449. Where the text hides DF, the same bounds, inferred."""
    status, doc = analyze(TEXT / f"ping-sweep.{form}")
    v = only_verdict(doc)
    assert status == 1 and v["code"] == "PMTU_BLACKHOLE", v
    assert (v["pmtu_low"], v["pmtu_high"]) == (1400, 1449)
    shown = form in SHOWS_DF
    assert v["confidence"] == ("measured" if shown else "inferred")
    told = [e for e in v["evidence"] if "show no DF flag" in e]
    assert bool(told) != shown, v["evidence"]
    unit = "frame" if form == "pcap" else "line"
    lost = next(e for e in v["evidence"] if "never answered" in e)
    pings = "DF ping(s)" if shown else "ping(s) (DF not shown, taken as set)"
    assert lost.startswith(f"{unit} ") and f"3 {pings} to 198.18.4.2 never answered, " \
        "from 1450 bytes" in lost, lost
    if not shown:
        assert any("IPv4 ping line(s) do not show whether DF was set" in n
                   for n in doc["notes"]), doc["notes"]


@pytest.mark.parametrize("form", cases("ping-toobig"))
def test_frag_needed_answering_a_ping(form: str) -> None:
    """A 1500-byte DF ping answered by frag-needed (MTU 1400), then 1400 bytes answered:
    the pcap says MTU 1400, exact. tcpdump -v and tshark -V quote the ping (the quote was
    read only when it held TCP: 'inferred, size unknown'); tcpdump -n shows no quote, and
    the ping before it is taken as its packet, but not whether the 1400-byte ping carried
    DF: at most 1400. A row shows no MTU at all: below the ping's 1500 bytes, inferred."""
    status, doc = analyze(TEXT / f"ping-toobig.{form}")
    v = only_verdict(doc)
    assert v["code"] == "PMTU_REDUCED" and v["router"] == "198.18.1.1", v
    words = " ".join(v["evidence"])
    if form in SHOWS_DF:
        assert (status, v["confidence"], bounds(v)) == (0, "measured", (1400, None, None))
        assert "quotes the ICMP packet 198.18.1.2 > 198.18.4.2" in words, words
    elif form == "tcpdump-n.txt":
        assert (status, v["confidence"], bounds(v)) == (0, "measured", (None, None, 1400))
        assert "taken to answer the last packet 198.18.1.2 > 198.18.4.2 sent before it " \
            "(1500 bytes)" in words and "pings answered up to 1400 bytes show no DF" in words
    else:
        assert (status, v["confidence"], bounds(v)) == (1, "inferred", (None, None, 1499))
        assert "the row shows neither the MTU it names nor that packet" in words, words


@pytest.mark.parametrize("form", cases("ping-toobig6", six=True))
def test_packet_too_big_answering_a_ping6(form: str) -> None:
    """The same over IPv6: tcpdump -v puts the IPv6 header on the packet's line ('IP6 (hlim
    64, ... payload length: 1460) a > b: [icmp6 sum ok] ICMP6, ...'), which was 'not a
    capture' (exit 2). An IPv6 ping is never fragmented on the way: its size proves the
    MTU in every form that shows it."""
    status, doc = analyze(TEXT / f"ping-toobig6.{form}")
    v = only_verdict(doc)
    assert v["code"] == "PMTU_REDUCED" and v["router"] == "2001:db8:1::1", v
    if form in ROW_FORMS:
        assert (status, v["confidence"], bounds(v)) == (1, "inferred", (None, 1400, 1499))
    else:
        assert (status, v["confidence"], bounds(v)) == (0, "measured", (1400, None, None))
    assert not any("show no DF flag" in e for e in v["evidence"])
    if form.startswith("tcpdump"):    # (it never prints an ICMPv6 error's quote, even -vvv)
        assert any("'tshark -V' shows the quote; tcpdump does not print an ICMPv6 error's"
                   in e for e in v["evidence"]), v["evidence"]


@pytest.mark.parametrize("form", cases("ping-nomtu"))
def test_frag_needed_that_names_no_mtu(form: str) -> None:
    """A router before RFC 1191 sends frag-needed with MTU 0 (tcpdump: 'need to frag', no
    '(mtu N)'). It was ignored, and the sweep's lost 1500-byte ping read 'no ICMP
    frag-needed said why': a black hole. It did say why: the path MTU is below the packet
    it quotes (1500), and the 1400-byte ping answered is the lower bound."""
    status, doc = analyze(TEXT / f"ping-nomtu.{form}")
    v = only_verdict(doc)
    assert v["code"] == "PMTU_REDUCED", v
    words = " ".join(v["evidence"])
    if form in SHOWS_DF:
        assert (status, v["confidence"], bounds(v)) == (0, "measured", (None, 1400, 1499))
        assert "says a 1500-byte packet from 198.18.1.2 did not fit its next hop, and names " \
            "no MTU" in words, words
    else:
        # the bound is the size of a packet the text does not quote: an assumption
        assert (status, v["confidence"], bounds(v)) == (1, "inferred", (None, None, 1499))


def test_ping_lines_as_each_tool_prints_them() -> None:
    p = tcpdump_line("11:30:12.517129 IP 198.18.1.2 > 198.18.4.2: ICMP echo request, id 9, "
                     "seq 1, length 1480", 3)
    assert isinstance(p, TextPacket)
    assert (p.echo, p.ip_len, p.df, p.family) == (Echo(True, 9, 1), 1500, None, 4)
    p = tcpdump_line("11:30:12.5 IP6 2001:db8::2 > 2001:db8::1: ICMP6, echo reply, seq 7, "
                     "length 1240", 3)   # (older tcpdump: no id)
    assert isinstance(p, TextPacket)
    assert (p.echo, p.ip_len, p.df, p.family) == (Echo(False, 0, 7), 1280, True, 6)
    head = ("11:30:12.517129 IP (tos 0x0, ttl 64, id 100, offset 0, flags [+], proto ICMP (1), "
            "length 1500)")
    text = parse_text([head, "    198.18.1.2 > 198.18.4.2: ICMP echo request, id 9, seq 1, "
                       "length 1480"])
    (q,) = text.packets
    assert (q.ip_len, q.df) == (1500, False)    # a fragment: no test of the path's MTU
    row = packet_list_row("5 1.0 198.18.1.2 → 198.18.4.2 ICMP 1414 Echo (ping) request  "
                          "id=0x0009, seq=2/512, ttl=64", 5)
    assert row is not None and row[0] is not None
    assert (row[0].echo, row[0].frame_len, row[0].df) == (Echo(True, 9, 2), 1414, None)
    # a ping without a size tests nothing: another protocol, as before
    assert not isinstance(tcpdump_line("11:30:12.5 IP 198.18.1.2 > 198.18.4.2: ICMP echo "
                                       "request, id 9, seq 1", 1), TextPacket)


@pytest.mark.parametrize("name", ["ping-toobig.tcpdump-v.txt", "ping-toobig.list.txt",
                                  "ping-toobig6.tcpdump-v.txt", "ping-nomtu.tcpdump-n.txt",
                                  "ping-toobig.tshark-V.txt.gz"])
def test_any_number_of_a_ping_text_may_be_absurd(tmp_path: Path, name: str) -> None:
    """Every run of digits of the ping texts, in turn, 5000 digits long, 0, or just above
    what its field holds: the analysis reads each text to the end (a report, or a one-line
    capture error), never an internal error."""
    import contextlib
    import gzip
    import re

    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.errors import CaptureError

    raw = (TEXT / name).read_bytes()
    lines = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode().splitlines()
    lines = [ln for ln in lines if not re.match(r"^\d{4}  ", ln)][:120]   # (no hex rows)
    path = tmp_path / "mutated.txt"
    tried = 0
    for i, line in enumerate(lines):
        for run in re.finditer(r"\d+", line):
            for digits in ("9" * 5000, "0", "65536", "4294967296"):
                path.write_text("\n".join([*lines[:i], line[:run.start()] + digits +
                                           line[run.end():], *lines[i + 1:]]) + "\n")
                with contextlib.suppress(CaptureError):
                    analyze_capture(path, Filters())
                tried += 1
    assert tried > 40


def test_frag_needed_rows_with_and_without_the_mtu() -> None:
    """Wireshark's row shows no MTU ('Destination unreachable (Fragmentation needed)', icmp_mtu
    0: not shown), or, in some versions and profiles, '[MTU of next hop: 1446]' (a public
    write-up's screenshot): then the MTU is the router's word, as in tcpdump's line."""
    for info, mtu in (("Destination unreachable (Fragmentation needed)", 0),
                      ("Destination unreachable (Fragmentation needed) [MTU of next hop: 1446]",
                       1446),
                      ("Packet Too Big", 0)):
        proto = "ICMPv6" if "Too Big" in info else "ICMP"
        row = packet_list_row(f"2 0.001 198.18.1.1 → 198.18.1.2 {proto} 70 {info}", 2)
        assert row is not None and row[0] is not None, info
        assert row[0].icmp_mtu == mtu and row[0].echo is None


def test_pings_whose_df_is_unshown_weaken_only_verdicts_on_their_own_destination(
        tmp_path: Path) -> None:
    """One paste, two sweeps: IPv4 pings to one host without their DF flag (tcpdump -n), and
    IPv6 pings to another answered by Packet Too Big. The IPv4 pings' unknown DF made the
    IPv6 MTU 'at most 1400' too; an IPv6 ping is never fragmented on the way: exact."""
    path = tmp_path / "both.txt"
    path.write_text((TEXT / "ping-sweep.tcpdump-n.txt").read_text()
                    + (TEXT / "ping-toobig6.tcpdump-n.txt").read_text())
    _status, doc = analyze(path)
    by = {v["code"]: v for v in doc["verdicts"]}
    assert (by["PMTU_REDUCED"].get("mtu"), by["PMTU_REDUCED"]["confidence"]) == (1400,
                                                                                   "measured")
    assert by["PMTU_BLACKHOLE"]["confidence"] == "inferred"
