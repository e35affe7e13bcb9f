"""Hex dumps as text: the lab's captures printed by the real tshark with -x (the frames'
bytes alone, as Wireshark's 'Copy as Hex Dump' and text2pcap's input), -P -x (each row and
its bytes) and -V -x, analysed through the CLI against the same capture as a pcap.

- tshark -x was "not a capture" (its lines were taken for -V's noise); below -V's detail
  they were skipped, and with them the payload that -V's fields do not spell out.
- tshark -P -x was read as rows alone: the bytes below each row, which hold every
  sequence number, length, option and an ICMP error's MTU, were skipped; the MTU story
  was a warning 'the row shows neither the MTU nor the packet'.
- Bytes without a time cannot show a stall: 'HEALTHY (measured)' said too much."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.text import parse_text
from pathprobe.capture.texthex import dumped_packet, hex_dump
from pathprobe.wire.headers import TCP_ACK, TCP_PSH, TCP_SYN
from tests.unit.test_capture_content_unseen import CAPTURES, _report

STORIES = ("healthy", "acl", "mtu", "rst", "blackhole-leg1", "blackhole-leg2", "stall",
           "healthy-sll2", "healthy-v6", "auth-ntlm", "clamp", "upstream-down", "no-response")
# what a time shows: a stall, an unanswered CONNECT; without times they look healthy
NEEDS_TIME = ("blackhole-leg2", "stall", "no-response")


def _tshark(tmp_path: Path, story: str, *flags: str) -> Path:
    text = tmp_path / f"{story}{''.join(flags)}.txt"
    text.write_text(subprocess.run(["tshark", "-r", str(CAPTURES / f"{story}.pcap"), *flags],
                                   capture_output=True, text=True, check=True,
                                   timeout=60).stdout)
    return text


def _verdicts(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(v["code"], v["leg"], v["direction"], v["severity"], v.get("pmtu_low"),
             v.get("pmtu_high"), v.get("mtu")) for v in doc["verdicts"]]


def _legs(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(leg["name"], leg["mss_sent"], leg["mss_received"], leg["max_seg_up"],
             leg["max_seg_down"], leg["ended"], leg["tls"]) for leg in doc["legs"]]


@pytest.mark.parametrize("story", STORIES)
def test_rows_with_their_bytes_read_as_the_capture(tmp_path: Path, story: str) -> None:
    pcap = _report(CAPTURES / f"{story}.pcap")
    text = _report(_tshark(tmp_path, story, "-P", "-x"))
    assert _verdicts(text) == _verdicts(pcap)
    assert _legs(text) == _legs(pcap)
    assert "hex dump" in " ".join(text["notes"])
    detail = _report(_tshark(tmp_path, story, "-V", "-x"))   # (its bytes make no packets)
    assert _verdicts(detail) == _verdicts(pcap)


@pytest.mark.parametrize("story", STORIES)
def test_bytes_alone_read_as_the_capture_but_its_times(tmp_path: Path, story: str) -> None:
    pcap = _report(CAPTURES / f"{story}.pcap")
    for text in (_tshark(tmp_path, story, "-x"), _wireshark_copy(tmp_path, story)):
        doc = _report(text)
        notes = " ".join(doc["notes"])
        assert "text (hex dump)" in notes and "carry no time" in notes, notes
        if story in NEEDS_TIME:
            assert [v[0] for v in _verdicts(doc)] == ["HEALTHY"]
            facts = [f["fact"] for v in doc["verdicts"] for f in v["facts"]]
            assert doc["verdicts"][0]["confidence"] == "inferred"
            assert "text-healthy-untimed" in facts, facts
            continue
        assert _verdicts(doc) == _verdicts(pcap)
        assert [leg[:5] for leg in _legs(doc)] == [leg[:5] for leg in _legs(pcap)]


def _wireshark_copy(tmp_path: Path, story: str) -> Path:
    """As Wireshark's 'Copy as Hex Dump' lays the bytes out: three blanks after the offset."""
    lines = _tshark(tmp_path, story, "-x").read_text().splitlines()
    out = tmp_path / f"{story}-copied.txt"
    out.write_text("\n".join(ln[:4] + " " + ln[4:] if ln[:4].isalnum() else ln for ln in lines))
    return out


def _hex(data: bytes) -> list[str]:
    return [f"{off:04x}  " + " ".join(f"{b:02x}" for b in data[off:off + 16]) + "   ascii"
            for off in range(0, len(data), 16)]


def _ipv4(proto: int, src: bytes, dst: bytes, body: bytes) -> bytes:
    """An IPv4 header (DF, its checksum right) and ``body``."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0x4000, 64, proto, 0,
                         src, dst)
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:] + body


def _segment(payload: bytes = b"", flags: int = TCP_ACK | TCP_PSH) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40000, 3128, 1000, 2000, 0x60, flags, 501, 0, 0) \
        + b"\x02\x04\x05\xb4"
    return _ipv4(6, bytes([198, 18, 1, 2]), bytes([198, 18, 2, 2]), tcp + payload)


def test_a_dump_is_one_packet_behind_any_link_header() -> None:
    segment = _segment(b"CONNECT a.test:443 HTTP/1.1\r\n\r\n", TCP_SYN)
    ether = b"\x02" * 12 + b"\x08\x00"
    sll2 = b"\x08\x00\x00\x00" + b"\x00" * 16
    loopback = b"\x02\x00\x00\x00"     # (Npcap's on Windows: the IP checksum left to offload)
    unsummed = segment[:10] + b"\x00\x00" + segment[12:]
    for frame in (ether + segment, segment, sll2 + segment, ether + segment[:60],
                  loopback + unsummed):
        dump = hex_dump(_hex(frame), 0)
        assert dump is not None and dump[1] == frame
        p = dumped_packet(dump[1], 3)
        assert p is not None
        assert (p.line, p.src, p.sport, p.dst, p.dport, p.seq, p.ack, p.mss, p.ts) == (
            3, "198.18.1.2", 40000, "198.18.2.2", 3128, 1000, 2000, 1460, None)
        assert p.length == 31 and p.flags == TCP_SYN
    assert hex_dump(_hex(segment)[1:], 0) is None          # an offset must start at 0
    assert dumped_packet(b"\x02" * 12 + b"\x08\x06" + bytes(28), 1) is None   # ARP
    # 802.15.4 bytes that read as an IPv4 header of the dump's length, its checksum wrong
    assert dumped_packet(bytes.fromhex("480200004d2c1e7d2803000000072000ffffda1c00001660")
                         + bytes(25), 1) is None
    assert dumped_packet(segment[:10] + b"\x00\x00" + segment[12:], 1) is None


def test_a_frag_needed_dump_names_its_mtu_and_the_packet_it_quotes() -> None:
    quoted = _segment(bytes(1448))[:28]
    icmp = b"\x03\x04\x00\x00\x00\x00\x05\x78" + quoted
    p = dumped_packet(_ipv4(1, bytes([198, 18, 1, 1]), bytes([198, 18, 1, 2]), icmp), 9)
    assert p is not None and p.icmp_mtu == 1400 and p.quoted_len == 1492
    assert p.quoted is not None and (p.quoted.src, p.quoted.dport) == ("198.18.1.2", 3128)


def test_bytes_that_are_no_frame_are_skipped_with_their_label() -> None:
    """tshark -x shows reassembled or decrypted bytes below a frame's, under a label: no
    packet, even when they look like one, and however long (offsets past 0xffff). Below a
    row, the frame's own label comes first (tcpflow's jpegs.cap as tshark -P -x: the row
    and its bytes were two packets, one without a time, and 7,891 lines of a reassembled
    body were 'skipped'); an IP fragment's bytes hold no TCP header (its payload read as
    one made connections that were never there)."""
    ether = b"\x02" * 12 + b"\x08\x00"
    frame = ether + _segment(b"x" * 10)
    body = _segment(b"y" * 10) + b"y" * 70000     # (looks like a packet, then goes on)
    lines = ["Frame (64 bytes):", *_hex(frame), "Reassembled TCP (70044 bytes):",
             *_hex(body), ""]
    parsed = parse_text(lines)
    assert [(p.line, p.length) for p in parsed.packets] == [(2, 10)]
    assert parsed.unparsed == 0 and parsed.other_protocols == 0
    row = "    7   0.250000   198.18.1.2 → 198.18.2.2   HTTP 64 CONNECT a.test:443 HTTP/1.1"
    parsed = parse_text([row, "", *lines])
    assert [(p.line, p.length, p.ts, p.form.value) for p in parsed.packets] == [
        (1, 10, 0.25, "Wireshark/tshark packet list")]
    assert parsed.unparsed == 0 and parsed.other_protocols == 0
    fragment = bytearray(_segment(b"z" * 40))
    fragment[6:8] = (0x2000 | 93).to_bytes(2, "big")      # more fragments, at 744 bytes
    assert dumped_packet(ether + bytes(fragment), 1) is None
    assert dumped_packet(ether + bytes(fragment[:6]) + b"\x00\x5d" + bytes(fragment[8:]),
                         1) is None


def test_rows_of_a_protocol_that_names_no_ports_are_read_from_their_bytes(
        tmp_path: Path) -> None:
    """A row of a protocol over TCP that shows no ports ("Modbus/TCP ... Query: Trans: 1")
    was of 'another protocol', and its bytes were skipped with it: our Modbus exchange as
    tshark -P -x carried no data at all (largest segments 0 / 0); ICS-Security-Tools'
    EIP-FirmwareChange (CIP rows) became a stall whose receiver 'sent not one packet'."""
    from tests.unit.test_capture_analysis import Flow, write_pcap

    flow = Flow(server="198.18.2.2", sport=502)
    flow.handshake(0.0)
    t = 0.01
    for i in range(1, 6):
        flow.send(t, True, struct.pack("!HHHBBHH", i, 0, 6, 1, 3, 0, 1))
        flow.send(t + 0.002, False, struct.pack("!HHHBBBH", i, 0, 5, 1, 3, 2, 42))
        flow.ack(t + 0.004, True)
        t += 1
    flow.close(t)
    pcap = write_pcap(tmp_path / "modbus.pcap", flow.frames)
    text = tmp_path / "modbus.txt"
    text.write_text(subprocess.run(["tshark", "-r", str(pcap), "-P", "-x"], capture_output=True,
                                   text=True, check=True, timeout=60).stdout)
    assert "Modbus/TCP" in text.read_text()
    from_pcap, from_text = _report(pcap), _report(text)
    assert _verdicts(from_text) == _verdicts(from_pcap)
    assert _legs(from_text) == _legs(from_pcap) and _legs(from_text)[0][3:5] == (12, 11)


def test_a_syn_sent_again_is_unanswered_without_times(tmp_path: Path) -> None:
    """A SYN its client sent three times, never answered (PPA's ftp-client-denied): the
    resends prove the client waited for an answer, time shown or not. As tshark -x it was
    'nothing measured' (the rule asked for a second of capture after it). Once proves
    nothing without a time, and twice may be one capture saved twice (PPA's ftp-crack)."""
    from tests.unit.test_capture_analysis import Flow, write_pcap

    flow = Flow(server="198.18.2.2", sport=21)
    for t in (0.0, 3.0, 9.0):
        flow._pkt(t, True, "S", options=[("MSS", 1460)])
    pcap = write_pcap(tmp_path / "denied.pcap", flow.frames)
    once = write_pcap(tmp_path / "once.pcap", flow.frames[:1])
    twice = write_pcap(tmp_path / "twice.pcap", flow.frames[:2])   # (or one capture, twice)
    for capture, want in ((pcap, [("PROXY_UNREACHABLE", "critical")]),
                          (once, [("HEALTHY", "info")]), (twice, [("HEALTHY", "info")])):
        text = tmp_path / f"{capture.stem}.txt"
        text.write_text(subprocess.run(["tshark", "-r", str(capture), "-x"],
                                       capture_output=True, text=True, check=True,
                                       timeout=60).stdout)
        doc = _report(text)
        assert [(v[0], v[3]) for v in _verdicts(doc)] == want, doc["verdicts"]
    assert [(v[0], v[3]) for v in _verdicts(_report(pcap))] == [("PROXY_UNREACHABLE",
                                                                "critical")]
    # Where times show three sends a millisecond apart, no timer ran out: crafted (the
    # tcpdump project's detect-ipopts and bgp-shutdown captures), no verdict
    flow.frames.clear()
    for i, options in enumerate(([("MSS", 1460)], [("MSS", 1460), ("NOP", None)],
                                 [("MSS", 1460), ("SAckOK", b"")])):
        flow._pkt(0.001 * i, True, "S", options=options)   # (each its own: no copies)
    crafted = write_pcap(tmp_path / "crafted.pcap", flow.frames)
    assert [(v[0], v[3]) for v in _verdicts(_report(crafted))] == [("HEALTHY", "info")]


def classic_text(story: str, form: str) -> str:
    """The lab capture as ASA/FTD 'show capture' prints it in ``form`` ('asa', 'asa-detail',
    'asa-dump'; scripts/make_text_captures; also for test_capture_text_wrapped)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "make_text_captures", Path(__file__).resolve().parents[2] / "scripts" /
        "make_text_captures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.classic(CAPTURES / f"{story}.pcap", form))


def _asa_dump(tmp_path: Path, story: str) -> Path:
    text = tmp_path / f"{story}.asa-dump.txt"
    text.write_text(classic_text(story, "asa-dump"))
    return text


@pytest.mark.parametrize("story", (*STORIES, "blackhole-leg1-down"))
def test_lines_with_their_bytes_read_as_the_capture(tmp_path: Path, story: str) -> None:
    """tcpdump -x, -XX, -S -x and ASA/FTD 'show capture NAME dump': a line and its bytes
    below. A pure ACK's line shows no sequence number; its bytes do. In blackhole-leg1-down
    the proxy's last ACK is 20,233 bytes ahead of what arrived (data sent, never seen here):
    TUNNEL_STALL from the pcap, HEALTHY from these texts on 112b9c3."""
    pcap = _report(CAPTURES / f"{story}.pcap")
    texts = [_asa_dump(tmp_path, story)] if story != "healthy-sll2" else []   # (Ethernet)
    for flags in ("-nx", "-nXX", "-nSx"):
        text = tmp_path / f"{story}{flags}.txt"
        text.write_text(subprocess.run(["tcpdump", flags, "-r", str(CAPTURES / f"{story}.pcap")],
                                       capture_output=True, text=True, check=True,
                                       timeout=60).stdout)
        texts.append(text)
    for text in texts:
        doc = _report(text)
        assert _verdicts(doc) == _verdicts(pcap), text.name
        assert _legs(doc) == _legs(pcap), text.name
