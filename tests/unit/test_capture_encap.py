"""Encapsulations `analyze` opens (issue 20 item 8): 802.1Q/QinQ, VN-Tag, E-Tag, 802.3
LLC/SNAP, PPPoE, PPP (link type 9), MPLS, GRE, VXLAN, GENEVE, IP-in-IP, Frame Relay, Linux
NFLOG, 802.11: byte vectors for the decoders, and the real CLI on lab captures that scapy
re-wrapped (scripts/make_encap_captures.py)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture.analysis import track
from pathprobe.capture.collector import Filters
from pathprobe.capture.linklayer import inner_ip, ip_offset, pppoe_ip_limit
from pathprobe.capture.reader import ReadStats
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import Flow, write_pcap

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
ENCAP = CAPTURES / "encap"

# A minimal IPv4 header (TCP) and IPv6 header, enough for the offset logic.
V4 = bytes([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]) + bytes([198, 18, 1, 2, 198, 18, 2, 2])
V6 = bytes([0x60, 0, 0, 0, 0, 20, 6, 64]) + bytes(32)
ETH = b"\x02" * 12
SNAP_V4, SNAP_V6 = b"\xaa\xaa\x03\x00\x00\x00\x08\x00", b"\xaa\xaa\x03\x00\x00\x00\x86\xdd"
RADIOTAP = b"\x00\x00\x08\x00\x00\x00\x00\x00"     # version 0, length 8, no field


def outer_v4(proto: int, payload: bytes) -> bytes:
    return bytes([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0]) + bytes(8) + payload


def udp(dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", 49152, dport, 8 + len(payload), 0) + payload


@pytest.mark.parametrize(("linktype", "frame", "offset"), [
    (1, ETH + b"\x81\x00\x00\x64\x08\x00" + V4, 18),                          # 802.1Q
    (1, ETH + b"\x88\xa8\x00\xc8\x81\x00\x00\x64\x86\xdd" + V6, 22),          # QinQ
    (1, ETH + b"\x88\x64\x11\x00\x12\x34\x00\x2a\x00\x21" + V4, 22),          # PPPoE
    (1, ETH + b"\x81\x00\x00\x64\x88\x64\x11\x00\x12\x34\x00\x2a\x00\x57" + V6, 26),
    (1, ETH + b"\x88\x64\x11\x00\x12\x34\x00\x2a\xc0\x21" + bytes(20), -1),   # LCP, no IP
    (1, ETH + b"\x88\x63\x11\x09\x00\x00\x00\x00" + bytes(20), -1),           # discovery
    (1, ETH + b"\x88\x47" + b"\x00\x01\x00\x40" + b"\x00\x02\x01\x40" + V4, 22),  # MPLS x2
    # Cisco VN-Tag (4 bytes after 0x8926), alone and between 802.1Q tags (Zeek's vntag and
    # vntag_vlan_sandwich); 802.1BR E-Tag (6 bytes); cut short inside the tag
    (1, ETH + b"\x89\x26\x00\x33\x00\x21\x08\x00" + V4, 20),
    (1, ETH + b"\x81\x00\x00\xfa\x89\x26\x00\x00\x00\x33\x81\x00\x00\xfa\x86\xdd" + V6, 28),
    (1, ETH + b"\x89\x3f" + bytes(6) + b"\x08\x00" + V4, 22),
    (1, ETH + b"\x89\x26\x00\x33", -1),
    # 802.3 length + LLC/SNAP (RFC 1042; 802.1H's bridge-tunnel OUI), one not IP (ARP)
    (1, ETH + b"\x00\x30" + SNAP_V4 + V4, 22), (1, ETH + b"\x00\x40" + SNAP_V6 + V6, 22),
    (1, ETH + b"\x00\x30\xaa\xaa\x03\x00\x00\xf8\x08\x00" + V4, 22),
    (1, ETH + b"\x00\x30\xaa\xaa\x03\x00\x00\x00\x08\x06" + bytes(28), -1),
    (1, ETH + b"\x00\x30\x42\x42\x03" + bytes(30), -1),                 # STP
    (9, b"\xff\x03\x00\x21" + V4, 4),                                          # PPP, HDLC a/c
    (9, b"\x00\x57" + V6, 2),                                                  # PPP, no a/c
    (9, b"\x21" + V4, 1),                                                      # compressed
    (9, b"\xff\x03\xc0\x21" + bytes(20), -1),                                  # LCP
    (50, b"\xff\x03\x00\x21" + V4, 4),
    (51, b"\x11\x00\x12\x34\x00\x2a\x00\x21" + V4, 8),                         # PPPoE, bare
    (104, b"\x0f\x00\x08\x00" + V4, 4),                                        # Cisco HDLC
    (9, b"\xff", -1), (51, b"\x11\x00", -1), (1, ETH + b"\x88\x64\x11", -1),   # cut short
    # Frame Relay (107): Q.922 address, RFC 2427 (UI, NLPID; SNAP; a pad) or Cisco's
    (107, b"\x18\x41\x03\xcc" + V4, 4), (107, b"\x18\x41\x03\x8e" + V6, 4),
    (107, b"\x18\x41\x03\x00\xcc" + V4, 5),
    (107, b"\x18\x41\x03\x80\x00\x00\x00\x08\x00" + V4, 9),
    (107, b"\x18\x61\x08\x00" + V4, 4),                       # Arkime's icmp-frame-relay
    (107, b"\x18\x00\x00\x41\x03\xcc" + V4, 6),               # a 4-byte address
    (107, b"\x18\x41\x03\x08" + bytes(20), -1),               # Q.933 signalling, no IP
    (107, b"\x19\x41\x03\xcc" + V4, -1), (107, b"\x18\x41", -1),   # no address; cut
    # Linux NFLOG (239): header, TLVs (host order; length includes the 4, padded to 4)
    (239, b"\x02\x00\x00\x01" + b"\x08\x00\x01\x00\x08\x00\x03\x00"
     + b"\x07\x00\x0a\x00pp\x00\x00" + b"\x2c\x00\x09\x00" + V4, 24),
    (239, b"\x0a\x00\x00\x01" + b"\x00\x08\x00\x01\x86\xdd\x03\x00"
     + b"\x00\x3c\x00\x09" + V6, 16),                          # a big-endian host
    (239, b"\x02\x00\x00\x01" + b"\x08\x00\x01\x00\x08\x00\x03\x00", -1),  # no packet
    (239, b"\x02\x00\x00\x01" + b"\x02\x00\x09\x00" + V4, -1),        # a TLV too short
    # 802.11 data frames (105 bare; 127 radiotap, 192 PPI, 163 AVS, 119 Prism first)
    (105, b"\x08\x01" + bytes(22) + SNAP_V4 + V4, 32),                 # data, to the AP
    (105, b"\x08\x03" + bytes(28) + SNAP_V6 + V6, 38),                 # four addresses
    (105, b"\x88\x01" + bytes(24) + SNAP_V4 + V4, 34),                 # QoS data
    (105, b"\x88\x81" + bytes(28) + SNAP_V4 + V4, 38),                 # QoS + HT control
    (105, b"\x08\x41" + bytes(22) + SNAP_V4 + V4, -1),                 # protected
    (105, b"\x48\x01" + bytes(22), -1), (105, b"\x80\x00" + bytes(40), -1),   # null; beacon
    (127, RADIOTAP + b"\x88\x01" + bytes(24) + SNAP_V4 + V4, 42),
    (127, b"\x00\x00\x0a\x00\x02\x00\x00\x00\x20\x00" + b"\x88\x01" + bytes(24)
     + bytes(2) + SNAP_V4 + V4, 46),                                   # Flags: padded to 4
    (127, b"\x00\x00\x18\x00\x03\x00\x00\x00" + bytes(8) + b"\x20" + bytes(7) + b"\x88\x01"
     + bytes(24) + bytes(2) + SNAP_V4 + V4, 60),                       # TSFT, then Flags
    (192, b"\x00\x00\x08\x00\x69\x00\x00\x00" + b"\x08\x01" + bytes(22) + SNAP_V4 + V4, 40),
    (192, b"\x00\x00\x08\x00\x01\x00\x00\x00" + ETH + b"\x08\x00" + V4, 22),  # Ethernet
    (163, b"\x80\x21\x10\x01\x00\x00\x00\x40" + bytes(56) + b"\x08\x01" + bytes(22)
     + SNAP_V4 + V4, 96),
    (119, b"\x41\x00\x00\x00\x90\x00\x00\x00" + bytes(136) + b"\x08\x01" + bytes(22)
     + SNAP_V4 + V4, 176),
])
def test_link_layer_offsets(linktype: int, frame: bytes, offset: int) -> None:
    assert ip_offset(linktype, frame) == offset


GRE_V4 = b"\x00\x00\x08\x00"
VXLAN = b"\x08\x00\x00\x00\x00\x10\x92\x00"


@pytest.mark.parametrize(("packet", "offset"), [
    (outer_v4(47, GRE_V4 + V4), 24),                                            # GRE
    (outer_v4(47, b"\xb0\x00\x08\x00" + bytes(12) + V4), 36),                   # C, K, S
    (outer_v4(47, b"\x00\x00\x65\x58" + ETH + b"\x08\x00" + V4), 38),           # bridged
    (outer_v4(47, b"\x10\x00\x88\xbe" + bytes(4) + bytes(8) + ETH + b"\x08\x00" + V4), 50),
    (outer_v4(47, b"\x00\x01\x88\x0b" + bytes(8)), -1),                          # PPTP GRE v1
    (outer_v4(17, udp(4789, VXLAN + ETH + b"\x08\x00" + V4)), 50),             # VXLAN
    (outer_v4(17, udp(4789, b"\x00" * 8 + ETH + b"\x08\x00" + V4)), -1),       # no I flag
    (outer_v4(17, udp(6081, b"\x00\x00\x65\x58" + bytes(4) + ETH + b"\x86\xdd" + V6)), 50),
    (outer_v4(17, udp(6081, b"\x02\x00\x08\x00" + bytes(4) + bytes(8) + V4)), 44),  # options
    (outer_v4(17, udp(53, bytes(40))), -1),                                     # just UDP
    (outer_v4(4, V4), 20), (outer_v4(41, V6), 20),                             # IP-in-IP
    (outer_v4(17, udp(4789, VXLAN + ETH + b"\x08\x00" + outer_v4(47, GRE_V4 + V4))), 74),
    (outer_v4(6, bytes(20)), -1),                                               # plain TCP
    (bytes([0x45, 0, 0, 0, 0, 0, 0x20, 0, 64, 47, 0, 0]) + bytes(8) + GRE_V4 + V4, -1),  # MF
])
def test_tunnel_offsets(packet: bytes, offset: int) -> None:
    assert inner_ip(packet, 0) == offset


@settings(max_examples=400, deadline=None)
@given(linktype=st.sampled_from([0, 1, 9, 50, 51, 104, 105, 107, 113, 119, 127, 163, 192, 239,
                                  276]),
       data=st.binary(max_size=120))
def test_offsets_never_raise_and_stay_inside(linktype: int, data: bytes) -> None:
    off = ip_offset(linktype, data)
    assert off == -1 or 0 <= off <= len(data)
    inner = inner_ip(data, max(off, 0))
    assert inner == -1 or 0 < inner < len(data)


def analyze(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          capture_output=True, text=True, env=cli_env(), check=False,
                          timeout=120)


def summary(path: Path) -> list[tuple[object, ...]]:
    proc = analyze(path)
    assert proc.returncode in (0, 1) and not proc.stderr.strip(), proc.stderr
    doc = json.loads(proc.stdout)
    return [(v["code"], v["leg"], v["direction"], v.get("pmtu_low"), v.get("pmtu_high"))
            for v in doc["verdicts"]]


@pytest.mark.parametrize("path", sorted(p for p in ENCAP.glob("*.pcap") if "." in p.stem
                                       and not p.name.startswith("pppoe-1492")),
                         ids=lambda p: p.stem)
def test_wrapped_captures_give_the_verdicts_of_the_original(path: Path) -> None:
    original = CAPTURES / f"{path.stem.split('.')[0]}.pcap"
    want = summary(original)
    assert (want and want[0][0] != "HEALTHY") or "healthy" in original.stem
    assert summary(path) == want


@pytest.mark.parametrize("wrap", ["pppoe", "ppp"])
def test_the_classic_pppoe_1492_case(wrap: str) -> None:
    """1492-byte packets acknowledged, a 1500-byte one retransmitted into silence, inside
    PPPoE over Ethernet and on a PPP link (DLT 9): the bracket is 1492..1499."""
    (v,) = summary(ENCAP / f"pppoe-1492.{wrap}.pcap")
    assert v == ("PMTU_BLACKHOLE", "fmc-proxy", "up", 1492, 1499)


def test_no_ip_at_all_names_what_is_there_and_how_to_recapture() -> None:
    proc = analyze(ENCAP / "lldp-only.pcap")
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "no IP packet in 3 frames" in line and "LLDP" in line and "tcpdump -i" in line


def test_what_tags_carry_is_named(tmp_path: Path) -> None:
    """A frame without IP behind tags is named by what the tags carry (Zeek's pbb.pcap:
    802.1ah inside 802.1Q was '12 ethertype 0x8100 (802.1Q)')."""
    frame = ETH + b"\x81\x00\x0f\xd3\x88\xe7\x00\x1e\xbb\x30" + bytes(40)
    path = write_pcap(tmp_path / "pbb.pcap", [(1.0, frame), (2.0, frame)])
    proc = analyze(path)
    assert proc.returncode == 3
    assert "no IP packet in 2 frames (2 ethertype 0x88e7 (802.1ah PBB) (tagged))" in proc.stderr


def test_unknown_link_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "docsis.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 143)
                     + struct.pack("<IIII", 0, 0, 40, 40) + bytes(40))
    proc = analyze(path)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "DOCSIS (link type 143)" in line and "tcpdump -i" in line, line


@pytest.mark.parametrize("linktype", [105, 127])
def test_wifi_without_ip_says_where_to_capture(tmp_path: Path, linktype: int) -> None:
    """A beacon and an encrypted data frame: no IP to read (the tcpdump project's 200
    radiotap captures of management frames); was refused by its link type alone."""
    radio = b"\x00\x00\x08\x00\x00\x00\x00\x00" if linktype == 127 else b""
    frames = [radio + b"\x80\x00" + bytes(40),
              radio + b"\x08\x41" + bytes(22) + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + bytes(40)]
    path = tmp_path / "wifi.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
                     + b"".join(struct.pack("<IIII", 0, 0, len(f), len(f)) + f for f in frames))
    proc = analyze(path)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "no IP packet in 2 frames (2 802.11 management, control or encrypted frames)" \
        in line and "wired side of the access point" in line, line


def test_generator_reproduces_the_fixtures() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_encap_captures.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                          text=True, env=cli_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("linktype", "frame", "limit"), [
    (1, ETH + b"\x88\x64\x11\x00\x12\x34\x00\x2a\x00\x21" + V4, 40),   # PPPoE: 42 - 2
    (1, ETH + b"\x88\x64\x11\x00\x12\x34\x00\x24\x00\x21" + V4, 34),   # says less
    (1, ETH + b"\x88\xa8\x00\xc8\x81\x00\x00\x64\x88\x64\x11\x00\x12\x34\x00\x2a"
     b"\xff\x03\x00\x21" + V4, 38),                                     # QinQ, a/c bytes
    (51, b"\x11\x00\x12\x34\x01\x02\x00\x21" + V4, 256),                # bare PPPoE
    (1, ETH + b"\x08\x00" + V4, None), (1, ETH + b"\x81\x00\x00\x64\x08\x00" + V4, None),
    (9, b"\xff\x03\x00\x21" + V4, None), (113, bytes(16) + V4, None),
])
def test_pppoe_length_bounds_the_ip_packet(linktype: int, frame: bytes,
                                          limit: int | None) -> None:
    assert pppoe_ip_limit(linktype, frame, ip_offset(linktype, frame)) == limit


def _in_pppoe(frame: bytes, padding: int = 0) -> bytes:
    """An Ethernet/IPv4 frame moved into a PPPoE session; ``padding`` zero bytes follow the
    IP packet and are counted in its total length but not in the PPPoE length (the stack
    in Zeek's pppoe-over-qinq.pcap)."""
    ip = bytearray(frame[14:])
    length = len(ip)
    if padding:
        ip[2:4] = (length + padding).to_bytes(2, "big")
        ip += bytes(padding)
    return (frame[:12] + b"\x88\x64\x11\x00\x0f\x07" + (length + 2).to_bytes(2, "big")
            + b"\x00\x21" + bytes(ip))


def test_padding_counted_in_the_ip_length_is_no_data_in_pppoe(tmp_path: Path) -> None:
    """A pure ACK whose IP length says 46 in a PPPoE frame whose length leaves 40: tcpdump's
    "truncated-ip - 6 bytes missing!". The 6 zero bytes after it are padding, not data the
    peer never acknowledged (they made a TUNNEL_STALL warning of a healthy session)."""
    f = Flow(server="198.18.3.2", sport=443)
    f.handshake(0.0)
    f.send(0.01, True, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03")
    f.send(0.02, False, b"\x16\x03\x03\x00\x05\x02\x00\x00\x01\x03")
    f.ack(0.03, True)
    f.ack(0.04, False)                                 # to be padded
    f.close(0.05)
    frames = [(ts, _in_pppoe(fr, 6 if i == 5 else 0)) for i, (ts, fr) in enumerate(f.frames)]
    tracker = track(write_pcap(tmp_path / "p.pcap", frames), Filters(), ReadStats())
    (conn,) = tracker.finish()
    assert conn.down.bytes == 10 and conn.down.retransmits == 0
    assert conn.up.bytes == 10


def test_frame_relay_without_ip_is_named(tmp_path: Path) -> None:
    """The tcpdump project's isis_stlv_asan: IS-IS over Frame Relay, no IP at all (it was
    'link type 107, which carries no IP pathprobe can find')."""
    path = tmp_path / "fr.pcap"
    frame = b"\x18\x41\x03\x83" + bytes(20)          # UI, NLPID 0x83: IS-IS
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 107)
                     + struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
    proc = analyze(path)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "no IP packet in 1 frame (1 Frame Relay frames without IP (Q.933 signalling, " \
           "IS-IS" in line and "on Frame Relay" in line, line
