"""`analyze` on what nDPI's public test captures showed (real app traffic nobody here made):
a ServerHello whose first segment came 29 us after its second (teams.pcap: 8 healthy Teams
sessions were a critical "no ServerHello" stall), a client that abandons its unanswered SYN
with a reset whose ACK is 0 (alexa-app.pcapng: "ok"), refusals and silences merged under one
reset's evidence, and Cisco HDLC frames in a PPP capture (BGP_Cisco_hdlc_slarp.pcap: "no IP
... PPP control"). The captures here are our own, built to the same shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import cli_env
from tests.unit.test_analyze_any_capture import UPSTREAM, Conv, cli, codes, verdict
from tests.unit.test_capture_analysis import CLIENT_HELLO, SERVER_HELLO, write_pcap

APP_DATA = b"\x17\x03\x03\x00\x40" + b"\x00" * 64


def _hello_in_two(late_by: float) -> Conv:
    """A direct TLS session whose ServerHello segment reaches the capture ``late_by``
    seconds after the segment that follows it; the session then goes on and idles."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    first = c.sseq
    c.pkt(0.03, False, "PA", APP_DATA, seq=first + len(SERVER_HELLO))   # the second, first
    c.pkt(0.03 + late_by, False, "PA", SERVER_HELLO, seq=first)
    c.sseq += len(SERVER_HELLO) + len(APP_DATA)
    c.ack(0.031 + late_by, True)
    c.send(0.04 + late_by, True, APP_DATA)
    c.send(0.05 + late_by, False, APP_DATA)
    c.ack(0.051 + late_by, True)
    other = Conv(server="198.18.4.9", sport=443, cport=40001)   # the capture runs on
    other.handshake(16.0)
    c.frames += other.frames
    return c


def test_a_server_hello_reordered_behind_its_next_segment_is_read(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _hello_in_two(0.00003).frames)
    assert "TUNNEL_STALL" not in codes(doc), json.dumps(doc["verdicts"])[:600]
    assert status == 0, codes(doc)
    row = next(r for r in doc["legs"] if r["client_port"] == 40000)
    assert row["tls"] == "hello+server", row


def test_a_server_hello_resent_after_a_loss_before_the_capture_is_read(tmp_path: Path) -> None:
    """Lost before the capture point and resent 0.3 s later: the client got it then."""
    _status, doc, _err = cli(tmp_path, _hello_in_two(0.3).frames)
    row = next(r for r in doc["legs"] if r["client_port"] == 40000)
    assert row["tls"] == "hello+server", row
    assert not any(v["code"] == "TUNNEL_STALL" and v["severity"] == "critical"
                   for v in doc["verdicts"]), codes(doc)


def _abandoned(cport: int, server: str = UPSTREAM) -> Conv:
    """Three SYNs without an answer, then the client's reset: RST+ACK with ACK 0."""
    c = Conv(server=server, sport=8080, cport=cport)
    for ts in (0.0, 1.0, 3.0):
        c.pkt(ts, True, "S", options=[("MSS", 1460)])
    c.pkt(40.0, True, "RA", seq=c.cseq + 1, ack=0)
    return c


def test_a_client_abandoning_its_unanswered_syn_with_a_reset_got_no_connection(
        tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _abandoned(40200).frames)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["confidence"] == "measured", v
    assert "frame 1: SYN to 198.18.4.2:8080 sent 3 times, never answered by a SYN-ACK in this " \
        "capture" in v["evidence"], v["evidence"]


def test_refused_and_unanswered_connections_are_told_apart(tmp_path: Path) -> None:
    """Two refused by a reset, one never answered: "the same in 1 other" under the reset's
    evidence (it said 2, counting the silent one), the silent one cited on its own, and
    the verdict counts all 3 (it said 2: its first group's count)."""
    frames = _abandoned(40200).frames
    for cport, server in ((38391, "198.18.4.7"), (38392, "198.18.4.8")):
        refused = Conv(server=server, sport=8080, cport=cport)
        refused.pkt(0.5, True, "S", options=[("MSS", 1460)])
        refused.pkt(0.501, False, "RA", seq=0, ack=refused.cseq + 1)
        frames += refused.frames
    _status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "PROXY_UNREACHABLE")
    facts = [(f["fact"], f["values"].get("others")) for f in v["facts"]
             if f["fact"] in ("syn-answered-by-rst", "syn-unanswered", "same-in-others")]
    assert sorted(facts, key=str) == [("same-in-others", 1), ("syn-answered-by-rst", None),
                                      ("syn-unanswered", None)], facts
    assert v["connections"] == 3, v["connections"]


def _chdlc_frames(kind: str) -> list[tuple[float, bytes]]:
    """A session as a Cisco router writes it with PPP as the link type: 0x0F 0x00, then
    the ethertype (IPv4), or SLARP keepalives (0x8035) alone."""
    if kind == "slarp":
        return [(t, b"\x8f\x00\x80\x35" + b"\x00" * 18) for t in (0.0, 10.0, 20.0)]
    c = Conv(server=UPSTREAM, sport=179)
    c.handshake(0.0)
    c.send(0.01, True, b"\xff" * 16 + b"\x00\x1d\x01\x04" + b"\x00" * 25)
    c.ack(0.02, False)
    c.close(0.1)
    return [(ts, b"\x0f\x00\x08\x00" + frame[14:]) for ts, frame in c.frames]


def _analyze(path: Path) -> tuple[int, dict[str, Any], str]:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


def test_cisco_hdlc_frames_in_a_ppp_capture_are_read(tmp_path: Path) -> None:
    for linktype in (9, 50):   # LINKTYPE_PPP, LINKTYPE_PPP_HDLC
        cap = write_pcap(tmp_path / f"chdlc-{linktype}.pcap", _chdlc_frames("tcp"), linktype)
        status, doc, err = _analyze(cap)
        assert status == 0 and codes(doc) == ["HEALTHY"], (linktype, err)
        (row,) = doc["legs"]
        assert row["target"] == f"{UPSTREAM}:179" and row["mss_sent"] == 1460, row


def test_a_ppp_capture_of_cisco_hdlc_keepalives_alone_says_so(tmp_path: Path) -> None:
    cap = write_pcap(tmp_path / "slarp.pcap", _chdlc_frames("slarp"), 9)
    status, _doc, err = _analyze(cap)
    assert status == 3, err
    assert "3 Cisco HDLC frames without IP (SLARP keepalives, CDP ...)" in err, err
    assert "PPP control" not in err, err


def test_a_hello_the_server_never_answered_and_closed_after_the_client_is_not_the_path(
        tmp_path: Path) -> None:
    """nDPI's webex.pcap: 12 sessions whose 63-byte ClientHello the server acknowledged and
    never answered; the client closed 5.3 s later and the server's FIN, at its first
    sequence number, shows it had sent nothing. A critical stall said; the path carried all."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.ack(0.02, False)
    c.close(5.3)                     # the client's FIN, then the server's at its own seq
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], codes(doc)
    (row,) = doc["legs"]
    assert row["tls"] == "hello, closed", row
    assert ("frame 6: client FIN 5.3 s after the ClientHello, which the server had "
            "acknowledged and never answered; the server's own close (frame 7) shows by its "
            "sequence number that it sent nothing: the server left the session unanswered "
            "(not a TLS server for that name, a protocol it does not speak, or its policy), "
            "not the path") in row["notes"], row["notes"]
    c.frames.pop(-2)                 # no FIN of the server's: nothing shows what it sent
    c.frames.pop(-1)
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 1 and codes(doc) == ["TUNNEL_STALL"], codes(doc)


def test_a_resent_segment_whose_first_bytes_arrive_is_not_dropped_for_content(
        tmp_path: Path) -> None:
    """nDPI's ultrasurf.pcap: a capture with segmentation offload (2576-byte frames) of a
    lossy transfer; one such frame resent 3 times while the receiver's ACK had moved into
    it (its first 1288 bytes arrived): 'lost every time ... dropped for what it carries',
    critical. A segment partly acknowledged was not dropped whole."""
    c = Conv(server=UPSTREAM, sport=443)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, SERVER_HELLO)
    c.ack(0.03, True)
    big = b"\x17" * 2576                      # a GRO frame: two segments on the wire
    c.send(0.04, False, big)
    c.ack(0.05, True)
    stuck = c.send(0.06, False, big)
    c.send(0.061, False, big)                 # after it: the receiver says it lacks it
    for i in range(3):
        c.pkt(0.07 + i * 0.001, True, "A", ack=stuck)
    c.pkt(0.3, False, "A", big, seq=stuck)
    c.pkt(0.301, True, "A", ack=stuck)
    c.pkt(0.9, False, "A", big, seq=stuck)
    c.pkt(0.901, True, "A", ack=stuck + 1288)   # its first half arrived
    c.pkt(2.1, False, "A", big, seq=stuck)
    c.pkt(2.101, True, "A", ack=stuck + 1288)
    _status, doc, _err = cli(tmp_path, c.frames)
    assert not any(v["code"] == "TUNNEL_STALL" and v["severity"] == "critical"
                   for v in doc["verdicts"]), json.dumps(doc["verdicts"])[:800]


def _answer_after_a_gap() -> Conv:
    """A plain-HTTP request through the proxy whose answer's first 1400 bytes (the status
    line among them) the capture lacks; its last 89 bytes are there (nDPI's quickplay)."""
    c = Conv(server="198.18.2.2", sport=80, cport=54883)
    c.send(19.66, True, b"POST http://upstream.pathprobe.test/sync HTTP/1.1\r\nHost: "
                        b"upstream.pathprobe.test\r\n\r\n")
    c.pkt(21.74, False, "PA", b"\x00" * 89, seq=c.sseq + 1400)
    c.pkt(360.0, True, "A", seq=c.cseq, ack=c.sseq)   # the capture runs on
    return c


def _answered_unseen(text: Path) -> dict[str, Any]:
    """`analyze TEXT`: no missing answer, and the one connection's answer status unseen."""
    status, doc, err = _analyze(text)
    assert status == 0 and "CONNECT_NO_RESPONSE" not in codes(doc), (codes(doc), err)
    (row,) = doc["legs"]
    assert row["status"] == "unseen", row
    return dict(row)


def test_an_answer_whose_head_the_capture_lacks_is_no_missing_answer(tmp_path: Path) -> None:
    """The text showed 'length 89: HTTP' with no status line: a critical CONNECT_NO_RESPONSE
    ('no HTTP answer from the proxy'); the pcap took the 89 bytes for 'no HTTP'. The far end
    answered; which status, the capture cannot tell."""
    status, doc, _err = cli(tmp_path, _answer_after_a_gap().frames)
    assert status == 0 and "CONNECT_NO_RESPONSE" not in codes(doc), codes(doc)
    (row,) = doc["legs"]
    assert row["status"] == "unseen", row
    assert ("frame 2: the answer came after 1400 bytes the capture lacks, its first line "
            "among them: the far end answered; with what status, the capture cannot tell"
            ) in row["notes"], row["notes"]
    text = tmp_path / "quickplay.txt"
    text.write_text(
        "08:27:30.062079 IP 198.18.1.2.54883 > 198.18.2.2.80: Flags [P.], seq 3405870249:"
        "3405870789, ack 2075347623, win 110, length 540: HTTP: POST http://upstream.pathprobe"
        ".test/sync HTTP/1.1\n"
        "08:27:31.366980 IP 198.18.1.2.54883 > 198.18.2.2.80: Flags [P.], seq 0:540, ack 1, "
        "win 110, length 540: HTTP: POST http://upstream.pathprobe.test/sync HTTP/1.1\n"
        "08:27:32.145575 IP 198.18.2.2.80 > 198.18.1.2.54883: Flags [P.], seq 1401:1490, "
        "ack 540, win 2082, length 89: HTTP\n"
        "08:33:10.000000 IP 198.18.1.2.54883 > 198.18.2.2.80: Flags [.], ack 1, win 110, "
        "length 0\n")
    _answered_unseen(text)


def test_a_proxy_request_after_bytes_the_capture_lacks_still_names_the_proxy(
        tmp_path: Path) -> None:
    """What a client says first is read from its first byte only; but a request line to a
    proxy that follows bytes the capture lacks (a keep-alive connection's next request)
    still shows that the server is a proxy."""
    c = Conv(server="198.18.2.2", sport=3128)
    c.handshake(0.0)
    c.cseq += 120                             # the first request: not in the capture
    c.send(0.5, True, b"GET http://upstream.pathprobe.test/b HTTP/1.1\r\nHost: "
                      b"upstream.pathprobe.test\r\n\r\n")
    c.send(0.51, False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.ack(0.52, True)
    c.close(0.6)
    _status, doc, _err = cli(tmp_path, c.frames)
    (row,) = doc["legs"]
    assert row["name"] == "fmc-proxy" and row["status"] == 200, row


def test_a_reset_of_the_first_data_seen_proves_no_size(tmp_path: Path) -> None:
    """nDPI's teams.pcap as a Wireshark list: a connection seen mid-stream, 1102 bytes from
    the server and the client's reset at once (its socket closed before the capture): a
    critical RST_ON_LARGE_SEGMENT, 'MTU at most 1141'. Nothing smaller was delivered first:
    the reset may answer any data; a warning without a size."""
    c = Conv(server=UPSTREAM, sport=443, cport=60512)
    c.send(7.874, False, b"\x17\x03\x03\x04\x49" + b"\x00" * 1097)
    c.pkt(7.8745, True, "R", seq=c.cseq)
    status, doc, _err = cli(tmp_path, c.frames)
    v = verdict(doc, "RST_ON_LARGE_SEGMENT")
    assert status == 1 and v["severity"] == "warning" and v["confidence"] == "inferred", v
    assert "mtu" not in v and "pmtu_high" not in v, v
    assert any("so size is not proven" in e for e in v["evidence"]), v["evidence"]
    assert doc["recommendations"][0]["command"] == f"pathprobe pmtu {UPSTREAM}", doc


def test_an_answer_the_text_shows_no_bytes_of_is_no_missing_answer(tmp_path: Path) -> None:
    """tcpdump text names no payload unless it decodes it: a proxy's 206-byte answer shown
    as 'length 206' alone was a critical CONNECT_NO_RESPONSE; the far end answered."""
    text = tmp_path / "answer.txt"
    text.write_text(
        "10:00:00.003000 IP 198.18.1.2.40000 > 198.18.2.2.80: Flags [P.], seq 1:61, ack 1, "
        "win 502, length 60: HTTP: GET http://upstream.pathprobe.test/ HTTP/1.1\n"
        "10:00:00.050000 IP 198.18.2.2.80 > 198.18.1.2.40000: Flags [P.], seq 1:207, ack 61, "
        "win 502, length 206\n"
        "10:00:00.051000 IP 198.18.1.2.40000 > 198.18.2.2.80: Flags [.], ack 207, win 502, "
        "length 0\n"
        "10:00:05.000000 IP 198.18.2.2.80 > 198.18.1.2.40000: Flags [F.], seq 207, ack 61, "
        "win 502, length 0\n")
    row = _answered_unseen(text)
    assert ("line 2: the answer shows no bytes (text without payload, or a short snap length):"
            " the far end answered; with what status, the capture cannot tell") in row["notes"]


def test_a_tcp_syn_quoted_by_an_icmp_unreachable_is_no_syn_of_the_capture(
        tmp_path: Path) -> None:
    """nDPI's instagram.pcap as 'tcpdump -nn -v' text: the host's own port unreachables
    quote the SYNs they refuse, indented under them; those quotations were read as SYNs
    sent twice and never answered, a critical PROXY_UNREACHABLE the pcap does not have."""
    icmp = ("17:08:28.46475{n} IP (tos 0xc0, ttl 64, id 48407, offset 0, flags [none], proto "
            "ICMP (1), length 88)\n"
            "    198.18.1.2 > 198.18.1.2: ICMP 198.18.4.2 tcp port 443 unreachable, length 68\n"
            "\tIP (tos 0x0, ttl 64, id 22969, offset 0, flags [DF], proto TCP (6), length 60)\n"
            "    198.18.1.2.49400 > 198.18.4.2.443: Flags [S], cksum 0x9714 (incorrect -> "
            "0x1652), seq 4174100418, win 14600, options [mss 1460,sackOK,TS val 257659 ecr "
            "0,nop,wscale 6], length 0\n")
    text = tmp_path / "quoted.txt"
    text.write_text(icmp.format(n=4) + icmp.format(n=8))
    status, doc, err = _analyze(text)
    assert status == 0 and codes(doc) == ["HEALTHY"], (codes(doc), err)
    assert not doc["legs"], doc["legs"]


def _two_synacks(taken: int) -> Conv:
    """A plain-HTTP request through the proxy whose SYN was answered twice, with two
    initial sequence numbers (nDPI's KakaoTalk_talk.pcap); the client takes the
    SYN-ACK ``taken`` (0: the first, 1: the second) and the answer follows that one."""
    c = Conv(server="198.18.2.2", sport=80, cport=48489)
    c.pkt(19.3, True, "S", options=[("MSS", 1400)])
    c.cseq += 1
    isns = (c.sseq, c.sseq + 16_081_090)
    for i, isn in enumerate(isns):
        c.pkt(21.743 + i * 0.001, False, "SA", seq=isn, options=[("MSS", 1400)])
    c.sseq = isns[taken] + 1
    c.ack(21.751, True)
    c.send(21.771, True, b"POST http://upstream.pathprobe.test/report HTTP/1.1\r\nHost: "
                         b"upstream.pathprobe.test\r\nContent-Length: 0\r\n\r\n")
    c.send(23.078, False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.pkt(23.079, False, "FA")
    c.sseq += 1
    c.ack(23.084, True)
    return c


def test_the_syn_ack_a_client_takes_of_two_is_the_one_its_peer_numbers_from(
        tmp_path: Path) -> None:
    """Answered by the second of two SYN-ACKs, the proxy's answer lay 16 MB past the
    first one's numbers: the capture was said to lack 16 MB and the answer was not read."""
    for taken in (0, 1):
        status, doc, _err = cli(tmp_path, _two_synacks(taken).frames)
        (row,) = doc["legs"]
        assert status == 0 and codes(doc) == ["HEALTHY"], (taken, codes(doc))
        assert row["status"] == 200, (taken, row)
        assert not any("lacks" in n for n in doc["notes"]), (taken, doc["notes"])


def test_a_wireshark_list_renumbered_by_a_second_syn_ack_is_no_missing_answer(
        tmp_path: Path) -> None:
    """KakaoTalk_talk.pcap as Wireshark's packet list: Wireshark numbers the server's bytes
    from the second SYN-ACK ('port numbers reused'), so the answer the client had taken from
    the first lies 16 MB before it (Seq=4278886207): a critical CONNECT_NO_RESPONSE."""
    text = tmp_path / "kakao.txt"
    rows = [
        "19.335998 198.18.1.2 → 198.18.2.2 TCP 76 48489 → 80 [SYN] Seq=0 Win=14000 Len=0 "
        "MSS=1400",
        "21.743957 198.18.2.2 → 198.18.1.2 TCP 60 80 → 48489 [SYN, ACK] Seq=0 Ack=1 Win=4380 "
        "Len=0 MSS=1400",
        "21.744690 198.18.2.2 → 198.18.1.2 TCP 60 [TCP Previous segment not captured] [TCP "
        "Port numbers reused] 80 → 48489 [SYN, ACK] Seq=0 Ack=1 Win=4380 Len=0 MSS=1400",
        "21.751922 198.18.1.2 → 198.18.2.2 TCP 56 48489 → 80 [ACK] Seq=1 Ack=4278886207 "
        "Win=14000 Len=0",
        "21.771759 198.18.1.2 → 198.18.2.2 HTTP 665 POST http://upstream.pathprobe.test/report "
        "HTTP/1.1 ",
        "23.010284 198.18.2.2 → 198.18.1.2 TCP 56 80 → 48489 [ACK] Seq=4278886207 Ack=610 "
        "Win=65535 Len=0",
        "23.078430 198.18.2.2 → 198.18.1.2 TCP 262 [TCP Retransmission] 80 → 48489 [PSH, ACK] "
        "Seq=4278886207 Ack=610 Win=65535 Len=206",
        "23.078613 198.18.2.2 → 198.18.1.2 TCP 56 [TCP Retransmission] 80 → 48489 [FIN, ACK] "
        "Seq=4278886413 Ack=610 Win=65535 Len=0",
        "23.084686 198.18.1.2 → 198.18.2.2 TCP 56 48489 → 80 [ACK] Seq=610 Ack=4278886413 "
        "Win=15008 Len=0",
    ]
    text.write_text("".join(f"{i + 1:5d} {r}\n" for i, r in enumerate(rows)))
    row = _answered_unseen(text)
    assert row["name"] == "fmc-proxy", row


def test_a_hello_row_without_ports_goes_to_the_connection_waiting_for_it(
        tmp_path: Path) -> None:
    """KakaoTalk_chat.pcap as Wireshark's packet list: rows of TLS name no ports, and a
    ServerHello row was put on the connection between the two hosts last named, an idle one
    that had its hello long before; the one waiting for it looked stalled (a warning whose
    evidence counted 99 MB 'never acknowledged'). A hello goes where one is owed."""
    text = tmp_path / "chat.txt"
    c, s = "198.18.1.2", "198.18.4.2"
    rows = [
        f"0.000000 {c} → {s} TCP 76 35503 → 443 [SYN] Seq=0 Win=14600 Len=0 MSS=1400",
        f"0.040000 {s} → {c} TCP 60 443 → 35503 [SYN, ACK] Seq=0 Ack=1 Win=4380 Len=0 MSS=1400",
        f"0.041000 {c} → {s} TCP 56 35503 → 443 [ACK] Seq=1 Ack=1 Win=14600 Len=0",
        f"0.042000 {c} → {s} TLSv1 240 Client Hello",
        f"0.090000 {s} → {c} TLSv1 1336 Server Hello",
        f"0.091000 {c} → {s} TCP 56 35503 → 443 [ACK] Seq=185 Ack=1281 Win=16640 Len=0",
        f"0.092000 {c} → {s} TLSv1 182 Client Key Exchange, Change Cipher Spec, Finished",
        f"0.130000 {s} → {c} TLSv1 103 Change Cipher Spec, Encrypted Handshake Message",
        f"0.131000 {s} → {c} TCP 56 443 → 35503 [ACK] Seq=1328 Ack=311 Win=41611 Len=0",
        f"0.140000 {c} → {s} TLSv1 150 Application Data",
        f"0.180000 {s} → {c} TLSv1 200 Application Data",
        f"0.181000 {c} → {s} TCP 56 35503 → 443 [ACK] Seq=405 Ack=1472 Win=16640 Len=0",
        f"9.000000 {c} → {s} TCP 76 35511 → 443 [SYN] Seq=0 Win=14600 Len=0 MSS=1400",
        f"9.040000 {s} → {c} TCP 60 443 → 35511 [SYN, ACK] Seq=0 Ack=1 Win=4380 Len=0 MSS=1400",
        f"9.041000 {c} → {s} TCP 56 35511 → 443 [ACK] Seq=1 Ack=1 Win=14600 Len=0",
        f"9.042000 {c} → {s} TLSv1 240 Client Hello",
        f"9.300000 {s} → {c} TCP 83 443 → 35503 [PSH, ACK] Seq=1472 Ack=405 Win=41611 Len=27",
        f"9.303000 {c} → {s} TCP 56 35503 → 443 [ACK] Seq=405 Ack=1499 Win=21760 Len=0",
        f"9.310000 {s} → {c} TLSv1 1336 Server Hello",
        f"9.311000 {c} → {s} TCP 56 35511 → 443 [ACK] Seq=185 Ack=1281 Win=16640 Len=0",
        f"9.312000 {c} → {s} TLSv1 182 Client Key Exchange, Change Cipher Spec, Finished",
        f"9.350000 {s} → {c} TLSv1 103 Change Cipher Spec, Encrypted Handshake Message",
        f"9.351000 {s} → {c} TCP 56 443 → 35511 [ACK] Seq=1328 Ack=311 Win=41611 Len=0",
        f"9.360000 {c} → {s} TLSv1 150 Application Data",
        f"9.400000 {s} → {c} TLSv1 200 Application Data",
        f"50.000000 {c} → {s} TCP 56 35511 → 443 [ACK] Seq=405 Ack=1472 Win=16640 Len=0",
    ]
    text.write_text("".join(f"{i + 1:5d} {r}\n" for i, r in enumerate(rows)))
    _status, doc, _err = _analyze(text)
    assert {r["client_port"]: r["tls"] for r in doc["legs"]} == {
        35503: "hello+server", 35511: "hello+server"}, doc["legs"]
    # (other rows without ports still fit both: a stall is at most a warning, said to rest
    # on that guess, and no byte is owed)
    for v in doc["verdicts"]:
        assert v["severity"] != "critical", v
        assert not any("never acknowledged" in e for e in v["evidence"]), v["evidence"]


def test_the_notes_that_explain_a_cell_are_shown_under_the_connections_table(
        tmp_path: Path) -> None:
    """An answer 'unseen' was explained only in the JSON row: the text, Markdown and HTML
    reports showed the word without its reason."""
    from markdown_it import MarkdownIt

    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.findings import finish
    from pathprobe.formats import TableFormat
    from pathprobe.render import render
    from tests.reports import check_all

    a = analyze_capture(write_pcap(tmp_path / "q.pcap", _answer_after_a_gap().frames),
                        Filters())
    report = finish([a.measurement], command="analyze", started="2026-12-05T00:00:00+00:00",
                    duration_s=0.1, recommender=a.recommender)
    check_all(report)
    said = ("client port 54883: frame 2: the answer came after 1400 bytes the capture lacks, "
            "its first line among them: the far end answered; with what status, the capture "
            "cannot tell")
    text = render(report, TableFormat.PLAIN, width=400)
    assert f"Connection notes\n  - {said}\n" in text, text
    tokens = MarkdownIt("commonmark").parse(render(report, TableFormat.GITHUB))
    heads = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert heads.index("Connection notes") == heads.index("Measurements") + 1, heads
    assert any(t.type == "inline" and t.content == said for t in tokens)
    page = render(report, TableFormat.HTML)
    assert f"<h2>Connection notes</h2>\n<ul><li>{said}</li>" in page
