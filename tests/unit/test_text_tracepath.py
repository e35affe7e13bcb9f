"""tracepath's output pasted as text, and the probes of a tracepath capture (issue 20 items
5 and 6). The fixtures of tests/fixtures/text/tracepath/ without 'hand-' are real: iputils
tracepath 20221126 from the lab's fmc to the proxy or the upstream, across r1's 1400-byte
link ('mtu'), with frag-needed filtered ('mtu-noicmp') and without ('healthy'), captured
on the fmc while it ran; the output is what the terminal showed (twice in a row where the
text has two runs: the second starts at the MTU the kernel learned). The 'hand-' ones are
written in older tracepath's formats. Through the real CLI, the capture and the text give
the same verdict."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture.icmp import IcmpLog
from pathprobe.capture.text import parse_text
from pathprobe.capture.textpacket import IcmpKind, TextForm, TextPacket
from pathprobe.capture.texttrace import (
    DEST_UNSHOWN,
    FIRST_PROBE,
    TRACER,
    TraceOutput,
    _arguments,
    trace_notes,
)
from pathprobe.wire.headers import parse_icmp_error, parse_ip
from tests.conftest import cli_env
from tests.unit.test_text_pings import analyze, only_verdict

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "text" / "tracepath"


def verdict(doc: dict[str, Any]) -> tuple[Any, ...]:
    v = only_verdict(doc)
    return (v["code"], v["confidence"], v.get("mtu"), v.get("pmtu_low"), v.get("pmtu_high"),
            v.get("router"))


def facts(doc: dict[str, Any]) -> list[str]:
    return [f["fact"] for v in doc["verdicts"] for f in v["facts"]]


# capture -> (exit status, its verdict)
EXPECTED = {
    "mtu-up": (0, ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.1.1")),
    "mtu6-px": (0, ("PMTU_REDUCED", "measured", 1400, None, None, "2001:db8:1::1")),
    "healthy-up": (0, ("HEALTHY", "inferred", None, None, None, None)),
    "healthy6-px": (0, ("HEALTHY", "inferred", None, None, None, None)),
    # frag-needed filtered: no reply past r1, which a size black hole and silent routers
    # both explain; tracepath tried one size, so no size verdict
    "mtu-noicmp-up": (0, ("HEALTHY", "inferred", None, None, None, None)),
    "mtu-noicmp6-px": (0, ("HEALTHY", "inferred", None, None, None, None)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("form", ["pcap", "txt"])
def test_tracepath_as_captured_and_as_pasted_gives_one_verdict(name: str, form: str) -> None:
    """The text was 'not a capture' (exit 2) before; the capture of a path with a 1400-byte
    link said 'at most 1400' though a 1400-byte probe reached the destination."""
    status, doc = analyze(TRACES / f"{name}.{form}")
    assert (status, verdict(doc)) == EXPECTED[name], doc["verdicts"]
    if form == "txt":
        assert "tracepath output" in doc["notes"][0]


# tcpdump's lines and tshark's rows of the same captures: -v shows IPv4's DF flag and
# ICMPv4's quotes; without it a port unreachable names the probe's destination and port, and
# an IPv4 probe's DF is unknown (its size proves nothing); IPv6 is never fragmented on the
# way. A row shows no MTU: below the probe the frag-needed answered, inferred
TCPDUMP = {
    "mtu-up.tcpdump-v.txt": ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.1.1"),
    "mtu-up.tcpdump-n.txt": ("PMTU_REDUCED", "measured", None, None, 1400, "198.18.1.1"),
    "mtu6-px.tcpdump-n.txt": ("PMTU_REDUCED", "measured", 1400, None, None, "2001:db8:1::1"),
    "healthy-up.tcpdump-v.txt": ("HEALTHY", "inferred", None, None, None, None),
    "healthy-up.tcpdump-n.txt": ("HEALTHY", "inferred", None, None, None, None),
    "mtu-up.tshark.txt": ("PMTU_REDUCED", "inferred", None, None, 1499, "198.18.1.1"),
    "mtu6-px.tshark.txt": ("PMTU_REDUCED", "inferred", None, 1400, 1499, "2001:db8:1::1"),
    "healthy-up.tshark.txt": ("HEALTHY", "inferred", None, None, None, None),
    # tshark -V shows all a pcap does: the same verdicts
    "mtu-up.tshark-V.txt.gz": ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.1.1"),
    "mtu6-px.tshark-V.txt.gz": ("PMTU_REDUCED", "measured", 1400, None, None, "2001:db8:1::1"),
    "healthy-up.tshark-V.txt.gz": ("HEALTHY", "inferred", None, None, None, None),
}


@pytest.mark.parametrize("name", sorted(TCPDUMP))
def test_the_probes_as_tcpdump_and_tshark_print_them(name: str) -> None:
    """tcpdump's UDP lines were 'other protocols' and its port unreachable and TTL exceeded
    lines unread: the -v form said 'at most 1400', without -v the frag-needed's quote was
    unknown (inferred); tshark's rows gave HEALTHY, its -V detail 'at most 1400' (inferred)
    and 1125 lines of the frames' bytes skipped."""
    _s, doc = analyze(TRACES / name)
    assert verdict(doc) == TCPDUMP[name], doc["verdicts"]
    notes = " ".join(doc["notes"])
    reached = "1500-byte DF probe (UDP) reached 198.18.4.2" in notes
    unshown = "UDP probe(s) reached their destination" in notes
    assert (reached, unshown) == {"healthy-up.tcpdump-v.txt": (True, False),
                                  "healthy-up.tshark-V.txt.gz": (True, False),
                                  "healthy-up.tcpdump-n.txt": (False, True),
                                  "healthy-up.tshark.txt": (False, True),
                                  "mtu-up.tshark.txt": (False, True),
                                  "mtu-up.tcpdump-n.txt": (False, True)}.get(name,
                                                                             (False, False))
    assert "were skipped" not in notes       # (-i any's multicast lines are IP packets)


def test_what_text_cannot_show_of_tcp_is_not_said_of_probes() -> None:
    """A text of pings and probes got the notes on TCP payloads and retransmissions; a DNS
    query's port unreachable is no probe whose DF matters."""
    _s, doc = analyze(TRACES / "mtu-up.txt")
    assert not any("payload bytes" in n or "retransmissions" in n for n in doc["notes"])
    parse = parse_text(["IP 198.18.1.2.5353 > 198.18.4.2.53: UDP, length 33",
                        "IP 198.18.4.2 > 198.18.1.2: ICMP 198.18.4.2 udp port 53 unreachable, "
                        "length 97"])
    assert [p.icmp_kind for p in parse.packets] == [None, IcmpKind.PORT_UNREACHABLE]
    assert trace_notes(parse) == []


def test_a_probe_the_destination_answered_makes_the_mtu_exact() -> None:
    """The probe at the MTU a router named reached the destination: its port unreachable
    quotes it whole, which proves that size crosses."""
    _s, doc = analyze(TRACES / "mtu-up.pcap")
    assert "probe-reached" in facts(doc)
    _s, doc = analyze(TRACES / "healthy-up.pcap")        # (no verdict rests on it: a note)
    assert any("a 1500-byte DF probe (UDP) reached 198.18.4.2" in n for n in doc["notes"])


def test_the_mtu_the_tracing_host_knew_is_its_own() -> None:
    """A second run starts at the MTU the kernel learned ('[LOCALHOST] pmtu 1400') and no
    router speaks: the host's own route is the bound, and the probe that reached makes it
    exact. So does an interface below Ethernet's 1500 (PPPoE's 1492, hand-written)."""
    for name, mtu in (("mtu-up-cached.txt", 1400), ("hand-pppoe.txt", 1492)):
        status, doc = analyze(TRACES / name)
        assert (status, verdict(doc)) == (0, ("PMTU_REDUCED", "measured", mtu, None, None,
                                              TRACER)), name
        assert "text-trace-local-mtu" in facts(doc) and "icmp-quotes" not in facts(doc)


def test_older_formats_and_names_only() -> None:
    """Before [LOCALHOST], the kernel's refusal of the first probe showed an address; it is
    no router's message. Without -n and -b only names show: they stand for addresses."""
    _s, doc = analyze(TRACES / "hand-old-format.txt")
    assert verdict(doc) == ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.2.2")
    assert "198.18.1.2" not in str(doc["verdicts"])
    status, doc = analyze(TRACES / "hand-names.txt")
    assert (status, verdict(doc)[0]) == (0, "HEALTHY")
    reached = "1500-byte DF probe (UDP) reached upstream.pathprobe.test"
    assert any(reached in n for n in doc["notes"])


def test_no_reply_to_the_end_names_what_remains() -> None:
    _s, doc = analyze(TRACES / "mtu-noicmp-up.txt")
    (note,) = [n for n in doc["notes"] if "nothing answered the" in n]
    assert "line 5: from hop 2 on" in note and "1500-byte" in note and "5 hops" in note
    assert "ping -M do" in note


def test_a_run_without_a_hop_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Only the host's own MTU: it was 'not a capture: no ... tracepath lines'."""
    paste = tmp_path / "paste.txt"
    paste.write_text("$ tracepath -n 198.18.4.2\n 1?: [LOCALHOST]      pmtu 1500\n")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(paste)],
                          capture_output=True, text=True, env=cli_env(), check=False, timeout=60)
    assert proc.returncode == 2 and not proc.stdout, proc
    assert proc.stderr.count("\n") == 1
    assert "tracepath or traceroute output without a hop" in proc.stderr


def test_lines_like_hops_are_no_tracepath_without_its_start() -> None:
    """'1: lo: <LOOPBACK,UP>' (ip addr) is no hop: a run starts at tracepath's command line,
    [LOCALHOST] or a first hop that names an MTU."""
    parse = parse_text(["1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue",
                        " 2:  198.18.1.1    0.083ms", " 3:  no reply"])
    assert not parse.packets and parse.unparsed == 3


# --- line vectors ------------------------------------------------------------------------

class Reader(Protocol):
    def feed(self, line: str, lineno: int) -> list[TextPacket] | None: ...

    def close(self) -> list[TextPacket]: ...


def read_lines(reader: Reader, lines: list[str]) -> list[TextPacket]:
    """The packets a trace program's reader makes of ``lines``, each of which it must read."""
    out = []
    for n, line in enumerate(lines, 1):
        got = reader.feed(line, n)
        assert got is not None, line
        out += got
    return out + reader.close()


def run(lines: list[str]) -> list[TextPacket]:
    return read_lines(TraceOutput(), lines)


def test_each_hop_becomes_its_probe_and_answer() -> None:
    packets = run(["$ tracepath -n -l 1500 -p 33434 198.18.4.2",
                   " 1:  198.18.1.1          0.048ms asymm  2",
                   " 2:  198.18.1.1          0.007ms pmtu 1400",
                   " 3:  198.18.3.1          !H",
                   " 3:  send failed",
                   " 3:  no reply",
                   " 4:  198.18.4.2          0.014ms reached",
                   "     Resume: pmtu 1400 hops 4 back 4 "])
    shown = [(p.line, p.src, p.dst, p.udp, p.ip_len, p.icmp_mtu, p.icmp_kind) for p in packets]
    assert shown == [
        (2, TRACER, "198.18.4.2", True, 1500, None, None),
        (2, "198.18.1.1", TRACER, False, None, None, IcmpKind.TTL_EXCEEDED),
        (3, TRACER, "198.18.4.2", True, 1500, None, None),
        (3, "198.18.1.1", TRACER, False, None, 1400, None),
        (6, TRACER, "198.18.4.2", True, 1400, None, None),
        (7, TRACER, "198.18.4.2", True, 1400, None, None),
        (7, "198.18.4.2", TRACER, False, None, None, IcmpKind.PORT_UNREACHABLE)]
    assert all(p.form is TextForm.TRACEPATH and (p.udp or p.quoted.udp) for p in packets)


def test_the_destination_is_what_reached_else_the_command_else_a_stand_in() -> None:
    assert run(["tracepath host.example", " 1?: [LOCALHOST]  pmtu 1500",
                " 1:  r (198.18.1.1)  1.0ms", " 2:  host.example (198.18.4.2)  2.0ms reached"]
               )[0].dst == "198.18.4.2"
    assert run(["tracepath host.example", " 1:  198.18.1.1  1.0ms"])[0].dst == "host.example"
    assert run([" 1?: [LOCALHOST]  pmtu 1500", " 1:  198.18.1.1  1.0ms"])[0].dst == DEST_UNSHOWN


@pytest.mark.parametrize(("args", "want"), [
    ("-n 198.18.4.2", ("198.18.4.2", None, False)),
    ("-6 -l 1400 -m 6 h", ("h", 1400, True)),
    ("-nl1400 h", ("h", 1400, False)),
    ("-m6 h", ("h", None, False)),            # (-m's value, not -6)
    ("-b -p 33434 h", ("h", None, False)),
    ("-l 99999 h", ("h", None, False)),        # (no size a packet can have)
    ("", (None, None, False)),
])
def test_arguments(args: str, want: tuple[Any, ...]) -> None:
    assert _arguments(args.split(), False) == want
    assert _arguments([], True) == (None, None, True)      # tracepath6
    assert FIRST_PROBE == 0xFFFF


def _unreachable(src: bytes, dst: bytes, router: bytes, frag: int, code: int = 3,
                 size: int = 1400) -> bytes:
    quote = struct.pack("!BBHHHBBH4s4sHHHH", 0x45, 0, size, 0, frag, 1, 17, 0, src, dst,
                        40000, 44444, size - 20, 0)
    icmp = struct.pack("!BBHI", 3, code, 0, 0) + quote
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, router,
                       src) + icmp


@pytest.mark.parametrize(("router", "frag", "code", "size", "reached"), [
    (b"\xc6\x12\x04\x02", 0x4000, 3, 1400, True),   # the destination itself, DF: it got there
    (b"\xc6\x12\x01\x01", 0x4000, 3, 1400, False),  # a router's port unreachable: not there
    (b"\xc6\x12\x04\x02", 0x0000, 3, 1400, False),  # not DF: it may have crossed in fragments
    (b"\xc6\x12\x04\x02", 0x4000, 1, 1400, False),  # host unreachable: not there
    (b"\xc6\x12\x04\x02", 0x4000, 3, 576, False),   # every path carries that (a DNS query)
])
def test_only_the_destinations_port_unreachable_of_a_df_probe_proves_its_size(
        router: bytes, frag: int, code: int, size: int, reached: bool) -> None:
    data = _unreachable(b"\xc6\x12\x01\x02", b"\xc6\x12\x04\x02", router, frag, code, size)
    ip = parse_ip(data)
    assert ip is not None
    err = parse_icmp_error(data[20:], 4)
    assert err is not None
    log = IcmpLog()
    log.error(7, ip, err)
    got = log.reached.get((4, "198.18.1.2", "198.18.4.2"))
    assert (got is not None and (got.frame, got.size, got.proto) == (7, size, 17)) == reached


def mixes(folder: Path) -> st.SearchStrategy[list[str]]:
    """Lists of a folder's fixture lines, some cut with junk, and junk."""
    lines = [ln for p in sorted(folder.glob("*.txt")) for ln in p.read_text().splitlines()]
    return st.lists(st.one_of(st.sampled_from(lines), st.text(max_size=40),
                              st.tuples(st.sampled_from(lines), st.integers(0, 80),
                                        st.text(max_size=6)).map(
                                  lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:])), max_size=30)


def assert_probes_sized(lines: list[str], form: TextForm) -> None:
    """Every probe (and -I's echo reply) has a size a packet can have, and every ICMP error
    quotes its probe."""
    for p in parse_text(lines).packets:
        if p.form is form:
            probe = p if p.udp or p.echo is not None else p.quoted
            assert probe is not None and probe.ip_len is not None
            assert 0 < probe.ip_len <= 0xFFFF


@settings(max_examples=300, deadline=None)
@given(mixes(TRACES))
def test_any_mix_of_lines_reads_without_error(lines: list[str]) -> None:
    assert_probes_sized(lines, TextForm.TRACEPATH)
