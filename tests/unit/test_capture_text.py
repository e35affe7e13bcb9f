"""`analyze` on pasted capture text (issue 20 item 6): line vectors for the parser, the
real CLI on the article's three stories in every form the real tools print (and in the
article's own paste style), and a property test that garbage text only ever gives the
typed one-line errors."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprobe.capture import Filters, analyze_capture
from pathprobe.capture.text import parse_text
from pathprobe.capture.textdecode import looks_like_text
from pathprobe.capture.textdetail import detail_block
from pathprobe.capture.textforms import NonTcp, http_head, tcpdump_line
from pathprobe.capture.textframes import _resolve, _Side
from pathprobe.capture.textlabel import Relabel
from pathprobe.capture.textpacket import CLIENT_HELLO, TextForm, TextPacket, parse_time
from pathprobe.capture.textrows import packet_list_row
from pathprobe.errors import CaptureError, UsageError
from pathprobe.wire.headers import TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN
from tests.conftest import cli_env

TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "text"
ARTICLE = TEXT / "article"
SEEDS = Path("/work/shared/seeds")
STORIES = ("healthy", "rst", "silence")
FORMS = ("tcpdump-n", "tcpdump-v", "tcpdump-ev", "tcpdump-A", "tcpdump-S", "tcpdump-names",
         "tcpdump-X", "tcpdump-xx", "tshark", "tshark-V", "list", "list-nonum")
# tcpdump prints no TLS names, but its hex dumps hold the hellos' bytes
SHOWS_TLS = ("tshark", "tshark-V", "list", "list-nonum", "tcpdump-X", "tcpdump-xx")


# --- line vectors ------------------------------------------------------------------------

def td(line: str) -> TextPacket:
    p = tcpdump_line(line, 7)
    assert isinstance(p, TextPacket), line
    return p


def test_tcpdump_lines() -> None:
    p = td("10:20:58.987700 IP proxy.80 > fmc.54321: Flags [S.], seq 0, ack 1, win 65160, "
           "options [mss 1300,sackOK,TS val 1 ecr 2,nop,wscale 7], length 0")
    assert (p.src, p.sport, p.dst, p.dport, p.flags) == ("proxy", 80, "fmc", 54321,
                                                         TCP_SYN | TCP_ACK)
    assert (p.seq, p.ack, p.length, p.mss, p.wscale, p.sack, p.tsopt) == (0, 1, 0, 1300, 7,
                                                                           True, True)
    assert p.ts == 10 * 3600 + 20 * 60 + 58.9877 and p.family == 4 and p.line == 7
    p = td("10:21:00.456000 IP fmc.example.com.54321 > proxy.example.com.http: Flags [P.], "
           "seq 1:1441, ack 1, win 502, length 1440")
    assert (p.src, p.sport, p.dport, p.seq, p.length) == ("fmc.example.com", 54321, 80, 1, 1440)
    p = td("10:21:00.456123 IP proxy.80 > fmc.54321: Flags [R], seq X, win 0, length 0")
    assert p.flags == TCP_RST and p.seq is None and p.length == 0
    p = td("10:20:59.123456 IP client.54321 > proxy.80: Flags [P.], length 517 (Client Hello)")
    assert p.content == CLIENT_HELLO and p.seq is None and p.ack is None
    p = td("11:30:12.536989 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [P.], seq 1:123, ack 1, "
           "win 64240, length 122: HTTP: CONNECT tools.cisco.com:443 HTTP/1.1")
    assert p.content.startswith(b"CONNECT tools.cisco.com:443 HTTP/1.1\r\n")
    p = td("12:00:00.000001 IP6 2001:db8::1.443 > 2001:db8::2.50000: Flags [F.], seq 5, ack 9, "
           "win 1, length 0")
    assert (p.family, p.src, p.flags) == (6, "2001:db8::1", TCP_FIN | TCP_ACK)
    p = td("12:00:00.000001 eth0  Out IP 198.18.1.2.1 > 198.18.2.2.2: Flags [.], ack 1, "
           "win 1, length 0")
    assert p.src == "198.18.1.2" and p.flags == TCP_ACK
    p = td("12:00:00.000001 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv6 (0x86dd), "
           "length 86: 2001:db8::1.1 > 2001:db8::2.2: Flags [S], seq 9, win 1, length 0")
    assert p.family == 6 and p.seq == 9
    # -e lines of other IP protocols are IP packets, as without -e (tcpdump's PIM capture)
    assert tcpdump_line("07:49:01.133910 00:00:3b:46:96:75 > c0:c1:ff:a0:00:04, ethertype IPv6 "
                        "(0x86dd), length 70: 2001:db8::1 > 2001:db8::2: PIMv2, Register, "
                        "length 30", 1) is NonTcp.IP
    assert tcpdump_line("10:57:11.825552 6c:f0:49:b2:de:6e > ff:ff:ff:ff:ff:ff, ethertype ARP "
                        "(0x0806), length 42: Request who-has 198.18.0.138 tell 198.18.0.1, "
                        "length 28", 1) is NonTcp.NOT_IP
    # -e of 'tcpdump -i any' (Linux cooked v2): interface, direction, ifindex, address
    p = td("09:21:11.661568 ifb0  Out ifindex 2 06:f9:c5:0e:ad:e1 ethertype IPv4 (0x0800), "
           "length 80: 198.18.1.2.54776 > 198.18.2.2.3128: Flags [S], seq 943563791, win "
           "64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 10], length 0")
    assert p.src == "198.18.1.2" and p.dport == 3128 and p.mss == 1460 and p.ts is not None
    assert tcpdump_line("12:00:00.1 IP 198.18.1.2.53 > 198.18.2.2.53: 1+ A? x. (17)", 1) \
        is NonTcp.IP
    assert tcpdump_line("12:00:00.1 ARP, Request who-has 198.18.0.1 tell 198.18.1.2, "
                        "length 28", 1) is NonTcp.NOT_IP
    assert tcpdump_line("we saw 1.2 > 3.4: nothing", 1) is None
    # -v: the addresses on the line after the IP header line
    p2 = tcpdump_line("    198.18.1.2.48716 > 198.18.2.2.80: Flags [S], cksum 0x1 (correct), "
                      "seq 5, win 1, length 0", 2, ("11:30:12.5", "IP"))
    assert isinstance(p2, TextPacket) and p2.ts == 11 * 3600 + 30 * 60 + 12.5 and p2.seq == 5


@pytest.mark.parametrize(("line", "family"), [
    ("09:21:27.911973 IP 198.18.100.1 > 198.18.100.2: GREv0, length 194: IP 198.18.1.2.38240 > "
     "198.18.2.2.3128: Flags [P.], seq 1:139, ack 1, win 63, length 138", 4),
    ("09:21:27.911973 02:00:00:00:01:01 > 02:00:00:00:01:02, ethertype IPv4 (0x0800), length 228:"
     " 198.18.100.1 > 198.18.100.2: GREv0, proto IPv4 (0x0800), length 194: 198.18.1.2.38240 > "
     "198.18.2.2.3128: Flags [P.], seq 1:139, ack 1, win 63, length 138", 4),
    ("09:21:27.911973 PPPoE  [ses 0x1234] IP 198.18.1.2.38240 > 198.18.2.2.3128: Flags [P.], "
     "seq 1:139, ack 1, win 63, length 138", 4),
    ("09:21:27.911973 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype PPPoE S (0x8864), length "
     "212: PPPoE  [ses 0x1234] IP (0x0021), length 192: 198.18.1.2.38240 > 198.18.2.2.3128: "
     "Flags [P.], seq 1:139, ack 1, win 63, length 138", 4),
    ("09:21:27.911973 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q-QinQ (0x88a8), "
     "length 212: vlan 200, p 0, ethertype 802.1Q (0x8100), vlan 100, p 0, ethertype IPv4 "
     "(0x0800), 198.18.1.2.38240 > 198.18.2.2.3128: Flags [P.], seq 1:139, ack 1, win 63, "
     "length 138", 4),
])
def test_tcpdump_lines_of_encapsulated_packets(line: str, family: int) -> None:
    """The inner packet, as tcpdump prints GRE, PPPoE, PPP and 802.1Q (with and without -e)."""
    p = td(line)
    assert (p.src, p.sport, p.dst, p.dport, p.seq, p.length, p.family) == (
        "198.18.1.2", 38240, "198.18.2.2", 3128, 1, 138, family)
    assert p.ts == 9 * 3600 + 21 * 60 + 27.911973


def test_tcpdump_ttt_deltas_are_added_up() -> None:
    from pathprobe.capture.textpacket import deltas_to_times

    packets = [td(f" 00:00:0{t} IP a.1 > b.2: Flags [.], ack 1, win 1, length 0")
               for t in ("0.000000", "1.500000", "0.250000")]
    deltas_to_times(packets)
    assert [p.ts for p in packets] == [0.0, 1.5, 1.75]
    steady = [td(f" 00:00:0{t} IP a.1 > b.2: Flags [.], ack 1, win 1, length 0")   # a ping
              for t in ("0.000000", "1.000012", "0.999987", "1.000003", "0.999990")]
    deltas_to_times(steady)
    assert [round(p.ts, 6) for p in steady] == [0.0, 1.000012, 1.999999, 3.000002, 3.999992]


def test_times_since_the_first_packet_that_start_over_are_no_deltas() -> None:
    """A packet list saved twice in one file (PPA's ftp-crack.pcap, as tshark rows): 0 to
    44.6 s, then 0 to 44.6 s again. Read as deltas, the times added up to 358,615 s and a
    SYN was 'never sent again in the 77180.8 s of capture that followed'."""
    from pathprobe.capture.textpacket import deltas_to_times

    times = [i * 0.5 for i in range(30)] * 2 + [14.4999, 14.5]   # (and one step back)
    packets = [td(f"{t:.6f} IP a.1 > b.2: Flags [.], ack 1, win 1, length 0") for t in times]
    deltas_to_times(packets)
    assert [p.ts for p in packets] == times


def test_packet_list_rows() -> None:
    row = packet_list_row("6 2025-03-14 11:30:12.536846 10.10.10.1 10.40.40.1 TCP 74 80 → 48716 "
                          "[SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1300 WS=64 SACK_PERM "
                          "TSval=1 TSecr=2", 3)
    assert row is not None and row[0] is not None
    p = row[0]
    assert (p.sport, p.dport, p.flags, p.seq, p.ack, p.length, p.mss, p.wscale, p.number) == (
        80, 48716, TCP_SYN | TCP_ACK, 0, 1, 0, 1300, 6, 6)
    assert p.sack and p.tsopt and p.frame_len == 74
    for line in ("2025-03-14 11:30:12.569885 10.10.10.1 10.40.40.1 TCP 66 80 → 48716 [ACK] "
                 "Seq=1 Ack=123 Win=262400 Len=0",
                 '"9","0.052","10.10.10.1","10.40.40.1","TCP","66","80 → 48716 [ACK] Seq=1 '
                 'Ack=123 Len=0"',
                 "    9   0.052000 10.10.10.1 → 10.40.40.1  TCP 66 80 → 48716 [ACK] Seq=1 "
                 "Ack=123 Len=0"):
        row = packet_list_row(line, 1)
        assert row is not None and row[0] is not None, line
        assert (row[0].src, row[0].ack, row[0].flags) == ("10.10.10.1", 123, TCP_ACK)
    row = packet_list_row("12 0.5 10.40.40.1 10.10.10.1 TCP 1506 [TCP Retransmission] 48716 → 80 "
                          "[PSH, ACK] Seq=640 Ack=40 Win=502 Len=1440", 1)
    assert row is not None and row[0] is not None and row[0].retx_mark
    assert row[0].flags == TCP_PSH | TCP_ACK
    row = packet_list_row("8 0.5 10.40.40.1 10.10.10.1 HTTP 188 CONNECT tools.cisco.com:443 "
                          "HTTP/1.1", 1)
    assert row is not None and row[0] is None and row[3].startswith("CONNECT")


def test_http_heads_broken_over_lines() -> None:
    lines = ["HTTP/1.1", "```", "", "403", "", "Forbidden", "Content-Type: text/html",
             "Proxy-Authenticate: NTLM", "Connection: close", "", "next"]
    head = http_head(lines, 0)
    assert head is not None
    end, kind, body = head
    assert kind == "response" and end == 9
    assert body == (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n"
                    b"Proxy-Authenticate: NTLM\r\nConnection: close\r\n\r\n")
    head = http_head(["E..<..@.@.......P.CONNECT tools.cisco.com:443 HTTP/1.1",
                      "Host: tools.cisco.com:443"], 0)
    assert head is not None and head[2].startswith(b"CONNECT tools.cisco.com:443 HTTP/1.1\r\nHost")
    # A status broken over lines does not swallow the packet line after it.
    lines = ["HTTP/1.1", "200", "10:20:59.123456 IP fmc.1 > proxy.80: Flags [P.], length 5"]
    assert http_head(lines, 0) == (2, "response", b"HTTP/1.1 200\r\n\r\n")
    assert http_head(["Si vous recevez HTTP/1.1 200 Connection established, alors"], 0) is None


def test_detail_block() -> None:
    lines = ["Frame 8: 188 bytes on wire (1504 bits), 188 bytes captured (1504 bits)",
             "    Epoch Time: 1741951812.536989000 seconds",
             "Internet Protocol Version 4, Src: fmc (10.40.40.1), Dst: 10.10.10.1",
             "Transmission Control Protocol, Src Port: 48716, Dst Port: 80, Seq: 1, Ack: 1, "
             "Len: 122",
             "    Flags: 0x018 (PSH, ACK)",
             "    [Expert Info: HTTP/1.1 200 bogus\\r\\n]",
             "Hypertext Transfer Protocol",
             "    CONNECT tools.cisco.com:443 HTTP/1.1\\r\\n",
             "    Host: tools.cisco.com:443\\r\\n",
             "    \\r\\n",
             "",
             "Frame 9: 66 bytes on wire"]
    end, p = detail_block(lines, 0, 1)
    assert end == 10 and p is not None
    assert (p.src, p.sport, p.seq, p.ack, p.length, p.flags, p.number, p.frame_len) == (
        "10.40.40.1", 48716, 1, 1, 122, TCP_PSH | TCP_ACK, 8, 188)
    assert p.ts == 1741951812.536989
    assert p.content == b"CONNECT tools.cisco.com:443 HTTP/1.1\r\nHost: tools.cisco.com:443\r\n\r\n"


@pytest.mark.parametrize(("text", "seconds"), [
    ("10:20:58.987654", 37258.987654), ("0.019717", 0.019717), ("1741951812.5", 1741951812.5),
    ("2025-03-14 00:00:01,5", 739324 * 86400 + 1.5), ("nan", None), ("2025-13-40 00:00:01", None),
    ("Mar 14, 2025 00:00:01.5", 739324 * 86400 + 1.5), ("Foo 14, 2025 00:00:01", None),
])
def test_times(text: str, seconds: float | None) -> None:
    assert parse_time(text) == seconds


def test_sequence_numbers_relative_or_absolute() -> None:
    side = _Side(base=3735928559, next=3735928560)
    assert _resolve(side, 1) == 3735928560              # tcpdump: relative after the SYN
    assert _resolve(side, 3735928560) == 3735928560     # tcpdump -S: absolute throughout
    assert _resolve(_Side(base=0, next=1), 1441) == 1441  # Wireshark: relative from 0
    wrap = _Side(base=0xFFFFFF00, next=0xFFFFFF01)
    assert _resolve(wrap, 0x200) == 0x100               # relative, across the 32-bit wrap


def test_relabel_names_only_whole_addresses() -> None:
    r = Relabel({"240.0.0.1": "fmc", "100::2": "proxy"})
    # a name needs no brackets; a port 0 is one the text did not show
    assert r.text("240.0.0.1:54321 -> [100::2]:80") == "fmc:54321 -> proxy:80"
    assert r.text("240.0.0.1:0 -> [100::2]:0") == "fmc -> proxy"
    assert r.text("240.0.0.1:05 -> [100::2]:10") == "fmc:05 -> proxy:10"
    assert r.values({"cport": 0, "port": 0, "size": 0, "server": "[100::2]:0"}) == {
        "cport": None, "port": None, "size": 0, "server": "proxy"}
    assert r.text("240.0.0.12 1240.0.0.1 240.0.0.1.5") == "240.0.0.12 1240.0.0.1 240.0.0.1.5"


def test_parse_text_counts_what_it_skips() -> None:
    lines = ["$ tcpdump -i eth0", "# a comment", "", "prose about the proxy",
             "10:00:00.1 IP a.1 > b.80: Flags [S], seq 0, win 1, options [mss 1460], length 0",
             "CONNECT x:443 HTTP/1.1", "Host: x:443"]
    parsed = parse_text(lines)
    assert [p.form for p in parsed.packets] == [TextForm.TCPDUMP, TextForm.HTTP]
    assert (parsed.unparsed, parsed.first_unparsed) == (2, 1)
    assert parsed.packets[1].src == "a" and parsed.packets[1].dport == 80
    assert parsed.http_standalone == 1 and parsed.first_standalone == 6


def test_text_detection() -> None:
    assert looks_like_text(b"10:00 IP a.1 > b.2: Flags [S]\n")
    assert looks_like_text("é".encode("utf-16"))
    assert looks_like_text(b"x" * 10 + "é".encode()[:1])    # cut mid-character
    assert not looks_like_text(b"\x7fELF\x02\x01\x01\x00")
    assert not looks_like_text(bytes(range(0x80, 0xFF)))


# --- the real CLI ------------------------------------------------------------------------

def analyze(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pathprobe", "analyze", *args],
                          input=stdin, capture_output=True, env=cli_env(), check=False,
                          timeout=120)


def report(*args: str, stdin: bytes | None = None) -> tuple[int, dict[str, object]]:
    proc = analyze(*args, "--json", stdin=stdin)
    assert proc.returncode in (0, 1), proc.stderr
    assert not proc.stderr.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def summary(doc: dict[str, object], tls: bool = True) -> tuple[object, ...]:
    verdicts = doc["verdicts"]
    legs = doc["legs"]
    assert isinstance(verdicts, list) and isinstance(legs, list)
    return (tuple((v["code"], v["leg"], v["direction"], v.get("severity"), v.get("pmtu_low"),
                   v.get("pmtu_high"), v.get("mtu"), v.get("mss_sent"), v.get("mss_received"))
                  for v in verdicts),
            tuple((leg["name"], leg["status"], leg["mss_sent"], leg["mss_received"],
                   leg["max_seg_up"], leg["max_seg_down"], leg["ended"],
                   leg["tls"] if tls else None) for leg in legs))


_PCAP_SUMMARIES: dict[str, tuple[int, dict[str, object]]] = {}


def from_pcap(story: str) -> tuple[int, dict[str, object]]:
    if story not in _PCAP_SUMMARIES:
        _PCAP_SUMMARIES[story] = report(str(TEXT / f"{story}.pcap"))
    return _PCAP_SUMMARIES[story]


WANT = {"healthy": "MSS_CLAMPED", "rst": "RST_ON_LARGE_SEGMENT", "silence": "PMTU_BLACKHOLE"}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("story", STORIES)
def test_every_form_gives_the_verdicts_of_the_pcap(story: str, form: str) -> None:
    status, doc = from_pcap(story)
    assert [v["code"] for v in doc["verdicts"]] == [WANT[story]]   # type: ignore[index]
    text_status, text_doc = report(str(TEXT / f"{story}.{form}.txt"))
    assert text_status == status
    assert summary(text_doc, form in SHOWS_TLS) == summary(doc, form in SHOWS_TLS)
    notes = " | ".join(text_doc["notes"])   # type: ignore[arg-type]
    assert f"{story}.{form}.txt: text (" in notes and "line numbers of the text" in notes
    assert "retransmissions are known only" in notes
    assert "carry no time" not in notes, notes            # (-e -v lost them all)
    assert ("were skipped" in notes) == (form == "tcpdump-A"), notes   # (-A: payload lines)
    if form in ("tcpdump-X", "tcpdump-xx"):   # the bytes are in the dump
        assert "packet(s) come with a hex dump: what they carried" in notes
        assert "text holds no payload bytes" not in notes and "may be up to" not in notes
    else:
        assert "text holds no payload bytes" in notes


@pytest.mark.parametrize("form", ["tcpdump-n", "tcpdump-v", "tcpdump-ev", "tshark-V", "asa"])
def test_icmp_frag_needed_in_text(form: str) -> None:
    """The lab's frag-needed capture as tcpdump (with and without -v's quotation), tshark
    -V (gzip-compressed text) and ASA/FTD 'show capture': PMTU_REDUCED with MTU 1400, as
    from the pcap."""
    proxy = ("--proxy", "198.18.2.2:3128")   # tcpdump does not decode HTTP on 3128
    _status, doc = report(str(TEXT.parent / "captures" / "mtu.pcap"), *proxy)
    name = f"mtu.{form}.txt" + (".gz" if form == "tshark-V" else "")
    _status, text_doc = report(str(TEXT / name), *proxy)
    assert summary(text_doc, False)[0] == summary(doc, False)[0]
    (v,) = text_doc["verdicts"]   # type: ignore[misc]
    assert (v["code"], v["mtu"], v["router"]) == ("PMTU_REDUCED", 1400, "198.18.1.1")
    unquoted = [n for n in text_doc["notes"] if "show no quoted packet" in n]  # type: ignore
    assert bool(unquoted) == (form in ("tcpdump-n", "asa"))


def test_icmp_lines() -> None:
    p = td("09:21:26.014704 IP 198.18.1.1 > 198.18.1.2: ICMP 198.18.2.2 unreachable - need to "
           "frag (mtu 1400), length 556")
    assert (p.icmp_mtu, p.icmp_orig, p.src, p.dst, p.family) == (1400, "198.18.2.2",
                                                                 "198.18.1.1", "198.18.1.2", 4)
    p = td("09:21:26.1 IP6 2001:db8:1::1 > 2001:db8:1::2: ICMP6, packet too big, mtu 1280, "
           "length 1240")
    assert (p.icmp_mtu, p.family, p.icmp_orig) == (1280, 6, "")
    parsed = parse_text([
        "09:21:26.014704 IP (tos 0xc0, ttl 64, id 1, offset 0, flags [none], proto ICMP (1), "
        "length 576)",
        "    198.18.1.1 > 198.18.1.2: ICMP 198.18.2.2 unreachable - need to frag (mtu 1400), "
        "length 556",
        "\tIP (tos 0x0, ttl 64, id 2, offset 0, flags [DF], proto TCP (6), length 1500)",
        "    198.18.1.2.38190 > 198.18.2.2.3128: Flags [.], seq 736:2184, ack 867, win 63, "
        "length 1448"])
    (icmp,) = parsed.packets      # the quotation is no packet of its own
    assert icmp.quoted is not None and icmp.quoted.sport == 38190 and icmp.quoted_len == 1500


def test_evidence_cites_lines_and_names() -> None:
    path = TEXT / "rst.tcpdump-names.txt"
    _status, doc = report(str(path))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    lines = path.read_text().splitlines()
    large = next(f for f in v["facts"] if f["fact"] == "large-segment")
    assert "length 1440" in lines[large["values"]["frame"] - 1]
    assert large["values"]["unit"] == "line" and large["frames"] == [large["values"]["frame"]]
    assert any(e.startswith(f"line {large['values']['frame']}: 1440-byte segment")
               for e in v["evidence"])
    assert "wireshark_filter" not in v
    text = " ".join(v["evidence"])
    assert "fmc.example.com:48716 -> proxy.example.com:80" in text and "frame" not in text
    plain = analyze(str(path)).stdout.decode()
    assert "proxy.example.com:80" in plain and not re.search(r"\b240\.\d", plain)


def test_article_stories_as_pasted() -> None:
    status, doc = report(str(ARTICLE / "healthy.list.txt"))
    assert status == 0 and summary(doc)[0] == (
        ("MSS_CLAMPED", "fmc-proxy", "both", "info", None, None, None, 1460, 1300),)
    assert doc["legs"][0]["max_seg_up"] == 517   # type: ignore[index]
    status, doc = report(str(ARTICLE / "rst.tcpdump.txt"))
    assert status == 1 and [v["code"] for v in doc["verdicts"]] == [   # type: ignore[attr-defined]
        "RST_ON_LARGE_SEGMENT"]
    # 1440 bytes then only comments: the text cannot prove what followed, so no size verdict,
    # and the report says so.
    status, doc = report(str(ARTICLE / "silence.tcpdump.txt"))
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"]  # type: ignore
    assert ("line 16: 1440 bytes from fmc:54321 are never acknowledged before the text ends"
            in " | ".join(doc["notes"]))   # type: ignore[arg-type]


@pytest.mark.parametrize("packed", [False, True])
def test_text_on_standard_input(packed: bool) -> None:
    data = (ARTICLE / "rst.tcpdump.txt").read_bytes()
    status, doc = report("-", stdin=gzip.compress(data) if packed else data)
    assert status == 1 and doc["verdicts"][0]["code"] == "RST_ON_LARGE_SEGMENT"  # type: ignore


@pytest.mark.parametrize("content", [
    b"Dear TAC, the proxy does not work.\nRegards\n",
    b"",
    b"\x7fELF\x02\x01\x01\x00" + bytes(100),
    b"No. Time Source Destination Protocol Length Info\n",
])
def test_unknown_text_or_bytes_is_one_line_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "case.txt"
    path.write_bytes(content)
    proc = analyze(str(path))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith("pathprobe: error: ") and "capture" in line


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the article's pasted captures are not here")
@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else [],
                         ids=lambda p: p.name[:3])
def test_the_article_itself(seed: Path) -> None:
    """The whole article (5 languages), prose and all: its refusal, its reset, and the MSS
    change of its Wireshark list (one translation leaves the list out)."""
    _status, doc = report(str(seed))
    codes = {v["code"] for v in doc["verdicts"]}   # type: ignore[attr-defined]
    assert {"PROXY_DENIED", "RST_ON_LARGE_SEGMENT"} <= codes
    assert ("MSS_CLAMPED" in codes) == ("MSS=1300" in seed.read_text())


# --- garbage -----------------------------------------------------------------------------

_FRAGMENTS = [ln for p in [*sorted(TEXT.glob("*.txt")), *sorted(ARTICLE.glob("*.txt")),
                            *sorted((TEXT / "ping-output").glob("*.txt")),
                            *sorted((TEXT / "tracepath").glob("*.txt"))]
              for ln in p.read_text().splitlines()[:40]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(
    st.sampled_from(_FRAGMENTS),
    st.tuples(st.sampled_from(_FRAGMENTS), st.integers(0, 200), st.text(max_size=8)).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:]),
    st.text(max_size=60)), max_size=40))
def test_garbage_text_gives_a_report_or_a_typed_error(tmp_path_factory: pytest.TempPathFactory,
                                                      lines: list[str]) -> None:
    path = tmp_path_factory.mktemp("text") / "paste.txt"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
    try:
        result = analyze_capture(path, Filters())
    except (UsageError, CaptureError) as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert result.measurement.verdicts


def test_a_line_whose_inner_packet_is_itself_is_not_opened_forever(tmp_path: Path) -> None:
    # hypothesis found it: a control character in the flags made the tunnel opener rebuild
    # the same line again and again (RecursionError, exit 4).
    path = tmp_path / "paste.txt"
    # (read as a broken line, the two pieces the CR leaves make one pure ACK: textjoin)
    path.write_text("11:30:12.569756 IP 198.18.2.2.80 > 198.18.1.2.48716: Flags [\r.], ack 123, "
                    "win 64240, length 0\n")
    assert analyze_capture(path, Filters()).stats.frames == 1


def test_snippets_printed_with_different_clocks_never_run_time_backwards(tmp_path: Path) -> None:
    # The article pastes a snippet with full dates, then others with relative times: the
    # first tunnel's idle time came out as -63877548612.8 s (a date's ordinal seconds
    # against seconds since the start of another snippet).
    dated = (
        "2025-03-14 11:30:12.517129 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [S], seq 1, "
        "win 64240, options [mss 1460], length 0\n"
        "2025-03-14 11:30:12.536846 IP 198.18.2.2.80 > 198.18.1.2.48716: Flags [S.], seq 5, "
        "ack 2, win 65535, options [mss 1300], length 0\n"
        "2025-03-14 11:30:12.536989 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [P.], "
        "seq 2:124, ack 6, win 502, length 122: HTTP: CONNECT tools.cisco.com:443 HTTP/1.1\n"
        "2025-03-14 11:30:12.713622 IP 198.18.2.2.80 > 198.18.1.2.48716: Flags [P.], "
        "seq 6:45, ack 124, win 502, length 39: HTTP: HTTP/1.1 200 Connection established\n"
        "2025-03-14 11:30:12.752166 198.18.1.2 198.18.2.2 TLSv1.2 583 Client Hello "
        "(SNI=tools.cisco.com)\n")
    relative = ("0.000000 IP 198.18.1.2.40000 > 198.18.2.2.80: Flags [S], seq 1, win 64240, "
                "options [mss 1460], length 0\n"
                "0.000400 IP 198.18.2.2.80 > 198.18.1.2.40000: Flags [S.], seq 9, ack 2, "
                "win 64240, options [mss 1460], length 0\n")
    path = tmp_path / "paste.txt"
    path.write_text(dated + "\n# another capture\n" + relative)
    r = analyze(str(path), "--width", "200")
    assert r.returncode in (0, 1), r.stderr
    assert not re.search(rb"-\d+(\.\d+)? s\b", r.stdout), r.stdout[-2000:]
    # The first snippet stops 20 ms after the hello: that is where the text ends, not a
    # tunnel that stalled (the later snippet's time is not its silence).
    assert b"TUNNEL_STALL" not in r.stdout and b"MSS_CLAMPED" in r.stdout, r.stdout[-3000:]


def test_a_syn_at_a_snippets_end_is_watched_only_to_that_end(tmp_path: Path) -> None:
    """A SYN 50 ms before its snippet ends, then a snippet whose clock starts a minute
    earlier (one capture pasted twice, or two captures): the SYN was watched for 50 ms,
    too short to miss a SYN-ACK, not for the 40 s the later snippet runs (PPA's
    ftp-crack as tcpdump text: 'never sent that SYN again in the 44.6 s that followed')."""
    def conn(t: str, port: int, seq: int) -> str:
        return (f"{t}0.000000 IP 198.18.1.2.{port} > 198.18.2.2.21: Flags [S], seq {seq}, "
                "win 64240, options [mss 1460], length 0\n"
                f"{t}0.001000 IP 198.18.2.2.21 > 198.18.1.2.{port}: Flags [S.], seq 500, "
                f"ack {seq + 1}, win 65535, options [mss 1460], length 0\n"
                f"{t}0.002000 IP 198.18.1.2.{port} > 198.18.2.2.21: Flags [.], ack 501, "
                "win 502, length 0\n")
    first = (conn("10:00:0", 40000, 100)
             + "10:00:00.900000 IP 198.18.1.2.40001 > 198.18.2.2.21: Flags [S], seq 900, "
             "win 64240, options [mss 1460], length 0\n"
             "10:00:00.950000 IP 198.18.2.2.21 > 198.18.1.2.40000: Flags [P.], seq 501:521, "
             "ack 101, win 502, length 20\n")
    second = (conn("09:59:0", 40002, 1)
              + "09:59:20.000000 IP 198.18.2.2.21 > 198.18.1.2.40002: Flags [P.], "
              "seq 501:521, ack 2, win 502, length 20\n"
              "09:59:40.000000 IP 198.18.1.2.40002 > 198.18.2.2.21: Flags [.], ack 521, "
              "win 502, length 0\n")
    path = tmp_path / "paste.txt"
    path.write_text(first + second)
    r = analyze(str(path), "--json")
    assert r.returncode == 0, r.stdout[-2000:]
    assert [v["code"] for v in json.loads(r.stdout)["verdicts"]] == ["HEALTHY"]
    # ... while the same SYN with 40 s of its own snippet after it is one refusal
    path.write_text(first.replace("10:00:00.950000", "10:00:40.950000"))
    r = analyze(str(path), "--json")
    refused = [v for v in json.loads(r.stdout)["verdicts"] if v["code"] == "PROXY_UNREACHABLE"]
    assert refused and "40.0 s" in json.dumps(refused[0]["evidence"]), r.stdout[-2000:]


@pytest.mark.parametrize("stamp", ["", "[Error converting time] "])
def test_a_reset_on_untimed_lines_is_not_said_to_come_soon(tmp_path: Path, stamp: str) -> None:
    """tcpdump -t, or '[Error converting time]' (a capture with a timestamp its libc cannot
    convert; ITI's m-send-req.mms, whose RST came 413 s after the segment): the lines read
    as 0 ms apart, and 'RST 0 ms later' was said and 'measured'."""
    timed = (TEXT / "rst.tcpdump-n.txt").read_text()
    path = tmp_path / "rst.txt"
    path.write_text(re.sub(r"(?m)^[0-9:.]+ ", stamp, timed))
    facts = {}
    for text in (TEXT / "rst.tcpdump-n.txt", path):
        _code, doc = report(str(text))
        v = cast(list[dict[str, Any]], doc["verdicts"])[0]
        assert v["code"] == "RST_ON_LARGE_SEGMENT", v
        facts[text] = (v["confidence"], [f["fact"] for f in v["facts"]])
    assert facts[TEXT / "rst.tcpdump-n.txt"][0] == "measured"
    assert "rst-after-large" in facts[TEXT / "rst.tcpdump-n.txt"][1]
    confidence, said = facts[path]
    assert confidence == "inferred" and "text-rst-untimed" in said and "rst-after-large" not in said


def test_a_port_of_superscript_digits_is_no_port(tmp_path: Path) -> None:
    # hypothesis found it: '¹80'.isdigit() is True, int('¹80') raises (exit 4)
    path = tmp_path / "paste.txt"
    path.write_text("11:30:12.713547 IP 198.18.1.2.48716 > 198.18.2.2.\u00b980: Flags [.], ack 40, "
                    "win 64240, length 0\n", encoding="utf-8")
    proc = analyze(str(path))
    assert proc.returncode in (1, 2, 3), proc.stderr
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr


_FORMS = ["healthy.tcpdump-n.txt", "healthy.tcpdump-v.txt", "healthy.tcpdump-A.txt",
          "healthy.tcpdump-S.txt", "rst.tcpdump-names.txt", "rst.list.txt",
          "rst.list-nonum.txt", "rst.tshark.txt", "rst.tshark-V.txt", "mtu.tcpdump-v.txt",
          "mtu.tshark-V.txt.gz", "rst.classic.txt", "rst.asa.txt", "silence.asa-detail.txt",
          "mtu.asa.txt", "ping-toobig.tcpdump-v.txt", "ping-toobig.list.txt",
          "ping-toobig6.tcpdump-v.txt", "ping-nomtu.tshark-V.txt.gz"]


def _lines(name: str) -> list[str]:
    raw = (TEXT / name).read_bytes()
    return (gzip.decompress(raw) if name.endswith(".gz") else raw).decode().splitlines()


@pytest.mark.parametrize("name", _FORMS)
def test_any_number_in_any_line_may_be_absurd(name: str) -> None:
    """Every run of digits of every line, in turn, written 5000 digits long or in another
    script's digits: the parsers read it as no number (``int()`` refuses more than 4300
    digits: an internal error, exit 4, before ``textpacket.number``)."""
    lines = _lines(name)[:60]
    absurd = ("9" * 5000, "\u0661\u0664\u0666\u0660", "\u00b9\u00b2")
    for i, line in enumerate(lines):
        for k, run in enumerate(re.finditer(r"\d+", line)):
            forms = absurd if k % 3 == 0 else absurd[:1]  # (all forms on every 3rd: time)
            for digits in forms:
                mutated = line[:run.start()] + digits + line[run.end():]
                text = parse_text([*lines[max(0, i - 30):i], mutated, *lines[i + 1:i + 30]])
                for p in text.packets:
                    for v in (p.sport, p.dport, p.seq, p.ack, p.length, p.mss, p.frame_len,
                              p.ip_len, p.icmp_mtu, p.quoted_len):
                        assert v is None or 0 <= v < 1 << 32, (name, i, mutated[:80])


def test_a_pasted_5000_digit_number_is_a_report_not_an_internal_error(tmp_path: Path) -> None:
    nines = "9" * 5000
    path = tmp_path / "paste.txt"
    path.write_text(
        f"11:30:12.517129 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [S], seq {nines}, win 64240, "
        f"options [mss 1460,sackOK,nop,wscale {nines},eol], length 0\n"
        "11:30:12.536846 IP 198.18.2.2.80 > 198.18.1.2.48716: Flags [S.], seq 2882400001, ack "
        f"3735928560, win 64240, options [mss {nines},sackOK,nop,wscale 7,eol], length 0\n"
        f"11:30:12.536913 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [.], ack 1, win 64240, "
        f"length {nines}\n", encoding="utf-8")
    proc = analyze(str(path), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    (row,) = doc["legs"]
    assert (row["mss_sent"], row["mss_received"]) == (1460, None)


def test_long_lines_of_any_shape_are_read_in_linear_time(tmp_path: Path) -> None:
    """Three shapes that made a line pattern backtrack quadratically (a 180 kB line took
    9.5 s, a 1 MB one minutes): a row whose Info is a run of digits, a time followed by
    whitespace, repeated 'options ['. Linear, the 3 MB paste takes well under a second;
    the generous timeout only tells a hang from a result."""
    mb = 1 << 20
    path = tmp_path / "paste.txt"
    path.write_text(
        "11:30:12.517129 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [S], seq 1, win 64240, "
        "options [mss 1460], length 0\n"
        "1 0.000000 198.18.1.2 \u2192 198.18.2.2 TCP 74 48716 " + "1" * mb + "\n"
        "11:30:12.617129 " + " \t" * (mb // 2) + "x\n"
        "11:30:12.717129 IP 198.18.1.2.48716 > 198.18.2.2.80: Flags [S], seq 1, "
        + "options [" * (mb // 9) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          capture_output=True, env=cli_env(), check=False, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["legs"], proc.stdout[:2000]


@pytest.mark.parametrize("form", ["tcpdump-n", "list", "tshark-V", "asa"])
@pytest.mark.parametrize(("how", "blank", "invisible"), [
    ("no-break spaces (mail, web)", "\u00a0", ""),
    ("narrow no-break spaces", "\u202f", ""),
    ("zero-width spaces before words (chat)", " ", "\u200b"),
    ("direction marks and a soft hyphen", " ", "\u200e\u00ad"),
])
def test_text_copied_out_of_mail_or_chat_reads_as_typed(tmp_path: Path, form: str, how: str,
                                                        blank: str, invisible: str) -> None:
    story = "silence"
    typed = (TEXT / f"{story}.{form}.txt").read_text(encoding="utf-8")
    pasted = tmp_path / "pasted.txt"
    pasted.write_text(typed.replace(" ", blank + invisible), encoding="utf-8")
    assert report(str(pasted))[1]["verdicts"] == report(str(TEXT / f"{story}.{form}.txt"))[1][
        "verdicts"], how


# --- ASA/FTD 'show capture' and classic tcpdump ------------------------------------------

CLASSIC = ("classic", "asa", "asa-detail")


def test_classic_and_show_capture_lines() -> None:
    """The format of tcpdump before 4.0, kept by ASA/FTD 'show capture': flags as letters
    ('.' for an ACK alone), first:end(length), 'ack N' sets the ACK bit, options in <...>."""
    p = td("  28: 20:20:07.518924       198.18.1.2.33730 > 198.18.2.2.3128: S 2198057225:"
           "2198057225(0) win 29200 <mss 1460,sackOK,timestamp 349841117 0,nop,wscale 7> "
           "Drop-reason: (sp-security-failed) Slowpath security checks failed")
    assert (p.form, p.number, p.src, p.sport, p.dst, p.dport, p.flags, p.seq, p.length) == (
        TextForm.CLASSIC, 28, "198.18.1.2", 33730, "198.18.2.2", 3128, TCP_SYN, 2198057225, 0)
    assert (p.mss, p.wscale, p.sack, p.tsopt, p.options_shown, p.ack) == (
        1460, 7, True, True, True, None)
    assert p.drop_reason == "sp-security-failed: Slowpath security checks failed"
    assert p.ts == pytest.approx(20 * 3600 + 20 * 60 + 7.518924)
    p = td("03:36:36.013501 IP 198.18.1.2.60308 > 198.18.2.2.ftp: . ack 3176472963 win 229 "
           "<nop,nop,timestamp 726852018 3049700>")
    assert (p.family, p.dport, p.flags, p.seq, p.ack, p.length, p.mss) == (
        4, 21, TCP_ACK, None, 3176472963, None, None)
    p = td("03:36:36.021853 IP 198.18.1.2.60308 > 198.18.2.2.21: FP 7:1455(1448) ack 21 "
           "win 229")
    assert (p.flags, p.seq, p.length, p.ack, p.options_shown) == (
        TCP_FIN | TCP_PSH | TCP_ACK, 7, 1448, 21, False)
    p = td("   4: 11:30:12.536989 2001:db8:1::2.48717 > 2001:db8:2::2.3128: R 1000:1000(0) "
           "win 0")
    assert (p.src, p.sport, p.dst, p.flags, p.number) == (
        "2001:db8:1::2", 48717, "2001:db8:2::2", TCP_RST, 4)
    icmp = td("  17: 09:21:26.014704       198.18.1.1 > 198.18.1.2 icmp: 198.18.2.2 unreachable"
              " - need to frag (mtu 1400)")
    assert (icmp.form, icmp.icmp_mtu, icmp.icmp_orig, icmp.src) == (
        TextForm.CLASSIC, 1400, "198.18.2.2", "198.18.1.1")
    p = td("   9: 15:05:37.637394 802.1Q vlan#10 P0 198.18.1.2.48716 > 198.18.2.2.3128: P "
           "100:1548(1448) ack 7 win 502")
    assert (p.number, p.src, p.sport, p.seq, p.length, p.flags) == (
        9, "198.18.1.2", 48716, 100, 1448, TCP_PSH | TCP_ACK)
    assert tcpdump_line("   6: 11:30:13.1 198.18.1.2 > 198.18.2.2 icmp: echo request", 1) is \
        NonTcp.IP
    assert tcpdump_line("   7: 11:30:13.1 198.18.1.2.53 > 198.18.2.2.53: udp 40", 1) is NonTcp.IP


def test_show_capture_detail_puts_the_link_header_above() -> None:
    lines = ["> show capture CAPO detail", "", "2 packets captured", "",
             "   1: 11:30:12.517129 0050.5687.1a2b 0050.5687.3c4d 0x86dd Length: 94",
             "      2001:db8:1::2.48717 > 2001:db8:2::2.3128: S [tcp sum ok] 1000:1000(0) win "
             "64800 <mss 1440> (ttl 64, id 0)",
             "   2: 11:30:12.536846 0050.5687.3c4d 0050.5687.1a2b 0x86dd Length: 94",
             "      2001:db8:2::2.3128 > 2001:db8:1::2.48717: S [tcp sum ok] 5000:5000(0) ack "
             "1001 win 64800 <mss 1380>", "2 packets shown"]
    text = parse_text(lines)
    assert text.unparsed == 0 and text.forms == {TextForm.CLASSIC: 2}
    syn, synack = text.packets
    assert (syn.line, syn.family, syn.mss, synack.mss, synack.flags) == (
        6, 6, 1440, 1380, TCP_SYN | TCP_ACK)
    assert syn.ts == pytest.approx(11 * 3600 + 30 * 60 + 12.517129)


@pytest.mark.parametrize("form", CLASSIC)
@pytest.mark.parametrize("story", STORIES)
def test_show_capture_gives_the_verdicts_of_the_pcap(story: str, form: str) -> None:
    """No payload in this form: the proxy is named with --proxy (the CONNECT is not shown);
    the verdicts, sizes, MSS and ends are the pcap's."""
    proxy = ("--proxy", "198.18.2.2")
    status, doc = report(str(TEXT / f"{story}.pcap"), *proxy)
    text_status, text_doc = report(str(TEXT / f"{story}.{form}.txt"), *proxy)
    assert text_status == status
    assert summary(text_doc, False)[0] == summary(doc, False)[0]

    def sizes(d: dict[str, object]) -> list[tuple[object, ...]]:
        return [(leg["name"], leg["mss_sent"], leg["mss_received"], leg["max_seg_up"],
                 leg["max_seg_down"], leg["ended"]) for leg in d["legs"]]  # type: ignore

    assert sizes(text_doc) == sizes(doc)
    notes = " | ".join(text_doc["notes"])   # type: ignore[arg-type]
    assert "text (ASA/FTD show capture or classic tcpdump)" in notes


@pytest.mark.parametrize("iface", ["", "ifb0  Out ", "ens192 In  "])
def test_tcpdump_q_is_told_what_is_missing(tmp_path: Path, iface: str) -> None:
    """'tcpdump -q' prints no flags, sequence numbers or options: one line that says so and
    how to print it instead, not "not a capture" (with -i any's interface and direction,
    it was "0 TCP connections", exit 3)."""
    path = tmp_path / "quiet.txt"
    path.write_text(f"11:30:12.517129 {iface}IP 198.18.1.2.48716 > 198.18.2.2.80: tcp 0\n"
                    f"11:30:12.536846 {iface}IP 198.18.2.2.80 > 198.18.1.2.48716: tcp 0\n"
                    f"11:30:12.536989 {iface}IP 198.18.1.2.48716 > 198.18.2.2.80: tcp 122\n")
    proc = analyze(str(path))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.decode().splitlines()
    assert "'tcpdump -q' lines show no TCP flags" in line and "tcpdump -n -r FILE" in line


def test_segments_the_firewall_dropped_itself_are_not_a_measured_black_hole(
        tmp_path: Path) -> None:
    """An asp-drop capture names why the ASA/FTD dropped each packet. When the segments a
    black hole rests on were dropped by the firewall itself (e.g. tcp-mss-exceeded), the
    path is not measured: the verdict cites the drop and is only inferred."""
    proxy = ("--proxy", "198.18.2.2")
    plain = TEXT / "silence.asa.txt"
    lines = plain.read_text().splitlines()
    big = [i for i, ln in enumerate(lines) if "(1440)" in ln]
    assert len(big) == 6          # the segment and its 5 retransmissions
    for i in big:
        lines[i] += " Drop-reason: (tcp-mss-exceeded) TCP data exceeded MSS"
    dropped = tmp_path / "asp-drop.txt"
    dropped.write_text("\n".join(lines) + "\n")

    _s, doc = report(str(plain), *proxy)
    (v,) = doc["verdicts"]  # type: ignore[misc]
    assert (v["code"], v["confidence"]) == ("PMTU_BLACKHOLE", "measured")
    assert not any("drop reason" in n for n in doc["notes"])  # type: ignore[union-attr]

    _s, doc = report(str(dropped), *proxy)
    (v,) = doc["verdicts"]  # type: ignore[misc]
    assert (v["code"], v["confidence"]) == ("PMTU_BLACKHOLE", "inferred")
    first_retransmission = big[1] + 1      # the line the black hole's evidence cites
    assert (f"line {first_retransmission}, cited above, is a packet the ASA/FTD dropped "
            "itself (tcp-mss-exceeded: TCP data exceeded MSS)") in " ".join(v["evidence"])
    (note,) = [n for n in doc["notes"] if "drop reason" in n]  # type: ignore[union-attr]
    assert note.startswith(f"6 packet line(s) show a drop reason (first: line {big[0] + 1}, ")


def _dump(raw: bytes, ascii_column: bool) -> list[str]:
    """``raw`` as tcpdump -x / -X prints it: 16 bytes a line, words of 2 bytes."""
    out = []
    for off in range(0, len(raw), 16):
        chunk = raw[off:off + 16]
        words = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"\t0x{off:04x}:  {words:<39}" + (f"  {text}" if ascii_column else ""))
    return out


@pytest.mark.parametrize("link", ["", "ether", "vlan"])
@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("ascii_column", [False, True])
def test_hex_dumps_give_the_payload_and_options(link: str, v6: bool, ascii_column: bool) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    from pathprobe.capture.texthex import hex_dump, hex_payload

    src, dst = ("2001:db8:1::2", "2001:db8:2::2") if v6 else ("198.18.1.2", "198.18.2.2")
    body = b"CONNECT up.example:443 HTTP/1.1\r\nHost: up.example:443\r\n\r\n"
    ip = (IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)) / TCP(
        sport=40000, dport=3128, flags="PA", options=[("NOP", None), ("NOP", None),
                                                      ("Timestamp", (1, 2))]) / body
    pkt = {"": ip, "ether": Ether() / ip, "vlan": Ether() / Dot1Q(vlan=7) / ip}[link]
    lines = ["11:30:12.1 IP x > y: Flags [P.]", *_dump(bytes(pkt), ascii_column), "next"]
    dump = hex_dump(lines, 1)
    assert dump is not None and dump[0] == len(lines) - 1 and dump[1] == bytes(pkt)
    line = TextPacket(1, TextForm.TCPDUMP, src, 40000, dst, 3128, TCP_PSH)
    found = hex_payload(line, dump[1])
    assert found is not None
    tcp, payload = found
    assert payload == body and tcp.options.timestamps == (1, 2) and tcp.sport == 40000
    other = TextPacket(1, TextForm.TCPDUMP, dst, 3128, src, 40000, TCP_PSH)
    assert hex_payload(other, dump[1]) is None            # not this line's packet
    assert hex_dump(lines[:1] + lines[2:], 1) is None     # offsets must start at 0


@pytest.mark.parametrize("line", [
    "09:21:09.780825 IP6 2001:db8:1::2 > ff02::1:ff00:1: ICMP6, neighbor solicitation, who has "
    "2001:db8:1::1, length 32",
    "09:21:09.780825 IP 198.18.1.2 > 198.18.2.2: ICMP echo request, id 7, seq 1",  # no size
    "09:21:09.780825 ARP, Request who-has 198.18.1.1 tell 198.18.1.2, length 28",
])
def test_packets_without_ports_are_other_protocols_not_unparsed(line: str) -> None:
    dump = "\t0x0000:  4500 0054 0000 4000 4001 0000 c612 0102  E..T..@.@......."
    text = parse_text([line, dump])
    assert (text.other_protocols, text.unparsed, text.packets) == (1, 0, [])


@pytest.mark.parametrize(("options", "mss"), [
    ("mss 1460,sackOK,TS val 464494241 ecr 0,nop,wscale 8,mptcp 4 capable v1 flags [H]", 1460),
    ("mss 1452,nop,wscale 2,nop,nop,scps[bad opt]", 1452),
    ("mss 1380,unknown-48 0x3030 [|tcp]", 1380),
])
def test_options_that_hold_brackets_of_their_own(options: str, mss: int) -> None:
    # shapes from tcpdump's own test outputs (MPTCP, SCPS, a cut option)
    p = td(f"15:51:06.676845 IP 198.18.1.2.33306 > 198.18.2.2.10004: Flags [S], seq 1, "
           f"win 65535, options [{options}], length 0")
    assert (p.mss, p.options_shown, p.length) == (mss, True, 0)


def test_text_of_other_protocols_only_reads_like_its_pcap(tmp_path: Path) -> None:
    """'tcpdump -n -r' of a capture without TCP (DHCP and DNS in Zeek's test traces) was
    refused as 'not a capture' (exit 2), while the pcap itself gives a report (exit 0) that
    says it holds no TCP. Text and pcap now agree; a TCP line whose flags cannot be read
    still counts as unreadable, not as another protocol."""
    path = tmp_path / "dhcp.txt"
    path.write_text(
        "19:14:02.323173 IP 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from "
        "90:b1:1c:99:49:29, length 265\n"
        "19:14:02.328120 IP 198.18.0.1.67 > 198.18.1.2.68: BOOTP/DHCP, Reply, length 367\n"
        "08:08:44.199711 IP6 2001:db8::2.50101 > 2001:db8::53.53: 20970+ NAPTR? example. (59)\n"
        "08:08:44.212000 ARP, Request who-has 198.18.0.1 tell 198.18.1.2, length 28\n")
    status, doc = report(str(path))
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"]
    notes = cast(list[str], doc["notes"])
    assert "3 IP packets, no TCP connection in the capture" in notes     # (ARP is no IP)
    assert any(n.startswith("dhcp.txt: text (tcpdump), 4 packets on 4 lines") for n in notes)
    arp = tmp_path / "arp.txt"
    arp.write_text("08:08:44.212000 ARP, Request who-has 198.18.0.1 tell 198.18.1.2, "
                   "length 28\n")
    proc = analyze(str(arp), "--json")      # like a pcap of ARP only: no IP at all
    assert proc.returncode == 3 and proc.stderr.count(b"\n") == 1, proc.stderr


@pytest.mark.parametrize("text", [
    "10:00:00.000001 STP 802.1d, Config, Flags [none], bridge-id 8001.02:00:00:00:00:01.8005, "
    "length 35\n"
    "10:00:01.000001 CDPv2, ttl: 180s, Device-ID 'lab-switch'\n"
    "10:00:02.000001 LLDP, length 200: lab-switch\n"
    "10:00:03.000001 LACPv1, length 110\n",
    "    1   0.000000 Vendor_00:00:01 \u2192 Spanning-tree-(for-bridges)_00 STP 60 Conf. "
    "Root = 32768/1/02:00:00:00:00:01  Cost = 0  Port = 0x8005\n"
    "    2   1.000000 02:00:00:00:00:01 \u2192 CDP/VTP/DTP/PAgP/UDLD CDP 400 Device ID: lab\n"
    "    3   2.000000 Vendor_00:00:01 \u2192 LLDP_Multicast LLDP 200 NoS = 02:00:00:00:00:01\n",
    # PcapPlusPlus' test captures as tcpdump prints them: 'tcpdump -i any' names the
    # interface and direction; PPPoE discovery; -e link headers of ARP, LLDP and an
    # ethertype tcpdump does not know (their pcaps: "no IP packet", exit 3)
    "13:58:46.046179 ifb1  M   STP 802.1w, Rapid STP, Flags [Proposal, Learn, Forward], "
    "bridge-id 8000.e0:1c:fc:d3:b1:df.8002, length 43\n"
    "13:43:26.780560 PPPoE PADI [Service-Name] [Host-Uniq 0x64138518]\n"
    "13:43:29.011560 PPPoE PADS [ses 0x11] [Service-Name] [AC-Name \"BRAS\"]\n",
    "13:43:26.780560 cc:05:0e:88:00:00 > ff:ff:ff:ff:ff:ff, ethertype PPPoE D (0x8863), "
    "length 60: PPPoE PADI [Service-Name] [Host-Uniq 0x64138518]\n"
    "10:57:11.825552 6c:f0:49:b2:de:6e > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), "
    "length 42: Request who-has 198.18.0.138 tell 198.18.0.1, length 28\n"
    "10:57:12.000001 02:00:00:00:00:01 > 01:80:c2:00:00:0e, ethertype LLDP (0x88cc), "
    "length 200: LLDP, length 186: lab-switch\n"
    "00:00:01.000002 06:07:08:09:0a:0b > 00:01:02:03:04:05, ethertype Unknown (0x0c0d), "
    "length 16: \n"
    "\t0x0000:  0e0f                                     ..\n",
    # tcpdump -e of Linux cooked frames ('-i any': v2 with interface and ifindex, v1 with
    # the direction only) and of an 802.3 frame: LLC (STP), ARP, LLDP. The SLL2 lines were
    # read as a packet list (exit 0: "3 IP packets"), the others as no capture (exit 2)
    "22:13:20.000000 ifb0  In  ifindex 2 00:11:22:33:44:55 802.2, length 63: LLC, dsap STP "
    "(0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config, Flags "
    "[none], bridge-id 0000.00:00:00:00:00:00.0000, length 40\n"
    "22:13:21.000000 ifb0  In  ifindex 2 00:11:22:33:44:55 ethertype ARP (0x0806), length "
    "48: Request who-has 198.18.1.1 tell 198.18.1.2, length 28\n"
    "22:13:22.000000 ifb0  In  ifindex 2 00:11:22:33:44:55 ethertype LLDP (0x88cc), length "
    "43: LLDP, length 23\n",
    "22:13:20.000000  In 00:11:22:33:44:55 802.2, length 59: LLC, dsap STP (0x42) "
    "Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config, Flags [none], "
    "bridge-id 0000.00:00:00:00:00:00.0000, length 40\n"
    "22:13:21.000000  In 00:11:22:33:44:55 ethertype ARP (0x0806), length 44: Request "
    "who-has 198.18.1.1 tell 198.18.1.2, length 28\n"
    "22:13:22.000000 00:11:22:33:44:55 > 01:80:c2:00:00:00, 802.3, length 43: LLC, dsap STP "
    "(0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config, Flags "
    "[none], bridge-id 0000.00:00:00:00:00:00.0000, length 40\n",
    # tshark rows of PcapPlusPlus' captures: a Linux cooked STP frame (no destination after
    # the arrow) and an ethertype Wireshark does not know (the Protocol column is its number)
    "    1   0.000000 D-LinkIn_d3:b1:e1 \u2192              STP 66 RST. Root = "
    "32768/0/4c:5e:0c:3e:c6:dd  Cost = 20024  Port = 0x8002\n"
    "    2   0.000001 06:07:08:09:0a:0b \u2192 3Com_03:04:05 0x0c0d 16 Ethernet II\n",
    # 802.11 (Practical Packet Analysis' Wi-Fi captures, tcpdump's radiotap tests): their
    # pcaps' link types carry no IP pathprobe reads (exit 3)
    "19:53:40.334931 1.0 Mb/s 2412 MHz 11b -17dBm signal -100dBm noise antenna 0 Beacon "
    "(LABOFFICE) [1.0* 2.0* 5.5* 11.0* Mbit] ESS CH: 1, PRIVACY\n"
    "12:59:13.707778 10016360us tsft 1.0 Mb/s 2412 MHz 11b -40dBm signal Probe Request () "
    "[1.0 2.0 5.5 11.0 Mbit]\n"
    "19:53:40.381431 Authentication (Shared Key)-1: Successful\n",
    # without -e, tcpdump names the MAC addresses of 802.2 LLC frames it decodes no further
    # (Arkime's xid.pcap, the tcpdump project's SNAP and I-frame tests): was 'not a capture'
    "11:24:15.540774 6a:70:c5:af:f1:f9 > ff:ff:ff:ff:ff:ff Null Unnumbered, xid, Flags "
    "[Response], length 6: 01 00\n"
    "2008-06-18 11:46:11.550157 00:19:06:ea:b8:85 > 01:00:0c:00:00:00 SNAP, oui Cisco "
    "(0x00000c), pid Unknown (0x0003), length 51\n"
    "2006-11-10 14:27:00.832055 00:07:00:42:00:00 > 00:14:22:59:55:51 Null Information, "
    "send seq 0, rcv seq 0, Flags [Command], length 12\n",
    # tshark rows whose Protocol column is two words or begins with a digit: a PPP control
    # protocol (packetnet's l2tp.pcap, a PPPoE link's echo) and Wi-Fi (packetnet's 802.11
    # captures): was 'not a capture' (exit 2)
    "    1   0.000000   198.18.6.72 \u2192 198.18.7.99 PPP LCP 74 Echo Request\n"
    "    2   0.000100 Netgear_f8:d7:06 \u2192 Broadcast    802.11 292 Beacon frame, SN=2892, "
    "FN=0, Flags=........C, BI=100, SSID=\"lab\"\n",
], ids=["tcpdump", "tshark", "tcpdump-any-pppoe", "tcpdump-e", "tcpdump-e-sll2",
        "tcpdump-e-sll-8023", "tshark-sll-unknown", "tcpdump-wifi", "tcpdump-llc",
        "tshark-ppp-wifi"])
def test_text_of_switch_protocols_only_reads_like_its_pcap(tmp_path: Path, text: str) -> None:
    """tcpdump lines and tshark rows of STP, CDP, LLDP, LACP (a capture on an access port):
    their pcap says there is no IP packet (exit 3); the text was 'not a capture' (exit 2),
    or, from tshark, a report of packets without TCP (exit 0) as if they were IP."""
    path = tmp_path / "switch.txt"
    path.write_text(text, encoding="utf-8")
    proc = analyze(str(path), "--json")
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.decode().splitlines()
    assert "no IP packet in" in line and "STP, CDP, LLDP" in line


def test_ppp_echo_rows_among_tcp_rows_are_packets_not_skipped_lines(tmp_path: Path) -> None:
    """A Wireshark list of a PPPoE link (the 1492-byte MTU case): its LCP echo rows are
    packets without IP, not lines to skip."""
    path = tmp_path / "pppoe.txt"
    path.write_text(
        "    1   0.000000 198.18.1.2 \u2192 198.18.4.2   TCP 74 40000 \u2192 443 [SYN] Seq=0 "
        "Win=64240 Len=0 MSS=1452\n"
        "    2   0.020000 198.18.4.2 \u2192 198.18.1.2   TCP 74 443 \u2192 40000 [SYN, ACK] Seq=0 "
        "Ack=1 Win=65535 Len=0 MSS=1452\n"
        "    3   0.020100 198.18.1.2 \u2192 198.18.4.2   TCP 66 40000 \u2192 443 [ACK] Seq=1 Ack=1 "
        "Win=64256 Len=0\n"
        "    4   5.000000 Cisco_ea:b8:85 \u2192 Broadcast  PPP LCP 60 Echo Request\n"
        "    5   5.000100 Cisco_ea:b8:86 \u2192 Cisco_ea:b8:85  PPP LCP 60 Echo Reply\n",
        encoding="utf-8")
    status, doc = report(str(path))
    notes = cast(list[str], doc["notes"])
    assert status == 0 and notes[0].startswith("pppoe.txt: text (Wireshark/tshark packet "
                                               "list), 5 packets on 5 lines"), notes
    assert not any("skipped" in n for n in notes), notes


def test_rows_of_packets_inside_a_tunnel_are_ip_packets(tmp_path: Path) -> None:
    """tshark's list of a GTP capture (PcapPlusPlus' gtp-u) names the tunnelled protocol in
    the Protocol column ("GTP <ICMP>"): IP packets, as its pcap says (exit 0), not 'not a
    capture' (exit 2). An 802.11 radio line of tcpdump ("1.0 Mb/s 2412 MHz") stays no row."""
    rows = "".join(
        f"  {i}   0.{i:06d} 198.18.40.158 \u2192 198.18.41.178 GTP <ICMP> 138 Echo (ping) "
        f"request  id=0x0000, seq={i}/256, ttl=64\n" for i in range(1, 4))
    path = tmp_path / "gtp.txt"
    path.write_text(rows, encoding="utf-8")
    proc = analyze(str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "3 IP packets, no TCP connection in the capture" in json.loads(proc.stdout)["notes"]
    assert packet_list_row("19:53:40.334931 1.0 Mb/s 2412 MHz 11b -50dBm signal antenna 1 "
                           "Authentication (Open System)-1: Successful", 1) is None


def test_link_header_learned_from_unpadded_rows_without_payload(tmp_path: Path) -> None:
    """PcapPlusPlus' one_http_stream_rst as 'tshark -r' prints it: the HTTP rows show no TCP
    length, only the Length column, and every row that does show one has none (70-byte
    frames: a 30-byte link header, not Ethernet's 14). The estimate was 16 bytes too long,
    so the client's ACK seemed not to cover the answer and its closing reset became
    RST_ON_LARGE_SEGMENT."""
    c, s = "198.18.1.2 → 198.18.3.2 ", "198.18.3.2 → 198.18.1.2 "
    up, down = "5068 → 80 ", "80 → 5068 "
    rows = [
        (c, "TCP 82 " + up + "[SYN] Seq=0 Win=8192 Len=0 MSS=1440 WS=256 SACK_PERM"),
        (s, "TCP 82 " + down + "[SYN, ACK] Seq=0 Ack=1 Win=14600 Len=0 MSS=1200 SACK_PERM"),
        (c, "TCP 70 " + up + "[ACK] Seq=1 Ack=1 Win=65792 Len=0"),
        (c, "HTTP 1106 GET /download.php?id=97853 HTTP/1.1"),
        (s, "TCP 70 " + down + "[ACK] Seq=1 Ack=1037 Win=16768 Len=0"),
        (s, "HTTP 670 HTTP/1.1 503 Service Temporarily Unavailable  (text/html)"),
        (s, "TCP 70 " + down + "[FIN, ACK] Seq=601 Ack=1037 Win=16768 Len=0"),
        (c, "TCP 70 " + up + "[ACK] Seq=1037 Ack=601 Win=65280 Len=0"),
        (c, "TCP 70 " + up + "[ACK] Seq=1037 Ack=602 Win=65280 Len=0"),
        (c, "TCP 70 " + up + "[RST, ACK] Seq=1037 Ack=602 Win=0 Len=0")]
    text = "".join(f"{i:5d}   0.{i:06d} {who}{what}\n" for i, (who, what) in enumerate(rows, 1))
    path = tmp_path / "rows.txt"
    path.write_text(text, encoding="utf-8")
    status, doc = report(str(path))
    assert [v["code"] for v in doc["verdicts"]] == ["MSS_CLAMPED"] and status == 0
    notes = cast(list[str], doc["notes"])
    assert any("minus a 30-byte link header" in n for n in notes), notes


def _two_connections(server_ack: bool) -> str:
    c, s = "198.18.1.2 → 198.18.3.2 ", "198.18.3.2 → 198.18.1.2 "
    rows: list[tuple[str, str]] = []
    for port in (50001, 50002):
        rows += [(c, f"TCP 66 {port} → 443 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM"),
                 (s, f"TCP 66 443 → {port} [SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1460"),
                 (c, f"TCP 54 {port} → 443 [ACK] Seq=1 Ack=1 Win=64256 Len=0")]
    rows += [(c, "TLSv1.2 571 Client Hello (SNI=a.example)"),
             (s, "TCP 54 443 → 50001 [ACK] Seq=1 Ack=518 Win=65535 Len=0"),
             (s, "TLSv1.2 1200 Server Hello, Certificate"),
             (c, "TCP 54 50002 → 443 [ACK] Seq=1 Ack=1 Win=64256 Len=0"),
             (c, "TLSv1.2 1000 Application Data"),
             (c, "TCP 54 50001 → 443 [ACK] Seq=1464 Ack=1147 Win=64256 Len=0")]
    text = "".join(f"{i:5d} {i / 100:.6f} {who}{what}\n" for i, (who, what) in
                   enumerate(rows, 1))
    n = len(rows) + 1
    if server_ack:    # 50002's server speaks later, without acknowledging the data
        text += f"{n:5d} 10.000000 {s}TCP 54 443 → 50002 [ACK] Seq=1147 Ack=518 Win=65535 Len=0\n"
        n += 1
    return text + (f"{n:5d} 20.130000 {c}TCP 54 50001 → 443 [FIN, ACK] Seq=1464 Ack=1147 "
                   "Win=64256 Len=0\n")


def test_rows_placed_by_guess_prove_no_stall(tmp_path: Path) -> None:
    """A Wireshark list of two TLS connections between the same hosts (PcapPlusPlus'
    example2 has six): rows naming no ports go to the last connection that showed ports,
    a guess. One connection's hello answer went to the other, whose 'no ServerHello' was a
    critical stall; it is a warning, and the notes say rows were placed by guess. Where the
    guessed data is the connection's last packet, never acknowledged nor resent, it went on
    beyond the text: no stall at all."""
    path = tmp_path / "two.txt"
    path.write_text(_two_connections(server_ack=True), encoding="utf-8")
    _status, doc = report(str(path))
    verdicts = cast(list[dict[str, object]], doc["verdicts"])
    assert [(v["code"], v["severity"]) for v in verdicts] == [("TUNNEL_STALL", "warning")]
    assert any("placed on a connection by guess" in e
               for e in cast(list[str], verdicts[0]["evidence"]))
    notes = cast(list[str], doc["notes"])
    assert any(n.startswith("3 HTTP/TLS row(s) name no ports while several connections")
               for n in notes), notes

    path.write_text(_two_connections(server_ack=False), encoding="utf-8")
    _status, doc = report(str(path))
    verdicts = cast(list[dict[str, object]], doc["verdicts"])
    assert [v["code"] for v in verdicts] == ["HEALTHY"], verdicts
    notes = cast(list[str], doc["notes"])
    assert any(n.startswith("3 HTTP/TLS row(s) name no ports") for n in notes), notes
    assert any(n.startswith("1 connection(s) whose last captured packet is data never")
               for n in notes), notes


PING_TOO_BIG = (
    "12:15:41.607522 ens192 Out IP 198.18.1.2 > 198.18.3.2: ICMP echo request, id 1, seq 1, "
    "length 1408\n"
    "12:15:41.607813 ens192 In  IP 198.18.1.1 > 198.18.1.2: ICMP 198.18.3.2 unreachable - "
    "need to frag (mtu 1000), length 556\n")
SEGMENTS = (   # 'tcpdump -i any' on a server with segmentation offload: 7240-byte "packets"
    "12:56:03.508188 ens192 In  IP 198.18.3.2.48888 > 198.18.1.2.80: Flags [S], seq 1000, "
    "win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0\n"
    "12:56:03.508244 ens192 Out IP 198.18.1.2.80 > 198.18.3.2.48888: Flags [S.], seq 5000, "
    "ack 1001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 7], length 0\n"
    "12:56:03.508734 ens192 In  IP 198.18.3.2.48888 > 198.18.1.2.80: Flags [P.], seq 1:78, "
    "ack 1, win 502, options [nop,nop,TS val 3 ecr 2], length 77: HTTP: GET / HTTP/1.1\n"
    "12:56:03.509033 ens192 Out IP 198.18.1.2.80 > 198.18.3.2.48888: Flags [P.], seq 1:7241, "
    "ack 78, win 509, options [nop,nop,TS val 4 ecr 3], length 7240: HTTP: HTTP/1.1 200 OK\n"
    "12:56:03.509107 ens192 Out IP 198.18.1.2.80 > 198.18.3.2.48888: Flags [P.], seq 7241:8026"
    ", ack 78, win 509, options [nop,nop,TS val 4 ecr 3], length 785: HTTP\n"
    "12:56:03.509453 ens192 In  IP 198.18.1.1 > 198.18.1.2: ICMP 198.18.3.2 unreachable - "
    "need to frag (mtu 1000), length 556\n")


@pytest.mark.parametrize(("text", "size"), [(PING_TOO_BIG, 1428), (SEGMENTS, None),
                                            (SEGMENTS.replace("length 785", "length 1448")
                                             .replace("7241:8026", "7241:8689"), 1500)],
                         ids=["after-a-ping", "after-a-small-segment", "after-a-large-one"])
def test_icmp_error_without_its_quote_claims_no_packet_size(
        tmp_path: Path, text: str, size: int | None) -> None:
    """tcpdump without -v shows no quoted packet (a blog's paste: 'ICMP 10.1.1.21
    unreachable - need to frag (mtu 1000)'). The error was taken to answer the last packet
    its receiver sent there: a 1001-byte TCP packet 'ports 0 > 0' after a ping, an 837-byte
    one after a small segment (which fit the MTU: it cannot have drawn the error), and the
    summary read 'path MTU at least ?'. Now the size is said only where it can be true: the
    1428-byte ping before it (an ICMP echo, not TCP) or a segment larger than the MTU."""
    path = tmp_path / "paste.txt"
    path.write_text(text)
    _status, doc = report(str(path))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    assert v["code"] == "PMTU_REDUCED" and v["pmtu_high"] == 1000 and "mtu" not in v
    # no packet the text shows can have drawn it: the MTU rests on the router's word (the
    # quote may fit it), inferred
    assert doc["summary"] == ("fmc-upstream path MTU at most 1000 (ICMP signalled; PMTUD "
                              "works) " + ("(info)" if size else "(inferred)"))
    words = " ".join(v["evidence"])
    assert "ports 0 > 0" not in words and "1001" not in words and "837" not in words, words
    if size is None:
        assert "for a packet from 198.18.1.2" in words, words
    else:
        assert f"for a {size}-byte packet" in words, words


PROXIED_LINES = (
    "09:21:11.661568 IP 198.18.1.2.54776 > 198.18.2.2.{port}: Flags [S], seq 943563791, "
    "win 64240, options [mss 1460,sackOK,nop,wscale 10], length 0\n"
    "09:21:11.661640 IP 198.18.2.2.{port} > 198.18.1.2.54776: Flags [S.], seq 4202147650, "
    "ack 943563792, win 65160, options [mss 1460,sackOK,nop,wscale 10], length 0\n"
    "09:21:11.661667 IP 198.18.1.2.54776 > 198.18.2.2.{port}: Flags [.], ack 1, win 63, "
    "length 0\n"
    "09:21:11.662078 IP 198.18.1.2.54776 > 198.18.2.2.{port}: Flags [P.], seq 1:139, ack 1, "
    "win 63, length 138\n"
    "09:21:11.662746 IP 198.18.2.2.{port} > 198.18.1.2.54776: Flags [P.], seq 1:40, ack 139, "
    "win 64, length 39\n"
    "09:21:11.662766 IP 198.18.1.2.54776 > 198.18.2.2.{port}: Flags [F.], seq 139, ack 40, "
    "win 63, length 0\n"
    "09:21:11.662800 IP 198.18.2.2.{port} > 198.18.1.2.54776: Flags [F.], seq 40, ack 140, "
    "win 64, length 0\n"
    "09:21:11.662900 IP 198.18.1.2.54776 > 198.18.2.2.{port}: Flags [.], ack 41, win 63, "
    "length 0\n")


def test_text_to_a_proxy_port_without_connect_line_says_how_to_name_the_proxy(
        tmp_path: Path) -> None:
    """'tcpdump -n' of the FMC's connection to its squid (port 3128) holds no CONNECT: the
    report called it a direct connection to the server, and said nothing of the doubt. It
    still does (a proxy is known by its request), and a note says so and how to name it."""
    path = tmp_path / "fmc.txt"
    path.write_text(PROXIED_LINES.format(port=3128), encoding="utf-8")
    _code, doc = report(str(path))
    hint = [n for n in cast(list[str], doc["notes"]) if "--proxy" in n]
    assert hint == ["line 1: a connection to 198.18.2.2:3128, a port explicit proxies listen "
                    "on, taken as one to the server itself: no line shows a CONNECT or other "
                    "request to a proxy (text holds none unless a line names it); if "
                    "198.18.2.2 is the proxy, say so with --proxy 198.18.2.2:3128, and the "
                    "report names the legs"]
    assert {v["leg"] for v in cast(list[dict[str, str]], doc["verdicts"])} == {"fmc-upstream"}
    # named as the hint says: leg 1, and no hint
    _code, doc = report(str(path), "--proxy", "198.18.2.2:3128")
    assert {v["leg"] for v in cast(list[dict[str, str]], doc["verdicts"])} == {"fmc-proxy"}
    assert not [n for n in cast(list[str], doc["notes"]) if "--proxy" in n]
    # a server on 443 is no proxy's usual port: nothing to say
    path.write_text(PROXIED_LINES.format(port=443), encoding="utf-8")
    _code, doc = report(str(path))
    assert not [n for n in cast(list[str], doc["notes"]) if "--proxy" in n]


@pytest.mark.parametrize(("answer", "code"), [
    ("HTTP/1.1 407 Proxy Authentication Required\nProxy-Authenticate: Basic realm=\"x\"",
     "PROXY_AUTH_REQUIRED"),
    ("HTTP/1.1 403 Forbidden\nServer: squid", "PROXY_DENIED"),
])
def test_heads_alone_are_a_request_and_its_answer(tmp_path: Path, answer: str,
                                                  code: str) -> None:
    """What 'curl -v' shows, pasted with no packet line: CONNECT, then the proxy's answer.
    The request was sent from the unnamed proxy to the unnamed client (ports 0 on both
    ends: the higher port was taken for the client), so the answer was never seen: 'leg 1
    healthy, answer none'."""
    path = tmp_path / "curl.txt"
    path.write_text("CONNECT tools.cisco.com:443 HTTP/1.1\nHost: tools.cisco.com:443\n\n"
                    f"{answer}\n\n", encoding="utf-8")
    proc = analyze(str(path), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    (v,) = doc["verdicts"]
    assert (v["code"], v["leg"]) == (code, "fmc-proxy")
    # no line shows either end's port: none is written ('client:0 -> proxy:0', client
    # port 0 in the table, before)
    assert "connection client -> proxy" in v["evidence"]
    (row,) = doc["legs"]
    assert (row["target"], row["client_port"]) == ("tools.cisco.com:443 via proxy", None)
    text = analyze(str(path), "--width", "100").stdout.decode()
    assert "- connection client -> proxy\n" in text and not re.search(r"(client|proxy):0", text)
    assert re.search(r"^-\s+tools\.cisco\.com:443 via", text, re.M), text


def test_an_answer_before_anything_it_answers_makes_no_connection(tmp_path: Path) -> None:
    """The article quotes curl's 'HTTP/1.1 200 Connection established' before any packet:
    it made a connection of its own ('client port 0, target client:0', fmc-upstream,
    HEALTHY). It is counted in a note, and a text of such answers only is one clear line."""
    lone = tmp_path / "lone.txt"
    lone.write_text("HTTP/1.1 200 Connection established\n\n", encoding="utf-8")
    proc = analyze(str(lone))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "pathprobe: error: lone.txt: HTTP answers only (first: line 1), no request or packet "
        "line they answer: paste the request (CONNECT ...) or the packet lines with them")
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(
        "HTTP/1.1 200 Connection established\n\n"
        "10:00:00.000000 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [S], seq 1, win 64240, "
        "options [mss 1460], length 0\n"
        "10:00:00.001000 IP 198.18.2.2.3128 > 198.18.1.2.40000: Flags [S.], seq 7, ack 2, "
        "win 65160, options [mss 1460], length 0\n", encoding="utf-8")
    _status, doc = report(str(mixed))
    assert [(row["client_port"], row["target"]) for row in doc["legs"]] == [   # type: ignore
        (40000, "198.18.2.2:3128")]
    assert ("1 HTTP answer(s) come before any request or packet line (first: line 1): tied to "
            "no connection, they were not analysed") in doc["notes"]   # type: ignore[operator]


CURL_407 = """$ curl -v -x http://10.10.10.1:3128 https://tools.cisco.com
*   Trying 10.10.10.1:3128...
* Connected to 10.10.10.1 (10.10.10.1) port 3128 (#0)
* Establish HTTP proxy tunnel to tools.cisco.com:443
> CONNECT tools.cisco.com:443 HTTP/1.1
> Host: tools.cisco.com:443
> Proxy-Connection: Keep-Alive
>
< HTTP/1.1 407 Proxy Authentication Required
< Server: squid/5.7
< Proxy-Authenticate: Basic realm="Squid proxy"
<
* Received HTTP code 407 from proxy after CONNECT
curl: (56) Received HTTP code 407 from proxy after CONNECT
"""


def test_curl_verbose_output_is_read(tmp_path: Path) -> None:
    """'curl -v -x PROXY URL', what TAC asks for first: '> ' marks what curl sent, '< '
    what it received, '* Connected to' names the proxy. It was 'not a capture' (exit 2)."""
    path = tmp_path / "curl.txt"
    path.write_text(CURL_407, encoding="utf-8")
    status, doc = report(str(path))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    assert status == 1 and (v["code"], v["leg"]) == ("PROXY_AUTH_REQUIRED", "fmc-proxy")
    assert "connection client -> 10.10.10.1:3128" in v["evidence"]   # (curl: no client port)
    assert "line 9: proxy answered 407 Proxy Authentication Required" in v["evidence"]
    assert doc["legs"][0]["client_port"] is None   # type: ignore[index]
    for bad in ("10.10.10.300", "1.2.3", ":::::"):   # not an address: the proxy stays unnamed
        path.write_text(CURL_407.replace("(10.10.10.1)", f"({bad})"), encoding="utf-8")
        _status, doc = report(str(path))
        assert "connection client -> proxy" in doc["verdicts"][0]["evidence"], bad  # type: ignore
    secret = "Zm1jdXNlcjpzM2NyZXQ="                     # fmcuser:s3cret
    ok = CURL_407.replace("> Proxy-Connection: Keep-Alive",
                          f"> Proxy-Authorization: Basic {secret}").replace(
        "407 Proxy Authentication Required", "200 Connection established")
    path.write_text(ok, encoding="utf-8")
    for fmt in ("--json", "--format=simple", "--format=html", "--format=github"):
        proc = analyze(str(path), fmt)
        assert proc.returncode == 0, proc.stderr
        assert secret.encode() not in proc.stdout and b"s3cret" not in proc.stdout


def test_mail_quoted_tcpdump_lines_read_as_the_lines(tmp_path: Path) -> None:
    """Lines quoted in a mail ("> 10:00:00 IP ...") are the lines themselves (as they were
    before curl's marks were taken off: this guards that taking them off keeps it so)."""
    lines = ("10:00:00.000000 IP 198.18.1.2.40000 > 198.18.2.2.3128: Flags [S], seq 1, "
             "win 64240, options [mss 1460], length 0\n"
             "10:00:00.001000 IP 198.18.2.2.3128 > 198.18.1.2.40000: Flags [S.], seq 7, "
             "ack 2, win 65160, options [mss 1300], length 0\n")
    plain, quoted = tmp_path / "plain.txt", tmp_path / "quoted.txt"
    plain.write_text(lines, encoding="utf-8")
    quoted.write_text("".join(f"> {line}\n" for line in lines.splitlines()), encoding="utf-8")
    (_s1, want), (_s2, got) = report(str(plain)), report(str(quoted))
    assert [v["code"] for v in got["verdicts"]] == ["MSS_CLAMPED"]   # type: ignore[index]
    assert got["verdicts"] == want["verdicts"] and got["legs"] == want["legs"]


def _as_ipv6(text: str) -> str:
    """The lab's 198.18.N.M addresses of a tcpdump text as 2001:db8:N::M (ICMP lines dropped:
    they quote IPv4)."""
    v6 = re.sub(r"\b198\.18\.([12])\.([12])\.(\d+)\b", r"2001:db8:\1::\2.\3", text)
    return "".join(line.replace(" IP ", " IP6 ", 1)
                   for line in v6.splitlines(keepends=True) if "ICMP" not in line)


def test_an_ipv6_address_before_a_port_is_in_brackets(tmp_path: Path) -> None:
    """IPv6 ends of a text, everywhere a port follows: the row's target, the connection and
    sender of a verdict's evidence, the --proxy advice of an unnamed proxy port."""
    rst = tmp_path / "rst6.txt"
    rst.write_text(_as_ipv6((TEXT / "rst.tcpdump-n.txt").read_text()))
    _status, doc = report(str(rst))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    assert v["code"] == "RST_ON_LARGE_SEGMENT"
    assert v["evidence"][0] == "connection [2001:db8:1::2]:48716 -> [2001:db8:2::2]:80"
    assert any("from [2001:db8:1::2]:48716" in line for line in v["evidence"]), v
    assert doc["legs"][0]["target"] == "tools.cisco.com:443 via [2001:db8:2::2]:80"  # type: ignore[index]
    mtu = tmp_path / "mtu6.txt"
    mtu.write_text(_as_ipv6((TEXT / "mtu.tcpdump-n.txt").read_text()))
    _status, doc = report(str(mtu))
    assert doc["legs"][0]["target"] == "[2001:db8:2::2]:3128"   # type: ignore[index]
    notes = " ".join(doc["notes"])   # type: ignore[arg-type]
    assert "a connection to [2001:db8:2::2]:3128, a port" in notes
    assert "--proxy [2001:db8:2::2]:3128," in notes
    assert not re.search(r"(?<!\[)2001:db8:[12]::[12]:\d", json.dumps(doc)), doc


def test_named_ipv6_hosts_are_written_as_names(tmp_path: Path) -> None:
    """tcpdump without -n names IPv6 hosts as it names IPv4 ones: the report writes the
    names ('proxy.example.com:80'), not brackets around them as around an address."""
    named = (TEXT / "rst.tcpdump-names.txt").read_text().replace(" IP ", " IP6 ")
    path = tmp_path / "named6.txt"
    path.write_text(named, encoding="utf-8")
    _status, doc = report(str(path))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    assert v["evidence"][0] == "connection fmc.example.com:48716 -> proxy.example.com:80"
    assert doc["legs"][0]["target"] == "tools.cisco.com:443 via proxy.example.com:80"  # type: ignore[index]
    assert not re.search(r"\[(fmc|proxy)\.", json.dumps(doc)), doc


def test_a_too_big_line_nothing_in_the_text_can_have_drawn_is_inferred(tmp_path: Path) -> None:
    """Zeek's icmp6-toobig as 'tcpdump -n' text: one 'packet too big, mtu 1280' line and no
    packet before it. The pcap shows the quoted packet (52 bytes: it fits, proof of
    nothing); the line does not, so the MTU rests on the router's word alone: PMTU_REDUCED
    inferred (was measured). A larger packet to that router's side before it keeps it
    measured (the mtu fixture's forms)."""
    path = tmp_path / "toobig.txt"
    path.write_text("17:37:18.018052 IP6 2001:db8:1::1 > 2001:db8:1::2: ICMP6, packet too big, "
                    "mtu 1280, length 60\n", encoding="utf-8")
    _status, doc = report(str(path))
    (v,) = doc["verdicts"]   # type: ignore[misc]
    assert (v["code"], v["confidence"], v["severity"]) == ("PMTU_REDUCED", "inferred",
                                                           "warning"), v
    _status, doc = report(str(TEXT / "mtu.tcpdump-n.txt"), "--proxy", "198.18.2.2:3128")
    assert [(v["code"], v["confidence"]) for v in doc["verdicts"]] == [   # type: ignore
        ("PMTU_REDUCED", "measured")]


def test_a_connect_with_a_stray_slash_is_read_as_in_a_pcap(tmp_path: Path) -> None:
    """'CONNECT mailin03...:25 / HTTP/1.0' (Zeek's connect-with-smtp: an open proxy answered
    200) is a CONNECT in text as in a pcap."""
    path = tmp_path / "heads.txt"
    path.write_text("CONNECT mx.example:25 / HTTP/1.0\n\nHTTP/1.0 200 Connection established\n\n",
                    encoding="utf-8")
    _status, doc = report(str(path))
    assert [(r["name"], r["target"], r["status"]) for r in doc["legs"]] == [   # type: ignore
        ("fmc-proxy", "mx.example:25 via proxy", 200)]


def test_an_answer_the_client_acknowledged_but_the_text_lacks_is_an_answer(
        tmp_path: Path) -> None:
    """Suricata's bug-2512 as 'tcpdump -n' text: CONNECT, then the client acknowledges 95
    bytes of the proxy's (its 200) that the capture lost, and the tunnel carries data. The
    pcap was healthy (the tunnel's bytes are no HTTP); the text, which holds no payload, said
    CONNECT_NO_RESPONSE, critical. The client's ACK proves an answer came."""
    lines = [
        "13:30:29.475188 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [S], seq 544287662, "
        "win 4380, options [mss 1460,sackOK,eol], length 0",
        "13:30:29.475284 IP 198.18.2.2.8080 > 198.18.1.2.62227: Flags [S.], seq 4164578277, "
        "ack 544287663, win 14600, options [mss 1460,nop,nop,sackOK], length 0",
        "13:30:29.475335 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [.], ack 1, win 4380, "
        "length 0",
        "13:30:29.475352 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [P.], seq 1:248, ack 1, "
        "win 4380, length 247: HTTP: CONNECT upstream.example:443 HTTP/1.0",
        "13:30:29.475390 IP 198.18.2.2.8080 > 198.18.1.2.62227: Flags [.], ack 248, win 15544, "
        "length 0",
        "13:30:29.725765 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [P.], seq 248:396, "
        "ack 96, win 4475, length 148: HTTP",
        "13:30:29.736126 IP 198.18.2.2.8080 > 198.18.1.2.62227: Flags [P.], seq 96:1556, "
        "ack 396, win 16616, length 1460: HTTP",
        "13:30:29.736132 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [.], ack 1556, win 5935, "
        "length 0",
        "13:30:40.000000 IP 198.18.1.2.62227 > 198.18.2.2.8080: Flags [F.], seq 396, ack 1556, "
        "win 5935, length 0",
    ]
    path = tmp_path / "lost-answer.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, doc = report(str(path))
    assert "CONNECT_NO_RESPONSE" not in [v["code"] for v in doc["verdicts"]], doc["verdicts"]  # type: ignore
    assert status == 0
    assert any("acknowledged that the capture never showed" in n
               for n in doc["notes"]), doc["notes"]   # type: ignore[union-attr]


def test_tcpdump_lines_behind_a_radio_header_are_read(tmp_path: Path) -> None:
    """tcpdump on a monitor interface prints the radio header first ("1448501729us tsft
    -74dBm signal ... 5540 MHz 11n ... IP a.1 > b.2: ..."): a TCP line was found behind it,
    but every other line (DNS, pings) was taken for an 802.11 frame without IP (Zeek's
    radiotap.pcap as text: exit 3, "no IP packet"; the pcap: exit 0). The lines tcpdump
    prints for a real radiotap capture now give the pcap's verdicts."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.dot11 import Dot11, RadioTap
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import LLC, SNAP
    from scapy.utils import wrpcap

    def frame(t: float, ip: Any) -> Any:
        f = (RadioTap(present="TSFT+Flags+Rate+Channel+dBm_AntSignal", Rate=12,
                      ChannelFrequency=5540, dBm_AntSignal=-60)
             / Dot11(type=2, addr1="02:00:00:00:00:02", addr2="02:00:00:00:00:01",
                     addr3="02:00:00:00:00:03") / LLC() / SNAP() / ip)
        f.time = 1700000000.0 + t
        return f

    fmc, server = "198.18.1.2", "198.18.4.2"
    frames = [frame(0.0, IP(src=fmc, dst=server) / UDP(sport=5353, dport=53)
                    / DNS(qd=DNSQR(qname="example.com")))]
    for i, (size, answered) in enumerate([(1000, True), (1400, True), (1472, False),
                                          (1472, False), (1000, True)]):
        frames.append(frame(1.0 + i, IP(src=fmc, dst=server, flags="DF") / ICMP(id=3, seq=i)
                            / (b"p" * (size - 28))))
        if answered:
            frames.append(frame(1.01 + i, IP(src=server, dst=fmc) / ICMP(type=0, id=3, seq=i)
                                / (b"p" * (size - 28))))
    pcap = tmp_path / "radio.pcap"
    wrpcap(str(pcap), frames, linktype=127)
    text = tmp_path / "radio.txt"
    out = subprocess.run(["tcpdump", "-n", "-r", str(pcap)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert " MHz " in out and "tsft" in out, out      # the form this test is about
    text.write_text(out)
    _s, from_pcap = report(str(pcap))
    _s, from_text = report(str(text))
    verdicts = cast(list[dict[str, Any]], from_text["verdicts"])
    assert [(v["code"], v["pmtu_low"], v["pmtu_high"]) for v in verdicts] == [
        (v["code"], v["pmtu_low"], v["pmtu_high"])
        for v in cast(list[dict[str, Any]], from_pcap["verdicts"])] == [
        ("PMTU_BLACKHOLE", 1400, 1471)]
    assert "9 IP packets, no TCP connection in the capture" in cast(list[str],
                                                                     from_text["notes"])


@pytest.mark.parametrize(("line", "kind"), [
    ("15:48:50.134967 IP bad-len 4", NonTcp.NOT_IP),
    ("15:48:50.134967 IP bad-len 0", NonTcp.OFFLOADED),   # (before TSO: test_capture_packetnet)
    ("16:01:35.895421 IP  [|ip]", NonTcp.NOT_IP),
    ("21:05:35.834163 IP  [remaining caplen(20) < header length(60)]", NonTcp.NOT_IP),
    ("09:36:35.017573 IP6 version error: 5 != 6", NonTcp.NOT_IP),
    ("09:36:35.817573 IP truncated-ip - 82 bytes missing! 1.127.0.0 > 6.3.0.0: ip-proto-17",
     NonTcp.IP),
    ("13:46:40.000000 IP truncated-sctp - 8 bytes missing!", NonTcp.IP),
    ("17:21:26.981015  [|ether]", NonTcp.NOT_IP),
    ("14:57:21.519125  [|ip6]", NonTcp.NOT_IP),
    ("\t[|tcp]", None),        # (the end of a -v block's line: no packet of its own)
])
def test_ip_headers_tcpdump_could_not_read(line: str, kind: NonTcp | None) -> None:
    """tcpdump's lines for a malformed or cut IP header (Zeek's trunc/ and quic test traces
    as text) were no tcpdump line at all: a text of them was 'not a capture' (exit 2), the
    pcap 'no IP packet' (exit 3). An unreadable header is no IP packet; one cut short whose
    addresses tcpdump read is an IP packet."""
    assert tcpdump_line(line, 1) is kind


def test_a_text_of_unreadable_ip_headers_says_so(tmp_path: Path) -> None:
    path = tmp_path / "trunc.txt"
    path.write_text("16:01:35.895421 IP  [|ip]\n15:48:50.134967 IP bad-len 4\n")
    proc = analyze(str(path))
    assert proc.returncode == 3 and proc.stderr.count(b"\n") == 1, proc.stderr
    assert b"no IP packet in 2 packet lines of text" in proc.stderr
    assert b"IP headers tcpdump could not read" in proc.stderr


@pytest.mark.parametrize("flag", ["-n", "-S"])
def test_a_small_initial_sequence_number_is_no_retransmission(tmp_path: Path, flag: str) -> None:
    """A connection whose ISNs are below 65536 (crafted traces, test tools): tcpdump prints
    the SYN's number and then numbers relative to it, and every relative number was read
    as absolute (the base was 'too small to tell'): the server's data 'retransmitted'.
    The first number after the SYN now decides for the whole side, as tcpdump -S (all
    absolute) or not prints them; text and pcap agree."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    fmc, server = "198.18.1.2", "198.18.4.2"
    frames: list[Any] = []

    def add(up: bool, flags: str, seq: int, ack: int, data: bytes = b"") -> None:
        src, dst, sport, dport = (fmc, server, 40000, 443) if up else (server, fmc, 443, 40000)
        f = Ether() / IP(src=src, dst=dst) / TCP(
            sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
            options=[("MSS", 1460)] if "S" in flags else []) / data
        f.time = 1700000000.0 + len(frames) * 0.01
        frames.append(f)

    add(True, "S", 1000, 0)
    add(False, "SA", 2000, 1001)
    add(True, "A", 1001, 2001)
    add(True, "PA", 1001, 2001, b"x" * 1448)
    add(True, "PA", 2449, 2001, b"x" * 1448)
    add(False, "A", 2001, 3897)
    add(False, "PA", 2001, 3897, b"y" * 1448)
    add(False, "PA", 3449, 3897, b"y" * 1448)
    add(True, "A", 3897, 4897)
    add(True, "FA", 3897, 4897)
    add(False, "FA", 4897, 3898)
    add(True, "A", 3898, 4898)
    pcap = tmp_path / "isn.pcap"
    wrpcap(str(pcap), frames)
    text = tmp_path / "isn.txt"
    text.write_text(subprocess.run(["tcpdump", flag, "-n", "-r", str(pcap)], capture_output=True,
                                   text=True, check=True, timeout=60).stdout)
    _s, from_pcap = report(str(pcap))
    _s, from_text = report(str(text))
    legs = [cast(list[dict[str, Any]], doc["legs"])[0] for doc in (from_pcap, from_text)]
    assert legs[1]["notes"] == [n.replace("frames", "lines") for n in legs[0]["notes"]], legs
    assert not any("retransmission" in n for n in legs[1]["notes"])


def test_a_v_header_wrapped_over_two_lines_is_one_header() -> None:
    """tcpdump -v's IP header, wrapped after a comma where a web page or mail broke the long
    line ("... flags [DF],\\nproto ICMP (1), length 84)"): its time and DF flag were lost
    (the packet 'carried no time', its DF 'not shown')."""
    text = parse_text([
        "22:11:33.106964 IP (tos 0x0, ttl 56, id 59410, offset 0, flags [DF],",
        "proto ICMP (1), length 84)",
        "198.18.1.2 > 198.18.4.2: ICMP echo request, id 32123, seq 1, length 64",
        "22:11:33.106973 IP (tos 0x0, ttl 64, id 2757, offset 0, flags [none],",
        "proto ICMP (1), length 84)",
        "198.18.4.2 > 198.18.1.2: ICMP echo reply, id 32123, seq 1, length 64",
        "a sentence that ends with a comma,",
        "(and goes on)"])
    assert [(p.line, p.ts, p.df, p.ip_len) for p in text.packets] == [
        (3, 79893.106964, True, 84), (6, 79893.106973, False, 84)]
    assert text.unparsed == 2


@pytest.mark.parametrize("flags", [["-n", "-v"], ["-n", "-e", "-v"], ["-n", "-v", "-v"]])
def test_tcpdump_v_on_any_interface_keeps_every_time(tmp_path: Path, flags: list[str]) -> None:
    """'tcpdump -i any -v' (how captures are taken on an FMC) prints the interface and the
    direction before -v's IP header ("09:21:11.661568 ifb0  Out IP (tos 0x0, ...)"): that
    line was not read as the header, so all 38 packets 'carried no time' and their headers
    counted as skipped lines."""
    cap = TEXT.parent / "captures" / "healthy-sll2.pcap"
    text = tmp_path / "any.txt"
    text.write_text(subprocess.run(["tcpdump", *flags, "-r", str(cap)], capture_output=True,
                                   text=True, check=True, timeout=60).stdout)
    proxy = ("--proxy", "198.18.2.2:3128")   # tcpdump does not decode HTTP on 3128
    _s, from_pcap = report(str(cap), *proxy)
    _s, from_text = report(str(text), *proxy)
    pcap_verdicts, pcap_legs = summary(from_pcap, False)
    text_verdicts, text_legs = summary(from_text, False)
    assert text_verdicts == pcap_verdicts      # (the rows: no HTTP status in text on 3128)
    assert [row[2:] for row in text_legs] == [row[2:] for row in pcap_legs]  # type: ignore
    notes = " | ".join(cast(list[str], from_text["notes"]))
    assert "carry no time" not in notes and "were skipped" not in notes, notes


def test_vxlan_inner_frames_on_the_next_line_are_one_packet(tmp_path: Path) -> None:
    """tcpdump prints a VXLAN packet's inner frame on the line after the outer one, without
    a time ("... > b.4789: VXLAN, flags [I] (0x08), vni 123" / "IP c.1 > d.2: Flags [S],
    ..."): each was two packets, and every inner one 'carried no time' (Zeek's
    tunnels/vxlan.pcap as text: 20 packets for its 10 frames)."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.layers.vxlan import VXLAN
    from scapy.utils import wrpcap

    def wrap(t: float, inner: Any) -> Any:
        f = (Ether() / IP(src="198.18.9.1", dst="198.18.9.2") / UDP(sport=40000, dport=4789)
             / VXLAN(vni=123) / Ether() / inner)
        f.time = 1700000000.0 + t
        return f

    fmc, server = "198.18.1.2", "198.18.4.2"
    frames = [wrap(0.0, ARP(psrc=fmc, pdst=server)),
              wrap(0.1, IP(src=fmc, dst=server) / TCP(sport=40000, dport=443, flags="S",
                                                      seq=1000, options=[("MSS", 1460)])),
              wrap(0.2, IP(src=server, dst=fmc) / TCP(sport=443, dport=40000, flags="SA",
                                                      seq=5000, ack=1001,
                                                      options=[("MSS", 1360)])),
              wrap(0.3, IP(src=fmc, dst=server) / TCP(sport=40000, dport=443, flags="A",
                                                      seq=1001, ack=5001))]
    pcap = tmp_path / "vxlan.pcap"
    wrpcap(str(pcap), frames)
    out = subprocess.run(["tcpdump", "-n", "-r", str(pcap)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "VXLAN" in out and len(out.splitlines()) == 8, out   # (the form this is about)
    text = tmp_path / "vxlan.txt"
    text.write_text(out)
    _s, from_pcap = report(str(pcap))
    _s, from_text = report(str(text))
    assert summary(from_text, False) == summary(from_pcap, False)
    notes = " | ".join(cast(list[str], from_text["notes"]))
    assert "vxlan.txt: text (tcpdump), 4 packets on 8 lines" in notes, notes
    assert "carry no time" not in notes, notes


def test_a_parse_asked_to_stop_keeps_the_packets_of_the_lines_before() -> None:
    """``keep_going`` is asked every CHECK_EVERY lines; False ends the parse there (Ctrl-C
    on a long text): the packets of the lines before are kept, none after."""
    from pathprobe.capture.text import CHECK_EVERY, parse_text

    lines = [f"12:00:{i // 1000:02d}.{i % 1000:03d}000 IP 198.18.1.2.{40000 + i % 20000} > "
             f"198.18.2.2.3128: Flags [S], seq {i}, win 64240, length 0"
             for i in range(3 * CHECK_EVERY)]
    asked: list[tuple[int, int]] = []

    def keep_going(line: int, total: int) -> bool:
        asked.append((line, total))
        return line < 2 * CHECK_EVERY

    parsed = parse_text(lines, keep_going)
    assert asked == [(0, len(lines)), (CHECK_EVERY, len(lines)), (2 * CHECK_EVERY, len(lines))]
    assert parsed.stopped_at == 2 * CHECK_EVERY + 1
    assert [p.line for p in parsed.packets] == list(range(1, 2 * CHECK_EVERY + 1))
    whole = parse_text(lines)
    assert whole.stopped_at is None and len(whole.packets) == len(lines)
