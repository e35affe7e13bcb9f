"""Linux traceroute's output pasted as text (issue 20 items 5 and 6): its UDP probes and
the answers each hop line shows, judged as a capture of the same run. The fixtures of
tests/fixtures/text/traceroute/ without 'hand-' are real: traceroute 2.1.2 in the lab from
the fmc to the upstream across r1's 1400-byte link ('mtu'), with frag-needed filtered
('mtu-noicmp') and without the link ('healthy'), as -n, -F with 1500-byte packets, and
--mtu; each with the capture taken on the fmc while it ran. 'hand-' ones follow public
pastes' formats with the lab's addresses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from pathprobe.capture.textpacket import IcmpKind, TextForm, TextPacket
from pathprobe.capture.textping import ROUTER_UNSHOWN
from pathprobe.capture.textroute import RouteOutput, _arguments, _Command, _probes
from pathprobe.capture.texttrace import TRACER, Probe
from tests.conftest import cli_env
from tests.unit.test_text_pings import analyze
from tests.unit.test_text_tracepath import assert_probes_sized, facts, mixes, read_lines, verdict

ROUTES = Path(__file__).resolve().parents[1] / "fixtures" / "text" / "traceroute"


# run -> (the capture's verdict, the text's router where the output cannot name it)
EXPECTED = {
    # -F with 1500-byte packets: r1's frag-needed, '!F-1400'; traceroute gives up there
    "mtu-F1500": ("PMTU_REDUCED", "measured", None, None, 1400, "198.18.1.1"),
    "mtu6-F1500": ("PMTU_REDUCED", "measured", None, None, 1400, "2001:db8:1::1"),
    # --mtu: F=1400 at hop 2, then the upstream answered 1400 bytes: exact
    "mtu-mtu": ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.1.1"),
    "mtu6-mtu": ("PMTU_REDUCED", "measured", 1400, None, None, "2001:db8:1::1"),
    # frag-needed filtered: nothing past r1 answers 1500 bytes; one size, no size verdict
    "mtu-noicmp-F1500": ("HEALTHY", "inferred", None, None, None, None),
    "healthy-F1500": ("HEALTHY", "inferred", None, None, None, None),
    "healthy6-mtu": ("HEALTHY", "inferred", None, None, None, None),
    # 60-byte probes without DF: nothing about size
    "mtu-dflt": ("HEALTHY", "inferred", None, None, None, None),
    # -I: the probes are pings, answered by echo replies (-F 1500; --mtu; IPv6)
    "mtu-I-F": ("PMTU_REDUCED", "measured", None, None, 1400, "198.18.1.1"),
    "mtu-I-mtu": ("PMTU_REDUCED", "measured", 1400, None, None, "198.18.1.1"),
    "mtu6-I": ("PMTU_REDUCED", "measured", None, None, 1400, "2001:db8:1::1"),
    "healthy-I-F": ("HEALTHY", "inferred", None, None, None, None),
    # BusyBox 1.35's traceroute (-F ... 1500), which prints as Linux's does
    "busybox-mtu-F": ("PMTU_REDUCED", "measured", None, None, 1400, "198.18.1.1"),
    "busybox-healthy-F": ("HEALTHY", "inferred", None, None, None, None),
    "busybox-healthy6-F": ("HEALTHY", "inferred", None, None, None, None),
    "busybox-mtu-noicmp-F": ("HEALTHY", "inferred", None, None, None, None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("form", ["pcap", "txt"])
def test_traceroute_as_captured_and_as_pasted_gives_one_verdict(name: str, form: str) -> None:
    """The text was 'not a capture' (exit 2) before. --mtu's output does not name the
    router whose frag-needed lowered the size: 'a router (not shown)'."""
    status, doc = analyze(ROUTES / f"{name}.{form}")
    want = EXPECTED[name]
    if form == "txt" and name.endswith("-mtu") and want[0] == "PMTU_REDUCED":
        want = (*want[:5], ROUTER_UNSHOWN)
    assert (status, verdict(doc)) == (0, want), doc["verdicts"]


@pytest.mark.parametrize("name", ["healthy-I-F", "mtu-I-mtu"])
def test_minus_i_probes_are_pings_answered_as_in_the_capture(name: str) -> None:
    """traceroute -I sends pings: the destination's echo replies prove their size, as the
    capture of the run says; they were 'DF probes (UDP)' answered by a port unreachable
    that never came."""
    notes = {form: [n for n in analyze(ROUTES / f"{name}.{form}")[1]["notes"]
                    if "answered" in n or "reached" in n] for form in ("txt", "pcap")}
    size = 1500 if name.startswith("healthy") else 1400
    assert any(f"DF ping(s) to 198.18.4.2 answered, up to {size} bytes" in n
               for n in notes["txt"]), notes
    assert any(f"answered, up to {size} bytes" in n for n in notes["pcap"]), notes
    assert not any("UDP" in n or "port-unreachable" in n for n in notes["txt"]), notes
    if name == "mtu-I-mtu":
        doc = analyze(ROUTES / f"{name}.txt")[1]
        assert "ping-at-mtu-answered" in facts(doc) and "probe-reached" not in facts(doc)
        quotes = [e for v in doc["verdicts"] for e in v["evidence"] if "quotes the" in e]
        assert quotes and all("quotes the ICMP packet" in e for e in quotes), quotes


@pytest.mark.parametrize("form", ["tcpdump-v.txt", "tshark-V.txt.gz"])
def test_a_minus_i_capture_as_text_quotes_its_pings_in_the_ttl_exceeded(form: str) -> None:
    """tcpdump -v's and tshark -V's text of the -I run: each TTL exceeded quotes a ping,
    and is read as the pcap reads it (8 hops); they were left out (0)."""
    def ttl_notes(doc: dict[str, Any]) -> list[str]:
        return [n for n in doc["notes"] if "TTL exceeded at" in n]

    _s, pcap = analyze(ROUTES / "mtu-I-mtu.pcap")
    status, text = analyze(ROUTES / f"mtu-I-mtu.{form}")
    assert (status, verdict(text)) == (0, verdict(pcap))
    assert len(ttl_notes(text)) == len(ttl_notes(pcap)) == 8
    assert "ping-at-mtu-answered" in facts(text)


def test_minus_t_sends_60_bytes_whatever_the_command_line_asked() -> None:
    """'traceroute -T ... 1500' sends 60-byte SYNs (its header says so): the destination's
    answer proves no size. The command line's 1500 made 'a 1500-byte DF probe (UDP)
    reached 198.18.4.2 ... (proven lower bound)', a size never sent."""
    status, doc = analyze(ROUTES / "mtu-T-F-p.txt")
    assert (status, verdict(doc)) == (0, ("HEALTHY", "inferred", None, None, None, None))
    assert not any("reached" in n or "1500" in n for n in doc["notes"]), doc["notes"]
    assert "probe-reached" not in facts(doc)
    assert any("TTL exceeded at 198.18.3.1" in n for n in doc["notes"])


def test_busybox_over_ipv6_prints_no_packet_too_big_so_its_text_proves_no_size() -> None:
    """BusyBox's traceroute -6 shows '*' where r1's Packet Too Big came (the capture of the
    run has it, MTU 1400): its text says only that nothing answered from hop 2 on, which
    a silent black hole and silent routers share; no size verdict is made up."""
    assert verdict(analyze(ROUTES / "busybox-mtu6-F.pcap")[1])[:5] == (
        "PMTU_REDUCED", "measured", None, None, 1400)
    status, doc = analyze(ROUTES / "busybox-mtu6-F.txt")
    assert (status, verdict(doc)) == (0, ("HEALTHY", "inferred", None, None, None, None))
    (note,) = [n for n in doc["notes"] if "nothing answered" in n]
    assert "from hop 2 on" in note and "1500-byte DF probes of traceroute" in note


def test_no_answer_to_the_end_names_what_remains() -> None:
    _s, doc = analyze(ROUTES / "mtu-noicmp-F1500.txt")
    (note,) = [n for n in doc["notes"] if "nothing answered" in n]
    assert "from hop 2 on" in note and "1500-byte DF probes of traceroute (5 hops)" in note


def test_mtu_changes_make_the_path_mtu_exact_where_the_destination_answered() -> None:
    """--mtu across links of 1370 and 1350 bytes (a public paste's numbers): each F= below
    the last size is a frag-needed from a router the output does not name; the probe of
    1350 bytes reached the destination, so the path MTU is 1350. It was 'not a capture'."""
    status, doc = analyze(ROUTES / "hand-mtu-two-links.txt")
    assert (status, verdict(doc)) == (0, ("PMTU_REDUCED", "measured", 1350, None, None,
                                          ROUTER_UNSHOWN))
    assert facts(doc).count("text-trace-mtu-change") == 2 and "probe-reached" in facts(doc)
    assert "traceroute output" in doc["notes"][0]


# --- line vectors ------------------------------------------------------------------------

def run(lines: list[str]) -> list[TextPacket]:
    return read_lines(RouteOutput(), lines)


def test_each_probe_becomes_a_probe_and_its_answer() -> None:
    packets = run(["$ traceroute -n -F -q 2 198.18.4.2 1500",
                   "traceroute to 198.18.4.2 (198.18.4.2), 30 hops max, 1500 byte packets",
                   " 1  198.18.1.1  0.052 ms  0.011 ms",
                   " 2  198.18.1.1  0.040 ms !F-1400  *",
                   " 3  * 198.18.3.1  0.036 ms !H",
                   " 4  198.18.4.2  0.042 ms  198.18.4.9  0.030 ms"])
    shown = [(p.line, p.src, p.udp, p.ip_len, p.df, p.icmp_mtu, p.icmp_kind) for p in packets]
    assert shown == [
        (3, TRACER, True, 1500, True, None, None),
        (3, "198.18.1.1", False, None, None, None, IcmpKind.TTL_EXCEEDED),
        (3, TRACER, True, 1500, True, None, None),
        (3, "198.18.1.1", False, None, None, None, IcmpKind.TTL_EXCEEDED),
        (4, TRACER, True, 1500, True, None, None),
        (4, "198.18.1.1", False, None, None, 1400, None),
        (4, TRACER, True, 1500, True, None, None),
        (5, TRACER, True, 1500, True, None, None),
        (6, TRACER, True, 1500, True, None, None),
        (6, "198.18.4.2", False, None, None, None, IcmpKind.PORT_UNREACHABLE),
        (6, TRACER, True, 1500, True, None, None),
        (6, "198.18.4.9", False, None, None, None, IcmpKind.TTL_EXCEEDED)]
    assert all(p.form is TextForm.TRACEROUTE for p in packets)


def test_without_minus_f_an_ipv4_probe_is_not_df() -> None:
    """traceroute sets DF only with -F or --mtu: its 60-byte probes prove nothing, and a
    paste without the command line does not say (None)."""
    for command, df in (("$ traceroute -n 198.18.4.2", False), ("", None)):
        packets = run([*([command] if command else []),
                       "traceroute to 198.18.4.2 (198.18.4.2), 30 hops max, 60 byte packets",
                       " 1  198.18.4.2  0.042 ms"])
        assert [(p.ip_len, p.df) for p in packets if p.udp] == [(60, df)]


def test_a_header_sent_to_stderr_is_not_needed() -> None:
    """'traceroute x | pathprobe analyze -' loses the header (stderr): the command line
    says the destination and the size."""
    packets = run(["$ traceroute -n 198.18.4.2 1400", " 1  198.18.4.2  0.042 ms"])
    assert [(p.dst, p.ip_len) for p in packets if p.udp] == [("198.18.4.2", 1400)]


@pytest.mark.parametrize(("rest", "want"), [
    ("198.18.1.1  0.052 ms  0.011 ms  0.009 ms",
     [(False, "198.18.1.1", ""), (False, "198.18.1.1", ""), (False, "198.18.1.1", "")]),
    ("* * *", [(True, None, ""), (True, None, ""), (True, None, "")]),
    ("r1 (198.18.1.1)  0.088 ms F=1500  0.074 ms",
     [(False, "198.18.1.1", " F=1500"), (False, "198.18.1.1", "")]),
    ("192.168.1.11 [*]  0.429 ms F=1500  0.384 ms",          # -A: the AS
     [(False, "192.168.1.11", " F=1500"), (False, "192.168.1.11", "")]),
    ("72.14.209.210 [AS15169] '-5'  2.605 ms *  5.514 ms",
     [(False, "72.14.209.210", ""), (True, "72.14.209.210", ""), (False, "72.14.209.210", "")]),
    ("lo: <LOOPBACK,UP,LOWER_UP> mtu 65536", None),          # (ip addr: no hop)
    ("0.042 ms", None),                                     # (a time, nobody named)
])
def test_probes_of_a_hop_line(rest: str, want: list[tuple[bool, str | None, str]] | None
                              ) -> None:
    assert _probes(rest) == want


@pytest.mark.parametrize(("args", "want"), [
    ("-n 198.18.4.2", _Command("198.18.4.2", None, False, False)),
    ("-F -n 198.18.4.2 1500", _Command("198.18.4.2", 1500, True, False)),
    ("--mtu -6 h", _Command("h", None, True, True, True)),
    ("-nF -q 2 -m6 h 1400", _Command("h", 1400, True, False)),
    ("-w 1 --port 33434 h", _Command("h", None, False, False)),
    ("-I h 99999", _Command("h", None, False, False, probe=Probe.ECHO)),   # (no such size)
    ("-T -p 443 -F h 1500", _Command("h", 1500, True, False, probe=Probe.OTHER)),
    ("-M icmp h", _Command("h", None, False, False, probe=Probe.ECHO)),
    ("-Mtcp h", _Command("h", None, False, False, probe=Probe.OTHER)),
    ("--module=default h", _Command("h", None, False, False)),
    ("--module udplite h", _Command("h", None, False, False, probe=Probe.OTHER)),
    ("-P 47 h", _Command("h", None, False, False, probe=Probe.OTHER)),
    ("--icmp -U h", _Command("h", None, False, False)),    # (the last one counts)
    ("--tcp --port=443 h", _Command("h", None, False, False, probe=Probe.OTHER)),
])
def test_arguments(args: str, want: _Command) -> None:
    assert _arguments(args.split(), False) == want


@settings(max_examples=300, deadline=None)
@given(mixes(ROUTES))
def test_any_mix_of_lines_reads_without_error(lines: list[str]) -> None:
    assert_probes_sized(lines, TextForm.TRACEROUTE)


@pytest.mark.parametrize("name", ["mtu-F1500", "mtu-dflt", "healthy-F1500", "busybox-mtu-F"])
def test_hop_lines_without_the_lines_that_say_the_size_are_refused_by_name(
        tmp_path: Path, name: str) -> None:
    """Without its command and first line a traceroute's hops show no probe size. On
    b8ce0a1 such text was 'not a capture: no ... traceroute lines', which they are; now
    the error says what is missing and what to paste instead (exit 2: bad input)."""
    lines = (ROUTES / f"{name}.txt").read_text().splitlines()
    hops = [line for line in lines if line[:4].strip().isdigit()]
    assert len(hops) >= 2
    text = tmp_path / "hops.txt"
    text.write_text("\n".join(hops) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(text)],
                          capture_output=True, text=True, env=cli_env(), check=False,
                          timeout=60)
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr.startswith("pathprobe: error: hops.txt: traceroute hop lines without "
                                  "the first line, which says the size of the probes"), proc.stderr
    assert proc.stderr.count("\n") == 1
