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


def test_tcpdump_text_of_offloaded_segments_is_no_capture_loss(tmp_path: Path) -> None:
    """What `tcpdump -n` prints of such a capture (Zeek's kerberos_tso.pcapng): 'IP bad-len
    0', without addresses or bytes. The bytes the peer then acknowledges were those, not
    packets the capture dropped, which is what the capture-loss note said."""
    from tests.unit.test_capture_snaplen import _analyze, _notes

    text = tmp_path / "tso.txt"
    text.write_text("\n".join([
        "10:00:00.000000 IP 198.18.1.2.50534 > 198.18.3.3.80: Flags [S], seq 1000, win 64240, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
        "10:00:00.001000 IP 198.18.3.3.80 > 198.18.1.2.50534: Flags [S.], seq 7000, ack 1001, "
        "win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 7], length 0",
        "10:00:00.002000 IP 198.18.1.2.50534 > 198.18.3.3.80: Flags [.], ack 1, win 502, "
        "length 0",
        "10:00:00.010000 IP bad-len 0",
        "10:00:00.050000 IP 198.18.3.3.80 > 198.18.1.2.50534: Flags [.], ack 5809, win 500, "
        "length 0",
        "10:00:00.060000 IP 198.18.3.3.80 > 198.18.1.2.50534: Flags [P.], seq 1:20, ack 5809, "
        "win 500, length 19",
        "10:00:00.070000 IP 198.18.1.2.50534 > 198.18.3.3.80: Flags [F.], seq 5809, ack 20, "
        "win 502, length 0",
        "10:00:00.080000 IP 198.18.3.3.80 > 198.18.1.2.50534: Flags [F.], seq 20, ack 5810, "
        "win 500, length 0",
    ]) + "\n")
    status, doc, _err = _analyze(text)
    assert status == 0, doc
    notes = _notes(doc)
    assert any(n.startswith("1 line(s) 'IP bad-len 0' (first: line 4): IPv4 packets of total "
                            "length 0, captured on the sender before segmentation offload")
               for n in notes), notes
    assert not any("the capture dropped packets" in n for n in notes), notes
    # without such a line, no word of them (it said "0 line(s) 'IP bad-len 0'" of any text)
    text.write_text(text.read_text().replace("10:00:00.010000 IP bad-len 0\n", ""))
    status, doc, _err = _analyze(text)
    assert not any("bad-len" in n for n in _notes(doc)), _notes(doc)
    assert any("the capture dropped packets" in n for n in _notes(doc)), _notes(doc)
