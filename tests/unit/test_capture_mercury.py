"""`analyze` on the test captures of Cisco's mercury (cisco/mercury: unit_tests/pcaps) and of
PcapPlusPlus (Tests/*/PacketExamples), public collections nobody here made. Several are
pieces of captures from different years merged into one file (mercury's emix.pcap spans
2003 to 2025): a connection's wait was measured to the file's last packet, years later.
The captures here are our own, built to the same shapes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_analyze_any_capture import UPSTREAM, Conv, cli, tls_session, verdict
from tests.unit.test_capture_analysis import CLIENT_HELLO, SERVER_HELLO

DAY = 86400.0


def _later_piece(ts: float, cport: int = 41000) -> list[tuple[float, bytes]]:
    """A healthy session of another capture, merged in at ``ts``."""
    c = Conv(server="198.18.4.3", sport=443, cport=cport)
    tls_session(c, ts)
    return c.frames


def test_a_lone_syn_before_a_merged_piece_waited_only_until_the_pause(tmp_path: Path) -> None:
    """PcapPlusPlus's gtpv2.pcap: one SYN, then pieces of captures days apart. The SYN
    'was never sent again in the 1039236.0 s of capture that followed'; that capture ran
    only seconds after it."""
    lone = Conv(server=UPSTREAM, sport=8443, cport=40001)
    lone.pkt(0.0, True, "S", options=[("MSS", 1460)])
    frames = lone.frames + _later_piece(4.0, 40002) + _later_piece(12 * DAY)
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "PROXY_UNREACHABLE")
    assert status == 1 and v["severity"] == "warning", v
    assert any(e.startswith("the client never sent that SYN again in the 4.1 s of capture "
                            "that followed") for e in v["evidence"]), v["evidence"]


def test_a_syn_right_before_a_pause_is_not_judged(tmp_path: Path) -> None:
    """A SYN the capture stops watching 0.2 s later (the next packet is another capture's,
    two days on) had no time to be answered: as a SYN the capture ends with."""
    lone = Conv(server=UPSTREAM, sport=8443, cport=40001)
    lone.pkt(0.0, True, "S", options=[("MSS", 1460)])
    frames = lone.frames + _later_piece(0.2, 40002) + _later_piece(2 * DAY)
    status, doc, _err = cli(tmp_path, frames)
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"], doc["verdicts"]


def test_a_hello_before_a_merged_piece_ends_where_the_capture_breaks_off(
        tmp_path: Path) -> None:
    """mercury's emix.pcap: a ClientHello, the server never seen, 99.8 s of other traffic,
    then a piece four years later. It read 'still open when the capture ended (125211092.3 s
    later)'. Here the hello is resent (so no ACK came: a stall, not a one-way capture); the
    silence it watched is the warning's, the years are not."""
    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    for t in (0.0, 1.0, 3.0):
        c.pkt(t, True, "PA", CLIENT_HELLO)
    frames = c.frames + _later_piece(99.8, 40002) + _later_piece(4 * 365 * DAY)
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    said = [e for e in v["evidence"] if e.startswith("no ServerHello")]
    assert said == ["no ServerHello; connection still open where the capture breaks off after "
                    "frame 13 (96.9 s after its last packet: a pause, or another capture's "
                    "packets, follows) after 96.9 s without data"], v["evidence"]
    assert not any("126144" in e for e in v["evidence"]), v["evidence"]


def test_a_silence_before_a_merged_piece_ends_where_the_capture_breaks_off(
        tmp_path: Path) -> None:
    """mercury's capture2.pcap: a TLS session's last data, 8.5 s of other traffic, then a
    piece years later: 'then 8.5 s without data ; connection still open when the capture
    ended (226814040.3 s later)'."""
    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, SERVER_HELLO)
    c.send(0.03, True, b"\x17\x03\x03\x00\x40" + bytes(64))     # a request...
    c.ack(0.04, False)                                         # ...never answered
    frames = c.frames + _later_piece(8.5, 40002) + _later_piece(7 * 365 * DAY)
    _status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "TUNNEL_STALL")
    last = [e for e in v["evidence"] if ": last data, then " in e]
    assert last == ["frame 6: last data, then 8.6 s without data; connection still open where "
                    "the capture breaks off after frame 17 (8.6 s after its last packet: a pause, "
                    "or another capture's packets, follows)"], v["evidence"]


def _hello_alone(server: str, cport: int, ts: float, resends: tuple[float, ...] = ()) -> Conv:
    """A connection the capture shows by its ClientHello only (no SYN, no server packet)."""
    c = Conv(server=server, sport=443, cport=cport)
    for t in (ts, *resends):
        c.pkt(t, True, "PA", CLIENT_HELLO)
    return c


def test_hellos_never_resent_with_the_server_unseen_are_a_one_way_capture(
        tmp_path: Path) -> None:
    """FoxIO's ja4 tls-sni.pcapng: only the ClientHellos of 42 connections (an export
    filtered to them), no SYN, no server packet, none resent in the 21 s that followed. It
    was a TUNNEL_STALL warning, 'the server never answers'. A sender without an ACK resends
    within seconds: each got its ACK, so the capture lacks the servers' packets and cannot
    tell whether a ServerHello came. A note says so; a hello resent stays a stall."""
    frames = [f for i in range(5)
              for f in _hello_alone(f"198.18.4.{10 + i}", 40010 + i, i * 0.5).frames]
    frames += [f for f in _later_piece(20.0, 40030)]
    status, doc, _err = cli(tmp_path, frames)
    assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"], doc["verdicts"]
    assert ("5 connection(s) whose data was never sent again although not one packet of the "
            "other side was captured in the 3 s or more that followed: a sender without an "
            "ACK resends within seconds, so each got one; the capture lacks that direction "
            "(a filter, or routing past another point) and cannot show what came back"
            ) in doc["notes"], doc["notes"]
    resent = _hello_alone(UPSTREAM, 40001, 0.0, resends=(1.0, 3.0, 7.0)).frames
    status, doc, _err = cli(tmp_path, resent + _later_piece(20.0, 40030))
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1, v


def test_a_too_big_below_the_least_link_mtu_lowers_nothing(tmp_path: Path) -> None:
    """Suricata's ipv6-atomic-fragments-toobig: a Packet Too Big naming MTU 1200 for a
    1201-byte packet was PMTU_REDUCED 'MTU at most 1200 ... PMTUD works'. No IPv6 link has
    less than 1280 bytes; hosts do not lower a path MTU below it (RFC 8201), nor below 68
    for IPv4 (RFC 1191): a note, no verdict. The same for a TCP connection it quotes."""
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6

    from tests.unit.test_analyze_any_capture import FMC, FMC6, ROUTER, ROUTER6, SERVER6, ether

    ping6 = IPv6(src=FMC6, dst=SERVER6) / ICMPv6EchoRequest(id=7, seq=1) / (b"p" * 1153)
    err6 = IPv6(src=ROUTER6, dst=FMC6) / ICMPv6PacketTooBig(mtu=1200) / bytes(ping6)
    ping4 = IP(src=FMC, dst=UPSTREAM, flags="DF") / ICMP(id=7, seq=1) / (b"p" * 472)
    err4 = IP(src=ROUTER, dst=FMC) / ICMP(type=3, code=4, nexthopmtu=60) / bytes(ping4)[:28]
    for ping, err, said in (
            (ping6, err6, f"frame 2: {ROUTER6} says the next hop MTU is 1200, below the least "
                          "any IPv6 link has (1280)"),
            (ping4, err4, f"frame 2: {ROUTER} says the next hop MTU is 60, below the least any "
                          "IPv4 link has (68)")):
        status, doc, _err = cli(tmp_path, [(0.0, ether(ping)), (0.05, ether(err))])
        assert status == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"], doc
        assert any(n.startswith(said) for n in doc["notes"]), doc["notes"]
    c = Conv(client=FMC6, server=SERVER6, sport=443, cport=40001)
    c.handshake(0.0)
    seg = IPv6(src=FMC6, dst=SERVER6) / TCP(sport=40001, dport=443, flags="PA",
                                              seq=c.cseq, ack=c.sseq) / (b"x" * 1400)
    c.send(0.01, True, b"x" * 1400)
    tb = IPv6(src=ROUTER6, dst=FMC6) / ICMPv6PacketTooBig(mtu=1200) / bytes(seg)[:1232]
    status, doc, _err = cli(tmp_path, [*c.frames, (0.02, ether(tb))])
    assert "PMTU_REDUCED" not in [v["code"] for v in doc["verdicts"]], doc["verdicts"]
    assert any(n.startswith(f"frame 5: {ROUTER6} says the next hop MTU is 1200") for n in
               doc["notes"]), doc["notes"]


def test_a_row_whose_time_alone_is_far_off_is_no_other_snippet(tmp_path: Path) -> None:
    """mercury's imap2.pcap and PcapPlusPlus's pcapng-example as Wireshark lists: the
    SYN-ACK's row alone says 1538646470.98 s, its neighbours 0.000000 and 0.000064. It
    started a pasted snippet of its own, so the SYN was 'sent once, never answered'. A time
    far from both neighbours, which agree, is garbled: the line takes its predecessor's."""
    import re
    import subprocess
    import sys

    from tests.conftest import cli_env
    from tests.unit.test_capture_analysis import write_pcap

    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    tls_session(c, 0.0)
    cap = write_pcap(tmp_path / "s.pcap", sorted(c.frames))
    rows = subprocess.run(["tshark", "-n", "-r", str(cap)], capture_output=True, text=True,
                          check=True, timeout=60).stdout.splitlines()
    rows[1] = re.sub(r"^(\s*2\s+)\S+", r"\g<1>1538646470.976976", rows[1])
    text = tmp_path / "s.txt"
    text.write_text("\n".join(rows) + "\n")
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(text), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and [v["code"] for v in doc["verdicts"]] == ["HEALTHY"], doc
    assert "1 of 1 TCP connection analysed" in doc["notes"][0], doc["notes"][0]
    assert ("1 line(s) with a time more than a day from both neighbours', which agree (first: "
            "line 2): a crafted or garbled time, taken as the line before's, not as the start "
            "of another snippet") in doc["notes"], doc["notes"]


def test_a_packet_too_big_inside_6in4_is_read_from_tcpdump_lines(tmp_path: Path) -> None:
    """nDPI's 6in4tunnel.pcap: a Hurricane Electric tunnel whose far end sends 'IP a > b: IP6
    c > d: ICMP6, packet too big, mtu 1460' inside IPv4. The pcap says PMTU_REDUCED 1460;
    as tcpdump lines the message was not read at all (a tunnel's TCP was, its ICMP not)."""
    import subprocess
    import sys

    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

    from tests.conftest import cli_env
    from tests.unit.test_analyze_any_capture import FMC, FMC6, SERVER6, ether
    from tests.unit.test_capture_analysis import write_pcap

    tunnel = ("198.18.9.1", FMC)      # the tunnel's far end, and the FMC (6in4: proto 41)
    seg = IPv6(src=FMC6, dst=SERVER6) / TCP(sport=40001, dport=443, flags="PA") / (b"x" * 1440)
    ptb = IPv6(src=SERVER6, dst=FMC6) / ICMPv6PacketTooBig(mtu=1460) / bytes(seg)[:1232]
    frames = [(0.0, ether(IP(src=tunnel[1], dst=tunnel[0]) / seg)),
              (0.01, ether(IP(src=tunnel[0], dst=tunnel[1]) / ptb))]
    cap = write_pcap(tmp_path / "t.pcap", frames)
    lines = subprocess.run(["tcpdump", "-n", "-r", str(cap)], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    assert "IP6" in lines and "packet too big, mtu 1460" in lines, lines
    text = tmp_path / "t.txt"
    text.write_text(lines)
    for source in (cap, text):
        r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(source), "--json"],
                           capture_output=True, text=True, env=cli_env(), timeout=120,
                           check=False)
        doc = json.loads(r.stdout)
        found = [v for v in doc["verdicts"] if v["code"] == "PMTU_REDUCED"]
        assert len(found) == 1 and found[0]["pmtu_high"] == 1460, (source, doc["verdicts"])


def test_the_innermost_icmp_of_a_line_is_a_line_of_its_own() -> None:
    from pathprobe.capture.texttunnel import inner_icmp

    nested = ("16:55:01.251002 IP 198.18.9.1 > 198.18.1.2: IP6 2001:db8:4::2 > 2001:db8:1::2: "
              "ICMP6, packet too big, mtu 1460, length 1240")
    assert inner_icmp(nested, None) == ("16:55:01.251002 IP6 2001:db8:4::2 > 2001:db8:1::2: "
                                        "ICMP6, packet too big, mtu 1460, length 1240")
    assert inner_icmp(nested.split(" ", 1)[1], "10:00:00.5").startswith("10:00:00.5 IP6 ")
    plain = "16:55:01.251002 IP6 2001:db8:4::2 > 2001:db8:1::2: ICMP6, packet too big, mtu 1460"
    assert inner_icmp(plain, None) is None
