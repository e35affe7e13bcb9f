#!/usr/bin/env python3
"""Re-wrap lab captures in the encapsulations `analyze` must open (issue 20, item 8).

Each fixture of tests/fixtures/captures/encap/ is a lab recording of
tests/fixtures/captures/ whose IP packets scapy puts into another frame:
802.1Q, QinQ (802.1ad + 802.1Q), PPPoE session over Ethernet, PPP (link type 9),
GRE, VXLAN (UDP 4789), GENEVE (UDP 6081), Frame Relay (link type 107, RFC 2427 and
Cisco's encapsulation), Linux NFLOG (link type 239; its bytes are built here from
the kernel's layout, scapy has no NFLOG) and 802.11 data frames (radiotap, bare). The
inner packets are unchanged, so `analyze` must give the same verdicts as on the original.
`pppoe-1492` is the classic PPPoE story built here (1492-byte packets cross, 1500-byte ones
vanish). Scapy builds the outer headers (the NFLOG and Frame Relay bytes follow their
specifications), not pathprobe's decoders: the two are independent.

    python scripts/make_encap_captures.py            # writes the fixtures
    python scripts/make_encap_captures.py --check    # fails if a fixture differs
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "tests" / "fixtures" / "captures"
OUT = SRC / "encap"
# Tunnel endpoints: documentation/benchmark addresses only.
OUTER_A, OUTER_B = "198.18.100.1", "198.18.100.2"


def _wrappers() -> dict[str, tuple[Callable[[bytes], object], int]]:
    """name -> (IP packet bytes -> scapy frame, link type)."""
    from scapy.contrib.geneve import GENEVE
    from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
    from scapy.layers.inet import GRE, IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import LLC, SNAP, Dot1AD, Dot1Q, Dot3, Ether
    from scapy.layers.ppp import PPP, PPPoE
    from scapy.layers.vxlan import VXLAN
    from scapy.packet import Raw

    def inner(ip: bytes) -> object:
        return IPv6(ip) if ip[0] >> 4 == 6 else IP(ip)

    def eth(ip: bytes) -> object:
        return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / inner(ip)

    def wire_len(ip: bytes) -> int:
        """The packet's length on the wire, by its IP header: the lab's captures are cut at
        a snap length, and a PPPoE header says how long the packet was, not what was kept."""
        if ip[0] >> 4 == 6:
            return 40 + int.from_bytes(ip[4:6], "big")
        return int.from_bytes(ip[2:4], "big")

    def outer() -> object:
        return Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02") / IP(
            src=OUTER_A, dst=OUTER_B, flags="DF", ttl=64)

    def v6(ip: bytes) -> bool:
        return ip[0] >> 4 == 6

    def raw(frame: bytes) -> object:
        return Raw(frame)

    def nflog(ip: bytes) -> object:
        """Linux NFLOG as the kernel hands it to libpcap: family, version 0, group (big
        endian); TLVs with length and type in the host's order (little endian here), each
        padded to 4 bytes: packet header, prefix "pp", then the packet (type 9)."""
        def tlv(kind: int, value: bytes) -> bytes:
            body = struct.pack("<HH", 4 + len(value), kind) + value
            return body + bytes(-len(body) % 4)
        return raw(bytes([10 if v6(ip) else 2, 0]) + struct.pack(">H", 1)
                   + tlv(1, struct.pack(">HBB", 0x86DD if v6(ip) else 0x0800, 3, 0))
                   + tlv(10, b"pp\x00") + tlv(9, ip))

    def wifi(ip: bytes, qos: bool, ds: int) -> object:
        """An 802.11 data frame (``ds``: 1 to the AP, 3 between two APs: four addresses),
        LLC/SNAP, the packet: as an open network's monitor-mode capture shows it."""
        frame = Dot11(type=2, subtype=8 if qos else 0, FCfield=ds, addr1="02:00:00:00:00:02",
                      addr2="02:00:00:00:00:01", addr3="02:00:00:00:00:03",
                      addr4="02:00:00:00:00:04")
        return (frame / Dot11QoS() if qos else frame) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) \
            / SNAP(OUI=0, code=0x86DD if v6(ip) else 0x0800) / inner(ip)

    return {
        # 802.11 (Wi-Fi) data frames: with a radiotap header (link type 127, QoS data), and
        # bare (105) between two access points (four addresses)
        "radiotap": (lambda ip: RadioTap() / wifi(ip, True, 1), 127),
        "wifi-wds": (lambda ip: wifi(ip, False, 3), 105),
        # Frame Relay (link type 107): a Q.922 address (DLCI 100), then RFC 2427's UI
        # control byte and NLPID, or Cisco's encapsulation (an ethertype)
        "frelay": (lambda ip: raw(b"\x18\x41\x03" + (b"\x8e" if v6(ip) else b"\xcc") + ip), 107),
        "frelay-cisco": (lambda ip: raw(b"\x18\x41" + (b"\x86\xdd" if v6(ip) else b"\x08\x00")
                                        + ip), 107),
        "nflog": (nflog, 239),
        # Cisco's VN-Tag (a Nexus 2000 FEX port's SPAN): ethertype 0x8926, 4 bytes of tag
        # (destination VIF 0x33, source VIF 0x21), then an 802.1Q tag, then the packet
        "vntag": (lambda ip: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02",
                                   type=0x8926) / raw(b"\x00\x33\x00\x21\x81\x00")
                  / Dot1Q(vlan=250) / inner(ip), 1),
        # an 802.3 frame (a length, not an ethertype) with LLC/SNAP (RFC 1042)
        "snap": (lambda ip: Dot3(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                 / SNAP(OUI=0, code=0x86DD if v6(ip) else 0x0800) / inner(ip), 1),
        "vlan": (lambda ip: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / Dot1Q(vlan=100) / inner(ip), 1),
        "qinq": (lambda ip: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / Dot1AD(vlan=200) / Dot1Q(vlan=100) / inner(ip), 1),
        "pppoe": (lambda ip: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                  / PPPoE(sessionid=0x1234, len=2 + wire_len(ip))
                  / PPP(proto=0x57 if ip[0] >> 4 == 6 else 0x21) / inner(ip), 1),
        "ppp": (lambda ip: PPP(proto=0x57 if ip[0] >> 4 == 6 else 0x21) / inner(ip), 9),
        "gre": (lambda ip: outer() / GRE(proto=0x86DD if ip[0] >> 4 == 6 else 0x0800)
                / inner(ip), 1),
        "gre-key-seq": (lambda ip: outer() / GRE(key_present=1, key=42, seqnum_present=1,
                                                 seqence_number=7, proto=0x6558) / eth(ip), 1),
        "vxlan": (lambda ip: outer() / UDP(sport=49152, dport=4789) / VXLAN(vni=4242)
                  / eth(ip), 1),
        "geneve": (lambda ip: outer() / UDP(sport=49152, dport=6081)
                   / GENEVE(vni=4242, proto=0x6558) / eth(ip), 1),
    }


# (source fixture, wrappers applied to it)
PLAN = {
    "blackhole-leg1": ("vlan", "qinq", "pppoe", "ppp", "gre", "gre-key-seq", "vxlan", "geneve",
                       "frelay", "nflog"),
    "rst": ("pppoe", "ppp", "vxlan", "frelay-cisco", "radiotap", "snap"),
    "healthy-v6": ("qinq", "gre", "geneve", "frelay", "nflog", "wifi-wds", "vntag"),
    "pppoe-1492": ("pppoe", "ppp"),
}


def ip_packets(path: Path) -> list[tuple[float, bytes]]:
    """(timestamp, IP packet) of an Ethernet fixture, read with scapy."""
    from scapy.utils import RawPcapReader

    out = []
    for data, meta in RawPcapReader(str(path)):
        et = int.from_bytes(data[12:14], "big")
        if et in (0x0800, 0x86DD):
            out.append((meta.sec + meta.usec / 1e6, bytes(data[14:])))
    return out


def pppoe_1492() -> list[tuple[float, bytes]]:
    """The classic PPPoE case: 1492-byte packets get through, 1500-byte ones vanish (the
    FMC retransmits its 1460-byte segment and nothing acknowledges it)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from make_text_captures import Conv, app_data

    c = Conv(1460, 1460)
    c.opening()
    c.add(0.012, True, "PA", app_data(1452))       # 1492-byte packet: acknowledged
    c.add(0.020, False, "A")
    c.add(0.010, True, "PA", app_data(1460))       # 1500-byte packet: never
    start = c.seq[True] - 1460
    for dt in (0.21, 0.42, 0.84, 1.68):
        c.add(dt, True, "PA", app_data(1460), seq=start)
    return [(float(f.time), bytes(f)[14:]) for f in c.packets]  # type: ignore[attr-defined]


def build(out_dir: Path) -> list[Path]:
    from scapy.utils import PcapWriter

    wrappers = _wrappers()
    written = []
    for source, names in PLAN.items():
        packets = pppoe_1492() if source == "pppoe-1492" else ip_packets(SRC / f"{source}.pcap")
        for name in names:
            wrap, linktype = wrappers[name]
            path = out_dir / f"{source}.{name}.pcap"
            with PcapWriter(str(path), linktype=linktype, sync=True) as w:
                for ts, ip in packets:
                    frame = wrap(ip)
                    frame.time = ts  # type: ignore[attr-defined]
                    w.write(frame)
            written.append(path)
    no_ip = out_dir / "lldp-only.pcap"
    from scapy.layers.l2 import Ether
    with PcapWriter(str(no_ip), linktype=1, sync=True) as w:
        for i in range(3):
            frame = Ether(src="02:00:00:00:00:01", dst="01:80:c2:00:00:0e", type=0x88CC) \
                / (b"\x02\x07\x04" + bytes(6) + b"\x00" * 20)
            frame.time = 1700000000 + i  # type: ignore[attr-defined]
            w.write(frame)
    written.append(no_ip)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files")
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            bad = [p.name for p in build(Path(tmp))
                   if (OUT / p.name).read_bytes() != p.read_bytes()]
        print("differ: " + ", ".join(bad) if bad else "all fixtures match")
        return 1 if bad else 0
    OUT.mkdir(exist_ok=True)
    for p in build(OUT):
        print(f"wrote {p.relative_to(REPO)} ({p.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
