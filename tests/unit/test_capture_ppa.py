"""`analyze` on the captures of Chris Sanders' Practical Packet Analysis (3rd ed., public on
GitHub: chrissanders/packets), whose stories the book tells: tcp_retransmissions.pcapng, a
client resending 648 bytes for 9 s to a server that never answers, was "healthy" (exit 0).
The captures here are our own, built to the same shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env
from tests.unit.test_analyze_any_capture import (
    FMC,
    NAME,
    UPSTREAM,
    Conv,
    cli,
    codes,
    ether,
    verdict,
)
from tests.unit.test_capture_analysis import CLIENT_HELLO, SERVER_HELLO

REQUEST = b"POST /upload HTTP/1.1\r\nHost: upstream.pathprobe.test\r\n\r\n" + b"x" * 592
BACKOFF = (0.0, 0.206, 0.806, 2.006, 4.406, 9.211)   # the book's capture: the timer doubling


def _resent(times: tuple[float, ...], handshake: bool) -> Conv:
    """648 bytes to the server, sent at ``times``, never acknowledged."""
    c = Conv(server=UPSTREAM, sport=1043, cport=1048)
    if handshake:
        c.handshake(-0.05)
    for ts in times:
        c.pkt(ts, True, "PA", REQUEST)
    return c


def test_a_segment_resent_for_seconds_to_a_silent_peer_is_a_stall(tmp_path: Path) -> None:
    """Only the sender's packets: a capture of one direction would show no ACK either, but
    then the sender would have stopped resending. Nothing smaller crossed, so size is one
    cause that remains: a warning, and the advice is to measure."""
    status, doc, _err = cli(tmp_path, _resent(BACKOFF, handshake=False).frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning" and v["confidence"] == "inferred", v
    assert v["direction"] == "up" and "mtu" not in v, v
    assert ("198.18.1.2:1048 kept resending it for 9.0 s: no ACK reached it (a sender that "
            "gets one stops), which a capture that only lacks the other direction does not "
            "explain") in v["evidence"], v["evidence"]
    assert ("nothing from 198.18.1.2:1048 was acknowledged, and 198.18.4.2:1043 sent not one "
            "packet in this capture: a receiver gone or cut off, its ACKs lost on the way "
            "back, and a size limit (nothing smaller crossed to rule it out) all remain"
            ) in v["evidence"], v["evidence"]
    (rec,) = doc["recommendations"]
    assert rec["command"] == f"pathprobe pmtu {UPSTREAM}", rec
    assert "a 648-byte segment went unacknowledged" in rec["why"], rec
    # the same copies within half a second: duplicates (two capture points), no timer
    status, doc, _err = cli(tmp_path, _resent((0.0, 0.1, 0.2, 0.3, 0.4), False).frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)


def test_a_small_segment_resent_for_seconds_is_a_stall_too(tmp_path: Path) -> None:
    """A 120-byte request, resent for 9 s to a peer never seen: not only large segments.
    A 160-byte packet fits every path (576 bytes at least): size is ruled out, and the
    advice is not to measure one (nDPI's conncheck.pcap: a 280-byte GET said a size limit
    remained)."""
    c = Conv(server=UPSTREAM, sport=1043, cport=1048)
    for ts in BACKOFF:
        c.pkt(ts, True, "PA", REQUEST[:120])
    status, doc, _err = cli(tmp_path, c.frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning" and v["retransmits"] == 5, v
    assert any(e.startswith("from frame 2: a 120-byte segment") for e in v["evidence"]), v
    assert v["evidence"][-1].endswith("its ACKs lost on the way back, remain (a 160-byte "
                                      "packet fits every path: not a size)"), v["evidence"]
    assert not any("pmtu" in r["command"] for r in doc["recommendations"]), doc


def test_the_first_large_segment_after_a_handshake_never_acknowledged(tmp_path: Path) -> None:
    """The handshake crossed, then the first 648 bytes were resent for 9 s and the server
    said nothing more: a stall (size remains a cause), not 'healthy'."""
    status, doc, _err = cli(tmp_path, _resent(BACKOFF, handshake=True).frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    assert any("sent nothing after the resends began" in e for e in v["evidence"]), v


def test_a_port_scan_is_one_verdict_of_a_few_examples_and_a_count(tmp_path: Path) -> None:
    """synscan.pcapng: a refusal per port made a group per port, each itemised in the one
    verdict: 998 connections cited, a report of 5,395 lines. Six are shown, the rest
    counted; the severity and the count of connections stay those of all of them."""
    frames = []
    for port in range(1000, 1040):
        c = Conv(server=UPSTREAM, sport=port, cport=36050)
        c.pkt(port / 1000, True, "S", options=[("MSS", 1460)])
        c.pkt(port / 1000 + 0.0005, False, "RA", seq=0, ack=c.cseq + 1)
        frames += c.frames
    ok = Conv(server=UPSTREAM, sport=443, cport=36051)
    ok.handshake(2.0)
    ok.close(2.1)
    status, doc, _err = cli(tmp_path, frames + ok.frames)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "warning" and v["connections"] == 40, v
    cited = [e for e in v["evidence"] if e.startswith("connection ")]
    assert cited == [f"connection 198.18.1.2:36050 -> {UPSTREAM}:{p}"
                     for p in range(1000, 1006)], cited
    assert v["evidence"][-1] == ("the same fault toward 34 more servers or ports (34 "
                                 "connection(s)), not listed one by one: --host and --port "
                                 "narrow the view to them"), v["evidence"][-3:]


def _dns(ts: float, server: str, txid: int, name: str, answer: int | None = None
         ) -> tuple[float, bytes]:
    """A query from the FMC (``answer`` None) or the server's answer with that RCODE."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP

    if answer is None:
        pkt = IP(src=FMC, dst=server) / UDP(sport=53412, dport=53) / DNS(
            id=txid, rd=1, qd=DNSQR(qname=name))
    else:
        pkt = IP(src=server, dst=FMC) / UDP(sport=53, dport=53412) / DNS(
            id=txid, qr=1, rcode=answer, qd=DNSQR(qname=name))
    return ts, ether(pkt)


def test_dns_queries_never_answered_are_said(tmp_path: Path) -> None:
    """nowebaccess1.pcapng: one name asked of two servers seven times over 8 s, no answer,
    no TCP: 'healthy' and '7 IP packets'. A note now says which name went unanswered;
    stranded_branchdns.pcapng's SERVFAIL is said too. An answered query says nothing."""
    frames = [_dns(t, "198.18.0.53" if i % 2 else "198.18.0.54", 0x80D1, NAME)
              for i, t in enumerate((0.0, 1.0, 2.0, 4.0, 8.0))]
    frames += [_dns(8.1, "198.18.0.53", 0x1234, "other.pathprobe.test"),
               _dns(8.2, "198.18.0.53", 0x1234, "other.pathprobe.test", answer=2),
               _dns(8.3, "198.18.0.53", 0x2345, "ok.pathprobe.test"),
               _dns(8.4, "198.18.0.53", 0x2345, "ok.pathprobe.test", answer=0),
               _dns(11.0, "198.18.0.53", 0x3456, "late.pathprobe.test")]   # (capture ends)
    status, doc, _err = cli(tmp_path, frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    assert doc["summary"] == "nothing could be measured", doc["summary"]   # (not "healthy")
    notes = [n for n in doc["notes"] if "DNS" in n]
    assert notes == [
        f"frame 1: 1 DNS query for {NAME} got no answer (sent 5 times to 198.18.0.54, "
        "198.18.0.53; 2 other(s) were answered): a name that does not resolve stops a "
        "connection before its SYN, a proxy set by name included",
        "DNS answers said SERVFAIL for other.pathprobe.test: the resolver failed to resolve "
        "them"], notes


def test_a_dns_question_name_is_read_or_said_unreadable() -> None:
    from pathprobe.capture.dns import question_name

    assert question_name(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01") == "www.example.com"
    assert question_name(b"\x00") == "<root>"
    assert question_name(b"\x03www\xc0\x0c") == "?"           # compression: not followed
    assert question_name(b"\x07exa") == "?"                   # cut short
    assert question_name(b"\x06a\x1b[2Jb\x00") == "ab"     # (a terminal control sequence removed)


def _analyze_text(tmp_path: Path, name: str, text: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / name
    path.write_text(text)
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def test_dns_lines_of_pasted_text_are_read_as_the_capture_would_be(tmp_path: Path) -> None:
    """The same two stories as tcpdump lines (with and without -n) and as Wireshark's list:
    the same notes, with line numbers."""
    texts = {
        "td.txt": "11:32:21.445750 IP 198.18.1.2.55870 > 198.18.0.54.53: 32977+ A? "
                  f"{NAME}. (32)\n"
                  "11:32:22.444925 IP 198.18.1.2.55870 > 198.18.0.53.53: 32977+ A? "
                  f"{NAME}. (32)\n"
                  "11:32:29.445000 IP fmc.pathprobe.test.56779 > dns.pathprobe.test.domain: "
                  "3+ [1au] A? appserver. (38)\n"
                  "11:32:29.445100 IP dns.pathprobe.test.domain > fmc.pathprobe.test.56779: "
                  "3 ServFail- 0/0/1 (38)\n",
        "ws.txt": "    1   0.000000 198.18.1.2 → 198.18.0.54 DNS 74 Standard query 0x80d1 A "
                  f"{NAME}\n"
                  "    2   0.999000 198.18.1.2 → 198.18.0.53 DNS 74 Standard query 0x80d1 A "
                  f"{NAME}\n"
                  "    3   8.000000 198.18.1.2 → 198.18.0.53 DNS 69 Standard query 0x0003 A "
                  "appserver\n"
                  "    4   8.000100 198.18.0.53 → 198.18.1.2 DNS 69 Standard query response "
                  "0x0003 Server failure A appserver\n",
    }
    for name, text in texts.items():
        status, doc = _analyze_text(tmp_path, name, text)
        notes = [n for n in doc["notes"] if "DNS" in n]
        assert status == 0 and notes == [
            f"line 1: 1 DNS query for {NAME} got no answer (sent 2 times to 198.18.0.54, "
            "198.18.0.53; 1 other(s) were answered): a name that does not resolve stops a "
            "connection before its SYN, a proxy set by name included",
            "DNS answers said SERVFAIL for appserver: the resolver failed to resolve them"
        ], (name, doc["notes"])


def test_a_broadcast_query_awaits_no_answer_and_a_long_name_is_cut(tmp_path: Path) -> None:
    """Seen in the tcpdump project's texts: an access point asking 255.255.255.255 for its
    controller (no resolver answers that) was 'a name that does not resolve', and a DNS
    tunnel's 230-character names filled the note."""
    tunnel = ".".join(["a" * 60] * 3) + ".pathprobe.test"
    frames = [_dns(0.0, "255.255.255.255", 0x0101, "CISCO-CAPWAP-CONTROLLER"),
              _dns(0.1, "198.18.0.53", 0x0202, tunnel),
              _dns(0.2, "198.18.0.53", 0x0202, tunnel, answer=2),
              _dns(5.0, "198.18.0.53", 0x0303, "ok.pathprobe.test")]
    _status, doc, _err = cli(tmp_path, frames)
    notes = [n for n in doc["notes"] if "DNS" in n]
    assert notes == [f"DNS answers said SERVFAIL for {'a' * 60}.aaa...(133 more characters): "
                     "the resolver failed to resolve them"], notes


def test_a_capture_with_no_dns_answer_at_all_says_what_that_leaves(tmp_path: Path) -> None:
    """None of its queries answered: a resolver down, or a capture of one direction."""
    frames = [_dns(t, "198.18.0.53", 0x0404, NAME) for t in (0.0, 1.0, 3.0)]
    _status, doc, _err = cli(tmp_path, frames)
    assert [n for n in doc["notes"] if "DNS" in n] == [
        f"frame 1: 1 DNS query for {NAME} got no answer (sent 3 times to 198.18.0.53; no query "
        "in the capture was answered: a resolver down or cut off, or a capture of one "
        "direction): a name that does not resolve stops a connection before its SYN, a proxy "
        "set by name included"], doc["notes"]


def test_a_transfer_that_resent_much_of_what_it_carried_is_said(tmp_path: Path) -> None:
    """A download with every 25th segment sent twice (a loss on the way and its resend):
    healthy, for it arrived whole, but slowed; it said nothing at all. Resent less than 2%,
    it still says nothing."""
    def download(every: int) -> Conv:
        c = Conv(server=UPSTREAM, sport=443, cport=40400)
        c.handshake(0.0)
        ts = 0.01
        for i in range(150):
            seq = c.send(ts, False, b"\x17" * 1400)
            if i % every == every - 1:
                c.pkt(ts + 0.2, False, "PA", b"\x17" * 1400, seq=seq)
            c.ack(ts + 0.21, True)
            ts += 0.25
        c.close(ts)
        return c

    status, doc, _err = cli(tmp_path, download(25).frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    assert ("1 connection(s) without a finding resent 2% or more of what they carried (the "
            f"most: {UPSTREAM}:443, 8400 of 210000 bytes, 3.8%): loss on the path, which slows "
            "transfers down but is no size (the same segments arrived in the end), or a capture "
            "that shows some packets twice") in doc["notes"], doc["notes"]
    _status, doc, _err = cli(tmp_path, download(75).frames)
    assert not [n for n in doc["notes"] if "resent 2%" in n], doc["notes"]


def test_a_query_is_judged_by_how_long_the_capture_ran_after_it(tmp_path: Path) -> None:
    """The last DNS packet is the query itself, but the capture runs on (TCP to another
    server 5 s later): it had time for an answer."""
    ok = Conv(server=UPSTREAM, sport=443, cport=40500)
    ok.handshake(5.0)
    ok.close(5.1)
    _status, doc, _err = cli(tmp_path, [_dns(0.0, "198.18.0.53", 0x0505, NAME), *ok.frames])
    assert any(n.startswith(f"frame 1: 1 DNS query for {NAME} got no answer")
               for n in doc["notes"]), doc["notes"]


def test_two_captures_advise_measuring_toward_the_server_itself(tmp_path: Path) -> None:
    """With two captures, the rows' targets name their file ('b.pcap: ADDR:PORT'): the
    advice to measure said 'pathprobe pmtu b.pcap: 198.18.4.2:1043', no command at all."""
    from tests.unit.test_capture_analysis import write_pcap

    first = write_pcap(tmp_path / "a.pcap", [_dns(0.0, "198.18.0.53", 0x0606, NAME),
                                             _dns(3.0, "198.18.0.53", 0x0607, NAME)])
    second = write_pcap(tmp_path / "b.pcap", _resent(BACKOFF, handshake=False).frames)
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(first), str(second),
                        "--json"], capture_output=True, text=True, env=cli_env(), timeout=120,
                       check=False)
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and codes(doc) == ["TUNNEL_STALL"], (codes(doc), r.stderr)
    assert [rec["command"] for rec in doc["recommendations"]] == [
        f"pathprobe pmtu {UPSTREAM}"], doc["recommendations"]


def _reading_stopped(window_after: int, peer_mss: int = 1460) -> Conv:
    """A TLS session whose client stops reading in the middle of a 16000-byte record: its
    ACK of the first 2 segments advertises ``window_after``; the server probes the window
    (a keep-alive below its next byte) 3 times over 24 s, answered with the same window."""
    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    c.handshake(0.0, peer_mss=peer_mss)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, SERVER_HELLO)
    c.send(0.03, True, b"\x17\x03\x03\x00\x40" + bytes(64))       # the request
    c.send(0.05, False, b"\x17\x03\x03\x3e\x80" + bytes(1443))    # a 16000-byte record...
    c.send(0.051, False, bytes(1448))                             # ...of which 2896 come
    c.pkt(0.06, True, "A", window=window_after)
    for t in (3.4, 10.2, 23.7):
        c.pkt(t, False, "A", seq=c.sseq - 1)
        c.pkt(t + 0.001, True, "A", window=window_after)
    return c


def test_a_receiver_that_stopped_reading_is_no_stall(tmp_path: Path) -> None:
    """tcp_zerowindowdead.pcapng: a client advertising a window of 0 for 24 s, the server
    probing it. A TLS record cut short there was a critical TUNNEL_STALL blamed on 'the
    server, or a firewall/IPS': the server may not send into a closed window. It is a note
    naming the receiver; with the window open, the same silence stays a stall."""
    status, doc, _err = cli(tmp_path, _reading_stopped(0).frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    assert ("1 connection(s) ended with the receiver's window closed (a window of 0: its "
            "application stopped reading, so the sender could not send; the longest, "
            f"{FMC}:40001, for 23.6 s toward {UPSTREAM}:443): a silence there is the "
            "receiver's, not the path's, and not judged a stall") in doc["notes"], doc["notes"]
    # the note, whatever else the connection shows (an MSS clamp)
    _status, doc, _err = cli(tmp_path, _reading_stopped(0, peer_mss=1360).frames)
    assert codes(doc) == ["MSS_CLAMPED"] and any("window closed" in n for n in doc["notes"])
    status, doc, _err = cli(tmp_path, _reading_stopped(502).frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "critical", v
    assert not any("window" in n for n in doc["notes"]), doc["notes"]
    # a window that closes only at the end, long after the data stopped, explains nothing
    late = _reading_stopped(502)
    late.pkt(23.8, True, "A", window=0)
    late.pkt(25.0, False, "A", seq=late.sseq - 1)
    status, doc, _err = cli(tmp_path, late.frames)
    assert status == 1 and verdict(doc, "TUNNEL_STALL")["severity"] == "critical"
    assert not any("window" in n for n in doc["notes"]), doc["notes"]


@pytest.mark.parametrize("tool", [["tcpdump", "-n", "-r"], ["tshark", "-n", "-r"],
                                  ["tshark", "-n", "-V", "-r"]])
def test_a_closed_window_is_read_from_text_too(tmp_path: Path, tool: list[str]) -> None:
    """The same story pasted as tcpdump lines ('win 0'), Wireshark's packet list ('Win=0')
    or tshark -V ('Window: 0'): text spelled every window 65535 before."""
    from tests.unit.test_capture_analysis import write_pcap

    cap = write_pcap(tmp_path / "zw.pcap", sorted(_reading_stopped(0).frames))
    text = tmp_path / "zw.txt"
    text.write_text(subprocess.run([*tool, str(cap)], capture_output=True, text=True,
                                   check=True, timeout=60).stdout)
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(text), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    doc: dict[str, Any] = json.loads(r.stdout)
    assert any(n.startswith("1 connection(s) ended with the receiver's window closed")
               for n in doc["notes"]), doc["notes"]
