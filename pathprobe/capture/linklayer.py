"""Link layers and tunnels: where the IP header of a frame starts. Pure: bytes in, offsets out.

Which link types carry IP we can find (and the names of those that do not, for the
error that says how to re-capture), 802.1Q/QinQ tags, PPP/PPPoE, MPLS, Frame Relay, Linux
NFLOG, 802.11 data frames behind their radio headers, and the tunnels inside IP (GRE,
ERSPAN, VXLAN, GENEVE, IP-in-IP). The capture reader
(``pathprobe.capture.reader``) hands frames over; ``analysis.track`` asks here where IP is.
"""

from __future__ import annotations

import struct

# One frame as the reader hands it over: (frame number from 1, timestamp in seconds, link
# type, captured bytes, wire length)
Frame = tuple[int, float, int, bytes, int]

# Link types (https://www.tcpdump.org/linktypes.html) we can find IP in.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9          # DLT_PPP: PPP frames, optionally with HDLC address/control bytes
LINKTYPE_RAW_OLD = 12   # DLT_RAW on most BSDs / old libpcap
LINKTYPE_RAW_OBSD = 14
LINKTYPE_RAW = 101
LINKTYPE_PPP_HDLC = 50    # PPP in HDLC-like framing (0xFF 0x03 ...)
LINKTYPE_PPP_ETHER = 51   # PPPoE session header, then PPP (no Ethernet header)
LINKTYPE_C_HDLC = 104     # Cisco HDLC: address, control, then an ethertype
LINKTYPE_IEEE802_11 = 105   # 802.11 (Wi-Fi); Prism, radiotap, AVS and PPI put a radio header first
LINKTYPE_FRELAY = 107     # Frame Relay: a Q.922 address, then RFC 2427's NLPID or an ethertype
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_PRISM = 119
LINKTYPE_RADIOTAP = 127
LINKTYPE_AVS = 163
LINKTYPE_PPI = 192
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239      # Linux NFLOG ('tcpdump -i nflog:N'): TLVs, one of them the packet
LINKTYPE_LINUX_SLL2 = 276
# Not a link type: pasted text's frame maker marks where one snippet ends and the next,
# with a clock of its own, begins (capture/textframes.py). Never in a capture file.
LINKTYPE_TEXT_BREAK = -1
# links whose frames are the IP packet itself
RAW_IP_LINKTYPES = frozenset({LINKTYPE_RAW, LINKTYPE_RAW_OLD, LINKTYPE_RAW_OBSD, LINKTYPE_IPV4,
                              LINKTYPE_IPV6})

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "BSD loopback", LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW_OLD: "raw IP",
    LINKTYPE_RAW_OBSD: "raw IP", LINKTYPE_RAW: "raw IP", LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)", LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6", LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
    LINKTYPE_PPP: "PPP", LINKTYPE_PPP_HDLC: "PPP in HDLC framing", LINKTYPE_PPP_ETHER: "PPPoE",
    LINKTYPE_C_HDLC: "Cisco HDLC", LINKTYPE_FRELAY: "Frame Relay", LINKTYPE_NFLOG: "Linux NFLOG",
    LINKTYPE_IEEE802_11: "IEEE 802.11 (Wi-Fi)", LINKTYPE_PRISM: "802.11 Prism",
    LINKTYPE_RADIOTAP: "802.11 radiotap", LINKTYPE_AVS: "802.11 AVS", LINKTYPE_PPI: "PPI",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)


# Link types seen in the wild that carry no IP we can find, named so the error says what
# the file is (https://www.tcpdump.org/linktypes.html); the advice says where to capture.
OTHER_LINKTYPES: dict[int, tuple[str, str]] = {
    6: ("Token Ring", ""), 8: ("SLIP", ""), 10: ("FDDI", ""),
    143: ("DOCSIS", ""), 187: ("Bluetooth HCI", ""),
    195: ("IEEE 802.15.4", ""), 197: ("Endace ERF", ""), 201: ("Bluetooth", ""),
    220: ("USB", ""), 253: ("Linux netlink", ""),
}


def linktype_name(linktype: int) -> str:
    """The link type's name, for messages ("link type 147" when we do not know it)."""
    if linktype in LINKTYPE_NAMES:
        return LINKTYPE_NAMES[linktype]
    if linktype in OTHER_LINKTYPES:
        return f"{OTHER_LINKTYPES[linktype][0]} (link type {linktype})"
    if 147 <= linktype <= 162:
        return f"a private link type (DLT_USER{linktype - 147}, link type {linktype})"
    return f"link type {linktype}"


# A Wi-Fi capture shows IP only of open or decrypted networks: data frames of others are
# encrypted, and what is left is management and control frames.
_WIRELESS = "capture on the wired side of the access point, or on the FMC's own interface"
_WIFI_LINKTYPES = frozenset({LINKTYPE_IEEE802_11, LINKTYPE_PRISM, LINKTYPE_RADIOTAP,
                             LINKTYPE_AVS, LINKTYPE_PPI})


def recapture_advice(linktype: int) -> str:
    """How to take a capture we can read instead."""
    if linktype in _WIFI_LINKTYPES:
        return _WIRELESS
    advice = OTHER_LINKTYPES.get(linktype, ("", ""))[1]
    return advice or ("re-capture with 'tcpdump -i any -w FILE' (Linux cooked) or on the "
                      "Ethernet interface ('tcpdump -i eth0 -w FILE')")




# --- link layer ------------------------------------------------------------------------

# Tags before the next ethertype: TPID -> bytes after it. Cisco's VN-Tag (Nexus 2000 FEX,
# UCS fabric interconnects: a SPAN of a FEX port shows it) and 802.1BR's E-Tag.
_ETH_TAG_BYTES = {0x8100: 2, 0x88A8: 2, 0x9100: 2, 0x8926: 4, 0x893F: 6}
# 802.2 LLC + SNAP with an ethertype (RFC 1042 OUI 0, 802.1H bridge-tunnel OUI 00-00-F8)
_LLC_SNAP = (b"\xaa\xaa\x03\x00\x00\x00", b"\xaa\xaa\x03\x00\x00\xf8")
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
ETHERTYPE_PPPOE_SESSION = 0x8864
ETHERTYPE_MPLS = (0x8847, 0x8848)
ETHERTYPE_TEB = 0x6558                     # transparent Ethernet bridging (GRE, GENEVE)
ETHERTYPE_ERSPAN2, ETHERTYPE_ERSPAN3 = 0x88BE, 0x22EB
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
PROTO_IPIP, PROTO_IPV6_IN_IP, PROTO_GRE, PROTO_UDP = 4, 41, 47, 17
UDP_VXLAN, UDP_GENEVE = 4789, 6081
MPLS_MAX_LABELS = 8
NEST_MAX = 4                               # tunnels inside tunnels we follow


def _ip_version_at(data: bytes, off: int) -> int:
    return off if len(data) > off and data[off] >> 4 in (4, 6) else -1


def _ppp_payload(data: bytes, off: int) -> int:
    """Offset of IP in a PPP frame at ``off`` (address/control bytes optional, protocol
    field compressed to one byte or not), or -1 (LCP, IPCP, CHAP ...)."""
    if data[off:off + 2] == b"\xff\x03":
        off += 2
    if len(data) <= off:
        return -1
    if data[off] & 1:                      # a compressed (one-byte) protocol field
        proto, off = data[off], off + 1
    elif len(data) >= off + 2:
        proto, off = (data[off] << 8) | data[off + 1], off + 2
    else:
        return -1
    return _ip_version_at(data, off) if proto in (PPP_IPV4, PPP_IPV6) else -1


def _cisco_hdlc(data: bytes) -> bool:
    """A Cisco HDLC frame (address 0x0F unicast or 0x8F broadcast, control 0, ethertype)
    where PPP was declared: libpcap allows it in LINKTYPE_PPP_HDLC, routers write it in
    LINKTYPE_PPP too, and no PPP protocol field starts so (its first byte is even)."""
    return len(data) >= 4 and data[0] in (0x0F, 0x8F) and data[1] == 0


def _pppoe_payload(data: bytes, off: int) -> int:
    """A PPPoE session header (6 bytes: ver/type 0x11, code 0, session, length), then PPP."""
    if len(data) < off + 8 or data[off] != 0x11 or data[off + 1] != 0:
        return -1
    return _ppp_payload(data, off + 6)


def _frelay_payload(data: bytes) -> int:
    """Frame Relay: a Q.922 address of 2 to 4 bytes (the last has its EA bit set), then
    RFC 2427's UI control byte 0x03 and an NLPID (0xCC IPv4, 0x8E IPv6, 0x80 SNAP with an
    ethertype, after an optional 0x00 pad), or Cisco's encapsulation: an ethertype."""
    end = next((i for i in range(min(len(data), 4)) if data[i] & 1), -1)
    if end < 1:
        return -1
    off = end + 1
    if len(data) < off + 2:
        return -1
    if data[off] != 0x03:
        return _after_ethertype(data, (data[off] << 8) | data[off + 1], off + 2)
    off += 2 if data[off + 1] == 0 else 1
    if len(data) <= off:
        return -1
    if data[off] in (0xCC, 0x8E):
        return _ip_version_at(data, off + 1)
    if data[off] == 0x80 and len(data) >= off + 6:
        return _after_ethertype(data, (data[off + 4] << 8) | data[off + 5], off + 6)
    return -1


def _nflog_payload(data: bytes) -> int:
    """Linux NFLOG: family, version 0, group; then TLVs whose length and type are in the
    capturing host's byte order (little endian tried first), each padded to 4 bytes. The
    TLV of type 9 (NFULA_PAYLOAD) is the packet; a log entry may carry none."""
    n = len(data)
    if n < 8 or data[1] != 0:
        return -1
    little = 4 <= (data[4] | data[5] << 8) <= n - 4
    off = 4
    while off + 4 <= n:
        if little:
            size, kind = data[off] | data[off + 1] << 8, data[off + 2] | data[off + 3] << 8
        else:
            size, kind = data[off] << 8 | data[off + 1], data[off + 2] << 8 | data[off + 3]
        if size < 4:
            return -1
        if kind & 0x7FFF == 9:
            return _ip_version_at(data, off + 4)
        off += (size + 3) & ~3
    return -1


def _wifi_payload(data: bytes, off: int, pad: bool = False) -> int:
    """An 802.11 data frame at ``off``: its header (24 bytes; a fourth address, QoS and HT
    control add to it; ``pad``: aligned to 4, as the radio header said), then LLC/SNAP and
    an ethertype. Management, control, null and encrypted (protected) frames hold no IP."""
    if len(data) < off + 24:
        return -1
    fc0, fc1 = data[off], data[off + 1]
    if (fc0 >> 2) & 3 != 2 or fc0 & 0x40 or fc1 & 0x40:   # not data; no body; protected
        return -1
    hdr = 30 if fc1 & 3 == 3 else 24
    if fc0 & 0x80:                                          # a QoS data subtype
        hdr += 6 if fc1 & 0x80 else 2                       # (+ HT control when ordered)
    if pad:
        hdr = (hdr + 3) & ~3
    llc = off + hdr
    if len(data) < llc + 8 or data[llc:llc + 3] != b"\xaa\xaa\x03":
        return -1
    return _after_ethertype(data, (data[llc + 6] << 8) | data[llc + 7], llc + 8)


def _radiotap_payload(data: bytes) -> int:
    """Radiotap: version 0, a length (little endian), the fields the present bitmaps name;
    of those only Flags matters here (bit 0x20: the 802.11 header is padded to 4 bytes)."""
    length = data[2] | data[3] << 8 if len(data) >= 8 else 0
    if length < 8 or data[0] != 0:
        return -1
    present = int.from_bytes(data[4:8], "little")
    pos = 8
    while int.from_bytes(data[pos - 4:pos], "little") & 0x80000000 and pos + 4 <= length:
        pos += 4                                  # more present bitmaps follow
    flags = 0
    if present & 2:                               # Flags, after the TSFT (8 bytes, aligned)
        if present & 1:
            pos = ((pos + 7) & ~7) + 8
        flags = data[pos] if pos < min(length, len(data)) else 0
    return _wifi_payload(data, length, bool(flags & 0x20))


def _wifi_radio_payload(linktype: int, data: bytes) -> int:
    """802.11 behind the radio header of its link type (none, Prism, radiotap, AVS, PPI)."""
    if linktype == LINKTYPE_IEEE802_11:
        return _wifi_payload(data, 0)
    if linktype == LINKTYPE_RADIOTAP:
        return _radiotap_payload(data)
    if len(data) < 8:
        return -1
    if linktype == LINKTYPE_PPI:                  # version, flags, length, inner link type
        inner = int.from_bytes(data[4:8], "little")
        start = data[2] | data[3] << 8
        return _wifi_payload(data, start) if inner == LINKTYPE_IEEE802_11 else \
            ethernet_ip(data, start) if inner == LINKTYPE_ETHERNET else -1
    if data[:4] == b"\x80\x21\x10\x01":           # AVS (also found under the Prism type)
        return _wifi_payload(data, int.from_bytes(data[4:8], "big"))
    if linktype == LINKTYPE_PRISM:                # message code, length in host order
        length = int.from_bytes(data[4:8], "little")
        return _wifi_payload(data, length if length < len(data)
                             else int.from_bytes(data[4:8], "big"))
    return -1


def pppoe_ip_limit(linktype: int, data: bytes, ip_off: int) -> int | None:
    """The most bytes the IP packet at ``ip_off`` can hold by its PPPoE session header's
    length, or None when the frame is no PPPoE session frame.

    A stack that counts Ethernet padding into the IP total length (46 where the PPPoE
    length leaves room for 40) would otherwise show padding as TCP data the peer never
    acknowledges; tcpdump calls such a packet "truncated-ip"."""
    if linktype == LINKTYPE_PPP_ETHER:
        start = 0
    elif linktype == LINKTYPE_ETHERNET and len(data) >= 14:
        et, start = _past_tags(data, 0)
        if et != ETHERTYPE_PPPOE_SESSION:
            return None
    else:
        return None
    if len(data) < start + 6 or ip_off < start + 6:
        return None
    return start + 6 + ((data[start + 4] << 8) | data[start + 5]) - ip_off


def _after_ethertype(data: bytes, et: int, off: int) -> int:
    """Offset of IP given the ethertype that announces what starts at ``off``."""
    if et in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        return off if len(data) > off else -1
    if et == ETHERTYPE_PPPOE_SESSION:
        return _pppoe_payload(data, off)
    if et in ETHERTYPE_MPLS:
        for _ in range(MPLS_MAX_LABELS):
            if len(data) < off + 4:
                return -1
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                return _ip_version_at(data, off)
        return -1
    return -1


def ethernet_ip(data: bytes, off: int = 0) -> int:
    """Offset of IP in an Ethernet frame starting at ``off``: 802.1Q/QinQ, VN-Tag and E-Tag
    tags, an 802.3 frame's LLC/SNAP header, PPPoE sessions and MPLS label stacks are
    stepped over; -1 when it carries no IP."""
    if len(data) < off + 14:
        return -1
    et, off = _past_tags(data, off)
    if et < 0x0600 and data[off:off + 6] in _LLC_SNAP and len(data) >= off + 8:
        et, off = (data[off + 6] << 8) | data[off + 7], off + 8
    return _after_ethertype(data, et, off)


def _past_tags(data: bytes, off: int) -> tuple[int, int]:
    """The ethertype of the Ethernet header at ``off`` (at least 14 bytes) after any
    802.1Q/QinQ, VN-Tag or E-Tag tags, and where what it announces starts."""
    et = (data[off + 12] << 8) | data[off + 13]
    off += 14
    while et in _ETH_TAG_BYTES:
        n = _ETH_TAG_BYTES[et]
        if len(data) < off + n + 2:
            break
        et = (data[off + n] << 8) | data[off + n + 1]
        off += n + 2
    return et, off


def on_interface(index: int, family: int, packet: bytes) -> tuple[int, bytes]:
    """An IP packet as 'tcpdump -i any' captures it on interface ``index``: (Linux cooked
    v2 link type, frame)."""
    header = struct.pack("!HHIHBB8s", 0x86DD if family == 6 else 0x0800, 0, index, 1, 0, 0,
                         b"")
    return LINKTYPE_LINUX_SLL2, header + packet


def ip_offset(linktype: int, data: bytes) -> int:
    """Offset of the IPv4/IPv6 header in a frame, or -1 if the frame carries no IP.

    Tunnels inside IP (GRE, VXLAN, GENEVE, IP-in-IP) are opened by ``inner_ip``."""
    if linktype == LINKTYPE_ETHERNET:
        return ethernet_ip(data)
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return -1
        return _after_ethertype(data, (data[14] << 8) | data[15], 16)
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return -1
        return _after_ethertype(data, (data[0] << 8) | data[1], 20)
    if linktype in RAW_IP_LINKTYPES:
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return 4 if len(data) > 4 and data[4] >> 4 in (4, 6) else -1
    if linktype == LINKTYPE_C_HDLC or (linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC)
                                       and _cisco_hdlc(data)):
        if len(data) < 4:
            return -1
        return _after_ethertype(data, (data[2] << 8) | data[3], 4)
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
        return _ppp_payload(data, 0)
    if linktype == LINKTYPE_PPP_ETHER:
        return _pppoe_payload(data, 0)
    if linktype == LINKTYPE_FRELAY:
        return _frelay_payload(data)
    if linktype == LINKTYPE_NFLOG:
        return _nflog_payload(data)
    if linktype in _WIFI_LINKTYPES:
        return _wifi_radio_payload(linktype, data)
    return -1


def _gre_payload(data: bytes, off: int) -> int:
    """GRE (RFC 2784/2890, version 0) at ``off``: IP, bridged Ethernet or ERSPAN II/III."""
    if len(data) < off + 4 or data[off + 1] & 0x07:
        return -1                          # version 1 is PPTP's enhanced GRE: not followed
    flags = data[off]
    proto = (data[off + 2] << 8) | data[off + 3]
    off += 4 + 4 * (bool(flags & 0x80) + bool(flags & 0x20) + bool(flags & 0x10))
    if proto == ETHERTYPE_TEB:
        return ethernet_ip(data, off)
    if proto == ETHERTYPE_ERSPAN2:
        return ethernet_ip(data, off + 8)
    if proto == ETHERTYPE_ERSPAN3:
        if len(data) < off + 12:
            return -1
        return ethernet_ip(data, off + 12 + (8 if data[off + 11] & 1 else 0))
    return _after_ethertype(data, proto, off)


def _udp_payload(data: bytes, off: int) -> int:
    """VXLAN (UDP 4789) and GENEVE (UDP 6081) at a UDP header at ``off``."""
    if len(data) < off + 16:
        return -1
    dport = (data[off + 2] << 8) | data[off + 3]
    off += 8
    if dport == UDP_VXLAN and data[off] & 0x08:        # the I flag: a valid VNI
        return ethernet_ip(data, off + 8)
    if dport == UDP_GENEVE and data[off] >> 6 == 0:     # version 0
        proto = (data[off + 2] << 8) | data[off + 3]
        inner = off + 8 + (data[off] & 0x3F) * 4
        return ethernet_ip(data, inner) if proto == ETHERTYPE_TEB else \
            _after_ethertype(data, proto, inner)
    return -1


_ETHERTYPE_NAMES = {0x0806: "ARP", 0x88CC: "LLDP", 0x888E: "802.1X", 0x8863: "PPPoE discovery",
                    0x8864: "PPPoE session without IP (LCP, IPCP, authentication)",
                    0x8100: "802.1Q", 0x88A8: "802.1ad", 0x8847: "MPLS", 0x8848: "MPLS",
                    0x88E7: "802.1ah PBB",
                    0x0842: "Wake-on-LAN", 0x8809: "LACP/slow protocols", 0x88F7: "PTP",
                    0x22F0: "AVTP", 0x9000: "Ethernet loopback"}


# ethertype -> (name, bytes of its header without options)
_IP_HEADER_MIN = {ETHERTYPE_IPV4: ("IPv4", 20), ETHERTYPE_IPV6: ("IPv6", 40)}


def ip_header_cut(linktype: int, data: bytes) -> bool:
    """The frame announces IP (its ethertype, a raw IP link) but ends inside the IP header:
    a snap length too short for it, or a damaged frame."""
    if linktype == LINKTYPE_ETHERNET and len(data) >= 14:
        et, off = _past_tags(data, 0)
        return et in _IP_HEADER_MIN and len(data) < off + _IP_HEADER_MIN[et][1]
    return linktype in RAW_IP_LINKTYPES and len(data) < 20


def frame_kind(linktype: int, data: bytes) -> str:
    """What a frame without IP carries, in a few words (for the no-IP message)."""
    if linktype == LINKTYPE_ETHERNET and len(data) >= 14:
        et, _off = _past_tags(data, 0)   # (what the tags carry: "ethertype 0x88e7 (tagged)")
        tagged = " (tagged)" if et != (data[12] << 8) | data[13] else ""
        if ip_header_cut(linktype, data):
            return f"{_IP_HEADER_MIN[et][0]} (header cut short)" + tagged
        if et < 0x0600:
            return "802.3/LLC (STP, CDP, ...)" + tagged
        return f"ethertype 0x{et:04x}" + (f" ({_ETHERTYPE_NAMES[et]})" if et in _ETHERTYPE_NAMES
                                          else "") + tagged
    if ip_header_cut(linktype, data):
        return "IP (header cut short)"
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC) and _cisco_hdlc(data):
        return "Cisco HDLC frames without IP (SLARP keepalives, CDP ...)"
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC, LINKTYPE_PPP_ETHER):
        return "PPP control (LCP, IPCP, authentication)"
    if linktype == LINKTYPE_FRELAY:
        return "Frame Relay frames without IP (Q.933 signalling, IS-IS, ES-IS ...)"
    if linktype in _WIFI_LINKTYPES:
        return "802.11 management, control or encrypted frames"
    return f"{linktype_name(linktype)} frames without IP"


def inner_ip(data: bytes, off: int) -> int:
    """Offset of the innermost IP header when the IP header at ``off`` carries a tunnel
    (GRE, VXLAN, GENEVE, IPv4/IPv6 in IP), else -1. Outer fragments are not followed."""
    found = -1
    for _ in range(NEST_MAX):
        if len(data) < off + 20:
            break
        v = data[off] >> 4
        if v == 4:
            if (data[off + 6] & 0x3F) or data[off + 7]:   # a fragment (MF or offset)
                break
            proto, hdr = data[off + 9], (data[off] & 0x0F) * 4
        elif v == 6 and len(data) >= off + 40:
            proto, hdr = data[off + 6], 40
        else:
            break
        start = off + hdr
        if proto == PROTO_GRE:
            nxt = _gre_payload(data, start)
        elif proto == PROTO_UDP:
            nxt = _udp_payload(data, start)
        elif proto in (PROTO_IPIP, PROTO_IPV6_IN_IP):
            nxt = _ip_version_at(data, start)
        else:
            break
        if nxt < 0:
            break
        found = off = nxt
    return found
