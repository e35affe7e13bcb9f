"""The ping program's output pasted as text (issue 20 items 5 and 6): what engineers run
by hand and paste into a case. Linux's comes from real iputils pings in the lab
(tests/fixtures/text/ping-output/linux-*: 'ping -M do' sweeps of 1200-1500 bytes across
a 1400-byte link, with frag-needed and with it filtered, IPv4 and IPv6, and '-O -D');
Windows' and Cisco's are written in their documented formats. Each gives the verdict a
capture of the same pings gives, and says what the output could not show (DF without a
command line, the MTU a 'could not fragment' named). Through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture.text import parse_text
from pathprobe.capture.textframes import open_text, text_frames
from pathprobe.capture.textpacket import Echo, TextForm, TextPacket
from pathprobe.capture.textping import SENDER, PingOutput, ping_notes
from pathprobe.errors import CaptureError
from pathprobe.facts.text import TextFact
from tests.conftest import cli_env
from tests.unit.test_text_pings import analyze, only_verdict

OUTPUT = Path(__file__).resolve().parents[1] / "fixtures" / "text" / "ping-output"


def facts(v: dict[str, Any]) -> list[str]:
    return [f["fact"] for f in v["facts"]]


# file -> (exit status, code, (mtu, pmtu_low, pmtu_high), confidence, router)
EXPECTED = {
    "linux-mtu.txt": (0, "PMTU_REDUCED", (1400, None, None), "measured", "198.18.1.1"),
    "linux-mtu6.txt": (0, "PMTU_REDUCED", (1400, None, None), "measured", "2001:db8:1::1"),
    "linux-noicmp.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1427), "measured", None),
    "linux-noicmp6.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1427), "measured", None),
    # only the sender's own refusals ('message too long, mtu=1400'): at most 1400
    "linux-mtu-O-D.txt": (0, "PMTU_REDUCED", (None, None, 1400), "measured", SENDER),
    "windows-sweep.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1427), "measured", None),
    # Windows' 'Packet needs to be fragmented but DF set.' without 'Reply from ROUTER:': the
    # sending host refused it (a capture there shows nothing), no MTU shown
    "windows-toobig.txt": (0, "PMTU_REDUCED", (None, 1400, 1499), "measured", SENDER),
    "cisco-ios.txt": (0, "PMTU_REDUCED", (None, 1400, 1499), "measured", "a router (not shown)"),
    "cisco-blackhole.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1499), "measured", None),
    # IOS extended ping: DF asked in its dialog, a sweep of 1380-1500 bytes in steps of 10
    "cisco-sweep.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1409), "inferred", None),
    # Windows in other languages (written from public pastes of each): a sweep, frag-needed
    # from the sending host or, where the line names it, a router
    **{f"windows-{lang}-sweep.txt": (1, "PMTU_BLACKHOLE", (None, 1400, 1427), "measured", None)
       for lang in ("de", "es", "fr", "ja", "zh", "pt")},
    **{f"windows-{lang}-toobig.txt": (0, "PMTU_REDUCED", (None, 1400, 1499), "measured",
                                      "198.18.1.1" if lang in ("de", "ja") else
                                      SENDER) for lang in ("de", "es", "ja", "zh")},
    # macOS: -D sets DF; frag-needed shows no sequence number, then its quoted header
    "macos.txt": (0, "PMTU_REDUCED", (1400, None, None), "measured", "198.18.1.1"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ping_output_gives_the_verdict_of_its_pings(name: str) -> None:
    """Each of these was 'not a capture' (exit 2) before."""
    status, doc = analyze(OUTPUT / name)
    want_status, code, bounds, confidence, router = EXPECTED[name]
    v = only_verdict(doc)
    assert (status, v["code"], v["confidence"]) == (want_status, code, confidence), v
    assert (v.get("mtu"), v.get("pmtu_low"), v.get("pmtu_high")) == bounds, v
    assert v.get("router") == router, v
    assert "ping output" in doc["notes"][0]


def test_windows_own_refusal_is_the_senders_not_a_routers() -> None:
    """It was 'a router (not shown) answered ... with could not fragment', with the quote of
    a message that never came."""
    v = only_verdict(analyze(OUTPUT / "windows-toobig.txt")[1])
    assert "text-ping-local-refused" in facts(v) and "icmp-quotes" not in facts(v)
    v = only_verdict(analyze(OUTPUT / "windows-ja-toobig.txt")[1])   # 'ROUTER からの応答:'
    assert "text-ping-mtu-unshown" in facts(v) and v["router"] == "198.18.1.1"


def test_what_the_ping_output_does_not_show_is_said() -> None:
    """A 'could not fragment' shows no MTU; the sender's own refusal is no router's; a
    refusal after the router's frag-needed of the same MTU is no lost ping."""
    assert "text-ping-mtu-unshown" in facts(only_verdict(analyze(OUTPUT / "cisco-ios.txt")[1]))
    assert "text-ping-local-mtu" in facts(only_verdict(analyze(OUTPUT / "linux-mtu-O-D.txt")[1]))
    _s, doc = analyze(OUTPUT / "linux-mtu.txt")
    assert any("3 ping(s) never left the pinging host" in n for n in doc["notes"]), doc["notes"]


def test_a_run_with_lines_not_read_makes_up_no_lost_pings() -> None:
    """A French run whose two answers are a message not known here (perhaps the router's
    frag-needed in a wording this version lacks): its statistics say 2 sent, 0 received,
    but those 2 are not lost pings, so the 1372-byte answers below make no black hole (it
    was PMTU_BLACKHOLE, measured)."""
    status, doc = analyze(OUTPUT / "windows-fr-unread.txt")
    assert (status, only_verdict(doc)["code"]) == (0, "HEALTHY")
    assert any("1 ping run with lines not read (first: line 4" in n for n in doc["notes"])


@pytest.mark.parametrize("name", ["windows-nodf.txt", "cisco-nodf.txt", "windows-nocommand.txt"])
def test_pings_sent_without_df_prove_nothing(name: str) -> None:
    """Windows without -f, Cisco without df-bit (no 'Packet sent with the DF bit set'):
    large pings are fragmented and cross. No verdict on their sizes, and a note says why
    (a Windows run without its command line is taken as Windows sends them: without DF)."""
    status, doc = analyze(OUTPUT / name)
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"], doc["verdicts"]
    said = " ".join(doc["notes"])
    assert ("show no command line" if "nocommand" in name else "were sent without DF") in said


def test_linux_runs_without_their_command_line_are_inferred(tmp_path: Path) -> None:
    """The same real output without the '$ ping -M do' lines: Linux's ping sets DF by
    default only while a ping fits the MTU it knows, so the black hole is inferred and the
    frag-needed MTU keeps no lower bound from the answered pings (they may have been
    fragmented). A run that drew frag-needed or 'message too long' proves its own DF."""
    for name, code in (("linux-noicmp.txt", "PMTU_BLACKHOLE"), ("linux-mtu.txt", "PMTU_REDUCED")):
        bare = tmp_path / name
        bare.write_text("".join(ln for ln in (OUTPUT / name).read_text().splitlines(True)
                                if not ln.startswith("[admin@fmc")))
        _status, doc = analyze(bare)
        v = only_verdict(doc)
        assert v["code"] == code, v
        assert "text-ping-df-assumed" in facts(v), v
        if code == "PMTU_BLACKHOLE":
            assert (v["confidence"], v["pmtu_low"], v["pmtu_high"]) == ("inferred", 1400, 1427)
        else:
            assert (v.get("mtu"), v.get("pmtu_low"), v["pmtu_high"]) == (None, None, 1400), v
        assert any("Linux ping run(s) show no command line" in n for n in doc["notes"])
        cited = [e for e in [*v["evidence"], *doc["notes"]] if "ping(s)" in e and "answered" in e]
        assert cited and all("ping(s) (DF not shown, taken as set)" in e for e in cited), cited


def feed(lines: list[str]) -> list[TextPacket]:
    return parse_text(lines).packets


def test_reply_lines_in_each_form() -> None:
    """Names and addresses, BusyBox's 'seq=', IPv6, duplicates, truncated replies, and an
    unreachable answer (no size verdict: the ping is neither answered nor lost)."""
    packets = feed([
        "PING proxy.example (198.18.2.2) 1372(1400) bytes of data.",
        "1380 bytes from proxy.example (198.18.2.2): icmp_seq=1 ttl=63 time=0.1 ms",
        "1380 bytes from proxy.example (198.18.2.2): icmp_seq=1 ttl=63 time=0.1 ms (DUP!)",
        "From 198.18.1.1 icmp_seq=2 Destination Host Unreachable",
        "--- proxy.example ping statistics ---",
        "3 packets transmitted, 1 received, +1 errors, 66% packet loss, time 2003ms",
        "PING 198.18.2.2 (198.18.2.2): 1372 data bytes",
        "1380 bytes from 198.18.2.2: seq=0 ttl=63 time=0.1 ms",
        "PING 2001:db8:2::2(2001:db8:2::2) 1352 data bytes",
        "1360 bytes from 2001:db8:2::2: icmp_seq=1 ttl=63 time=0.1 ms",
        "1000 bytes from 2001:db8:2::2: icmp_seq=2 ttl=63 time=0.1 ms (truncated)",
        "PING 2001:db8:2::2(2001:db8:2::2) from 2001:db8:1::2 eth0: 56 data bytes",
        "64 bytes from 2001:db8:2::2: icmp_req=1 ttl=64 time=1.43 ms",    # iputils before 2012
    ])
    assert all(p.form is TextForm.PING for p in packets)
    shown = [(p.line, p.src, p.dst, p.echo, p.ip_len) for p in packets]
    assert shown == [
        (2, SENDER, "198.18.2.2", Echo(True, 1, 1), 1400),
        (2, "198.18.2.2", SENDER, Echo(False, 1, 1), 1400),
        (6, SENDER, "198.18.2.2", Echo(True, 1, 3), 1400),        # lost: seq 3 of 3
        (8, SENDER, "198.18.2.2", Echo(True, 2, 0), 1400),        # BusyBox counts from 0
        (8, "198.18.2.2", SENDER, Echo(False, 2, 0), 1400),
        (10, SENDER, "2001:db8:2::2", Echo(True, 3, 1), 1400),
        (10, "2001:db8:2::2", SENDER, Echo(False, 3, 1), 1400),
        (11, SENDER, "2001:db8:2::2", Echo(True, 3, 2), 1400),
        (11, "2001:db8:2::2", SENDER, Echo(False, 3, 2), 1400),   # truncated: the request's
        (13, "2001:db8:1::2", "2001:db8:2::2", Echo(True, 4, 1), 104),   # the sender shown
        (13, "2001:db8:2::2", "2001:db8:1::2", Echo(False, 4, 1), 104),
    ]


def test_a_command_line_decides_df_for_the_run_it_starts() -> None:
    """-M do / probe: DF; -M dont: not; -M want or none: unknown (Linux's default); Windows
    -f; Cisco df-bit or its 'Packet sent with the DF bit set'."""
    def df(*lines: str) -> list[bool | None]:
        return [p.df for p in feed(list(lines)) if p.echo is not None and p.echo.request]
    reply = "1380 bytes from 198.18.2.2: icmp_seq=1 ttl=63 time=0.1 ms"
    head = "PING 198.18.2.2 (198.18.2.2) 1372(1400) bytes of data."
    assert df("$ ping -M do -s 1372 198.18.2.2", head, reply) == [True]
    assert df("admin@fmc:~$ sudo ping -Mprobe -s 1372 198.18.2.2", head, reply) == [True]
    assert df("root@fmc:~# ping -M dont -s 1372 198.18.2.2", head, reply) == [False]
    assert df("$ ping -M want -s 1372 198.18.2.2", head, reply) == [None]
    assert df(head, reply) == [None]
    win_head = "Pinging 198.18.2.2 with 1372 bytes of data:"
    win_reply = "Reply from 198.18.2.2: bytes=1372 time<1ms TTL=63"
    assert df("C:\\>ping -f -l 1372 198.18.2.2", win_head, win_reply) == [True]
    assert df("C:\\>ping -l 1372 198.18.2.2", win_head, win_reply) == [False]
    assert df(win_head, win_reply) == [False]
    cisco = "Sending 1, 1400-byte ICMP Echos to 198.18.2.2, timeout is 2 seconds:"
    assert df("R1#ping 198.18.2.2 size 1400 df-bit", cisco, "!") == [True]
    assert df(cisco, "Packet sent with the DF bit set", "!") == [True]
    assert df(cisco, "!") == [False]
    # a run cut short (no statistics) by the next command line: that command is the next run's
    assert df(head, reply, "$ ping 198.18.2.2 -c 1 -M dont -s 1372", head, reply) == [None, False]
    bsd_head = "PING 198.18.2.2 (198.18.2.2): 1372 data bytes"
    bsd_reply = "1380 bytes from 198.18.2.2: icmp_seq=0 ttl=63 time=1.2 ms"
    assert df("mbp:~ admin$ ping -D -s 1372 198.18.2.2", bsd_head, bsd_reply) == [True]
    assert df(bsd_head, bsd_reply) == [None]
    assert df("admin@mx> ping 198.18.2.2 size 1372 do-not-fragment count 1", bsd_head,
              bsd_reply) == [True]                     # Junos (FreeBSD's ping underneath)


def test_replies_ping_q_does_not_print_are_counted_from_the_statistics() -> None:
    """'ping -q' prints the statistics only: '5 received' are five answered pings, not five
    lost ones (a sweep pasted that way was a black hole of pings that all came back)."""
    packets = feed([
        "$ ping -q -M do -s 1372 -c 3 198.18.2.2",
        "PING 198.18.2.2 (198.18.2.2) 1372(1400) bytes of data.",
        "",
        "--- 198.18.2.2 ping statistics ---",
        "3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms",
    ])
    requests = [p for p in packets if p.echo is not None and p.echo.request]
    replies = [p for p in packets if p.echo is not None and not p.echo.request]
    assert (len(requests), len(replies), {p.line for p in packets}) == (3, 2, {5})
    made = PingOutput()
    for n in range(1, 200):
        made.feed("PING 198.18.2.2 (198.18.2.2) 56(84) bytes of data.", 2 * n)
        made.feed("4096 packets transmitted, 4096 received", 2 * n + 1)
    assert made.made == 20000       # (bounded in all: statistics may claim anything)


def test_a_refusal_printed_after_the_statistics_is_still_that_run() -> None:
    """ping prints 'local error' on stderr: pasted after stdout, it comes after the run's
    statistics ('+2 errors'), and those two pings are no lost ones."""
    packets = feed([
        "PING 198.18.2.2 (198.18.2.2) 1472(1500) bytes of data.",
        "",
        "--- 198.18.2.2 ping statistics ---",
        "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 203ms",
        "ping: local error: message too long, mtu=1400",
        "ping: local error: message too long, mtu=1400",
    ])
    assert [(p.line, p.src, p.icmp_mtu, p.echo) for p in packets] == [
        (5, SENDER, None, Echo(True, 1, 1)), (5, SENDER, 1400, None),
        (6, SENDER, None, Echo(True, 1, 2)), (6, SENDER, 1400, None)]


def test_not_every_line_with_ping_in_it_is_ping_output() -> None:
    """Prose, and lines of other tools, stay unparsed: no packets are made up."""
    out = parse_text(["We ran ping to the proxy and it failed", "PING: see above",
                      "Success rate is 100 percent (5/5)", "!!!!!", "Request timed out."])
    assert out.packets == [] and out.unparsed == 5


_NUMBER = st.sampled_from(["0", "1", "65535", "65536", "4294967295", "99999999999999999999"])
_TEMPLATES = st.sampled_from([
    "PING 198.18.2.2 (198.18.2.2) {}({}) bytes of data.",
    "PING 2001:db8::2(2001:db8::2) {} data bytes{}",
    "{} bytes from 198.18.2.2: icmp_seq={} ttl=63 time=0.1 ms",
    "From 198.18.1.1 icmp_seq={} Frag needed and DF set (mtu = {})",
    "{} packets transmitted, {} received, +3 errors, 100% packet loss",
    "ping: local error: message too long, mtu={}{}", "[1.{}] no answer yet for icmp_seq={}",
    "Pinging 198.18.2.2 with {} bytes of data:{}", "Reply from 198.18.2.2: bytes={} time={}ms",
    "    Packets: Sent = {}, Received = {}, Lost = 0 (0% loss),", "Request timed out.{}{}",
    "Sending {}, {}-byte ICMP Echos to 198.18.2.2, timeout is 2 seconds:", "M.!U{}{}",
    "Success rate is 0 percent ({}/{})", "$ ping -M do -s {} 198.18.{}.2"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TEMPLATES, _NUMBER, _NUMBER), max_size=30))
def test_any_ping_output_reads_without_error_and_bounded(lines: list[tuple[str, str, str]]
                                                         ) -> None:
    """Absurd numbers and runs in any order: no exception, and no more packets than a
    bounded number per line (statistics that claim 4294967295 pings make up at most
    RUN_MAX)."""
    text = [t.format(a, b) for t, a, b in lines]
    ping = PingOutput()
    made = 0
    for n, line in enumerate(text, 1):
        made += len(ping.feed(line, n) or [])
    made += len(ping.close(len(text)))
    assert made <= 4096 * 2 * (len(text) + 1)
    try:
        info = open_text("fuzz", "\n".join(text).encode())
    except CaptureError as e:            # (bad input: one line, exit 2)
        assert "\n" not in str(e)
        return
    for _frame in text_frames(info):     # the IP packets are built without error
        pass


def test_absurd_ping_output_through_the_cli(tmp_path: Path) -> None:
    """Sizes beyond any IP packet, and statistics beyond any run: a report, not an error."""
    path = tmp_path / "absurd.txt"
    path.write_text("PING 198.18.2.2 (198.18.2.2) 99999999(99999999) bytes of data.\n"
                    "99999999 bytes from 198.18.2.2: icmp_seq=1 ttl=63 time=0.1 ms\n"
                    "From 198.18.1.1 icmp_seq=2 Frag needed and DF set (mtu = 99999999)\n"
                    "4294967295 packets transmitted, 1 received, 100% packet loss\n")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path)],
                          capture_output=True, text=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode in (0, 1, 3) and "Traceback" not in proc.stderr, proc.stderr


def test_windows_and_cisco_number_their_answers_in_order() -> None:
    """Windows and Cisco show no sequence numbers: each answer is the next request. An
    unreachable answer ('Destination host unreachable', Cisco 'U') is neither answered nor
    lost; an IPv6 reply shows no size (the request's is taken)."""
    packets = feed([
        "Pinging 2001:db8:2::2 with 1352 bytes of data:",
        "Reply from 2001:db8:2::2: time<1ms",
        "Reply from 198.18.1.1: Destination host unreachable.",
        "Request timed out.",
        "Ping statistics for 2001:db8:2::2:",
        "    Packets: Sent = 3, Received = 2, Lost = 1 (33% loss),",
        "Sending 4, 1400-byte ICMP Echos to 198.18.2.2, timeout is 2 seconds:",
        "!U.M",
        "Success rate is 25 percent (1/4), round-trip min/avg/max = 1/1/1 ms",
    ])
    shown = [(p.line, p.icmp_mtu, p.echo, p.ip_len) for p in packets]
    assert shown == [
        (2, None, Echo(True, 1, 1), 1400), (2, None, Echo(False, 1, 1), 1400),
        (4, None, Echo(True, 1, 3), 1400),                    # 2 was unreachable
        (8, None, Echo(True, 2, 1), 1400), (8, None, Echo(False, 2, 1), 1400),
        (8, None, Echo(True, 2, 3), 1400),                    # 2 was 'U'
        (8, None, Echo(True, 2, 4), 1400), (8, 0, None, None),   # 'M': MTU not shown
    ]


def test_an_ios_sweep_gives_each_request_its_size() -> None:
    """'Sending 13, [1380..1500]-byte' with a sweep interval of 10: the n-th mark is the n-th
    size. A count that is no whole sweep (a repeat count above 1) leaves the sizes unknown:
    no ping of it has a size, so none proves one."""
    dialog = ["R1#ping", "Set DF bit in IP header? [no]: y", "Sweep interval [1]: 10"]
    packets = feed([*dialog, "Sending 13, [1380..1500]-byte ICMP Echos to 198.18.2.2, timeout "
                    "is 2 seconds:", "!!!.........", "Success rate is 23 percent (3/13)"])
    requests = [p for p in packets if p.echo is not None and p.echo.request]
    assert [p.ip_len for p in requests] == list(range(1380, 1501, 10))
    assert {p.df for p in requests} == {True}
    unsized = parse_text([*dialog, "Sending 26, [1380..1500]-byte ICMP Echoes to 198.18.2.2, "
                          "timeout is 2 seconds:", "!!!!!!......", "Success rate is 23 percent "
                          "(6/26)"])
    assert (unsized.packets, unsized.ping_unsized) == ([], [(4, 26, 13)])
    assert TextFact.PING_SWEEP_UNSIZED in [e.fact for e in ping_notes(unsized)]


def test_an_ios_sweep_of_unknown_sizes_alone_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sweep.txt"
    path.write_text("R1#ping\nSweep interval [1]: 10\nSending 26, [1380..1500]-byte ICMP Echos to "
                    "198.18.2.2, timeout is 2 seconds:\n!!!!!!......\n")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path)],
                          capture_output=True, text=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "line 3: an IOS ping sweep of 26 pings over 13 sizes" in proc.stderr
