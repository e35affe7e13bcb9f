"""`analyze` on the test captures of packetnet (dotpcap/packetnet: Test/CaptureFiles), a
public collection nobody here made. Its ipv4_tso_frame.pcap and ip_packet_bogus_length.pcap
hold segments captured on the sender before segmentation offload (TSO/LSO): the IPv4
total length still says 0, as Wireshark notes ("reported as 0, presumed to be because of
TCP segmentation offload"). They were read as empty, a 5808-byte segment became "1 TCP
packet that carries no data". The captures here are our own, built to the same shape."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_analyze_any_capture import UPSTREAM, Conv, cli, codes

TSO_NOTE = ("1 IPv4 packet with a total length of 0 (first at frame 4): captured on the "
            "sender before segmentation offload (TSO/LSO) filled it in")


def _offloaded(c: Conv, ts: float, size: int) -> None:
    """One segment of ``size`` bytes from the client as the sender's capture shows it
    before the NIC cuts it up: IPv4 total length 0."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    pkt = (Ether() / IP(src=c.client, dst=c.server, flags="DF", len=0)
           / TCP(sport=c.cport, dport=c.sport, flags="PA", seq=c.cseq, ack=c.sseq)
           / (b"x" * size))
    c.frames.append((ts, bytes(pkt)))
    c.cseq += size


def test_a_segment_captured_before_offload_is_read_at_its_captured_length(
        tmp_path: Path) -> None:
    c = Conv(server=UPSTREAM, sport=80, cport=50534)
    c.handshake(0.0)
    _offloaded(c, 0.01, 5808)           # four 1452-byte segments on the wire
    c.ack(0.05, False)                  # the server has them all
    c.send(0.06, False, b"HTTP/1.1 200 OK\r\n\r\n")
    c.ack(0.07, True)
    c.close(0.1)
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]
    (row,) = doc["legs"]
    assert row["max_seg_up"] == 5808, row
    assert any(n.startswith(TSO_NOTE) for n in doc["notes"]), doc["notes"]
    # (bytes acknowledged, none of them seen: what reading it as empty concluded)
    assert not any("not captured" in n or "missed" in n for n in doc["notes"]), doc["notes"]


def test_a_lone_offloaded_segment_is_a_connection_from_mid_stream(tmp_path: Path) -> None:
    """ipv4_tso_frame.pcap itself: one such segment, no handshake, no answer."""
    c = Conv(server=UPSTREAM, sport=80, cport=50534)
    _offloaded(c, 0.0, 5808)
    status, doc, _err = cli(tmp_path, c.frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]
    (row,) = doc["legs"]
    assert (row["client_port"], row["max_seg_up"]) == (50534, 5808), row
    assert not any("carry no data" in n for n in doc["notes"]), doc["notes"]
