"""`analyze` on the test captures of Cisco's mercury (cisco/mercury: unit_tests/pcaps) and of
PcapPlusPlus (Tests/*/PacketExamples), public collections nobody here made. Several are
pieces of captures from different years merged into one file (mercury's emix.pcap spans
2003 to 2025): a connection's wait was measured to the file's last packet, years later.
The captures here are our own, built to the same shapes."""

from __future__ import annotations

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
    later)'. The silence it watched is the warning's; the years are not."""
    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    c.pkt(0.0, True, "PA", CLIENT_HELLO)
    frames = c.frames + _later_piece(99.8, 40002) + _later_piece(4 * 365 * DAY)
    status, doc, _err = cli(tmp_path, frames)
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    said = [e for e in v["evidence"] if e.startswith("no ServerHello")]
    assert said == ["no ServerHello; connection still open where the capture breaks off after "
                    "frame 11 (99.9 s later: a pause, or another capture's packets, follows) "
                    "after 99.9 s without data"], v["evidence"]
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
                    "the capture breaks off after frame 17 (8.6 s later: a pause, or another "
                    "capture's packets, follows)"], v["evidence"]
