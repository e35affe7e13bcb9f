#!/usr/bin/env python3
"""The article's three stories as pcaps, and as the text the real tools print for them.

Issue 20 item 6: `analyze` reads pasted capture text with the verdicts it gives for
the pcap. This script builds each story with scapy (FMC 198.18.1.2 -> proxy
198.18.2.2:80 as in the article, CONNECT tools.cisco.com:443):

  healthy   MSS 1460 sent, 1300 received; tunnel, TLS, data, FIN both ways
  rst       a 1440-byte segment from the FMC answered by a reset from the proxy
  silence   a 1440-byte segment retransmitted into silence (smaller ones got through)

and writes tests/fixtures/text/STORY.pcap plus the text of each form, made by the
installed tools themselves (nothing typed by hand):

  STORY.tcpdump-n.txt     tcpdump -n -r              STORY.tshark.txt      tshark -n -r
  STORY.tcpdump-v.txt     tcpdump -n -v -r           STORY.tshark-V.txt    tshark -n -V -r
  STORY.tcpdump-A.txt     tcpdump -n -A -r           STORY.list.txt        packet list, No. column
  STORY.tcpdump-S.txt     tcpdump -n -S -r           STORY.list-nonum.txt  no No., absolute times
                                                     STORY.csv.txt         the list exported as CSV
  STORY.tcpdump-names.txt tcpdump -r with names for the addresses, comments, blank lines
  STORY.tcpdump-X.txt     tcpdump -n -X -r: hex and ASCII from the IP header
  STORY.tcpdump-xx.txt    tcpdump -n -xx -r: hex from the Ethernet header
  STORY.tcpdump-ev.txt    tcpdump -n -e -v -r: the link header before -v's IP header

and mtu.tcpdump-n.txt, mtu.tcpdump-v.txt, mtu.tcpdump-ev.txt, mtu.tshark-V.txt.gz from the lab's
tests/fixtures/captures/mtu.pcap (ICMP frag-needed, MTU 1400).

The pings an engineer sends by hand (FMC 198.18.1.2 -> 198.18.4.2, router 198.18.1.1),
as pcaps and in the forms tcpdump-n, tcpdump-v, tcpdump-ev, tshark, tshark-V (gzip-compressed) and
list (IPv4 only: its address fields are):

  ping-sweep     DF pings of 600-1500 bytes: up to 1400 answered, 1450 and 1500 not,
                 then 1000 again answered (a black hole between 1400 and 1449)
  ping-toobig    a 1500-byte DF ping answered by frag-needed (MTU 1400, quoting it),
                 then a 1400-byte one answered (the path MTU is 1400)
  ping-toobig6   the same over IPv6 (Packet Too Big)
  ping-nomtu     frag-needed that names no MTU (0, a router before RFC 1191), then a
                 1400-byte ping answered

The format tcpdump printed before 4.0, which Cisco ASA and FTD (LINA) 'show capture'
keep, has no tool here that prints it; this script renders it from the same pcaps,
after the public examples of it (flags as letters, '.' for an ACK alone, first:end(length)
for segments with data or SYN/FIN/RST, 'ack N', options in <...>):

  STORY.classic.txt       old tcpdump: 'IP', sequence numbers relative after the SYN
  STORY.asa.txt           'show capture NAME': numbered, absolute sequence numbers
  STORY.asa-detail.txt    'show capture NAME detail': the link header on a line of its own
  mtu.asa.txt             the ICMP story ("icmp: ... unreachable - need to frag (mtu N)")

    python scripts/make_text_captures.py
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pathprobe.wire.tls import client_hello  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "text"
FMC, PROXY = "198.18.1.2", "198.18.2.2"
NAMES = {FMC: "fmc.example.com", PROXY: "proxy.example.com"}
CPORT, PPORT = 48716, 80
T0 = 1741951812.517129          # 2025-03-14 11:30:12.517129 UTC, as in the article
CONNECT = (b"CONNECT tools.cisco.com:443 HTTP/1.1\r\nHost: tools.cisco.com:443\r\n"
           b"User-Agent: curl/7.79.1\r\nProxy-Connection: Keep-Alive\r\n\r\n")
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
SERVER_HELLO = b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03" + bytes(32) + b"\x00\x13\x01\x00"


def app_data(n: int) -> bytes:
    return b"\x17\x03\x03" + (n - 5).to_bytes(2, "big") + bytes(n - 5)


class Conv:
    """One TCP connection FMC -> proxy, its sequence numbers kept as packets are added."""

    def __init__(self, mss_c: int, mss_s: int) -> None:
        self.t = T0
        self.packets: list[object] = []
        self.seq = {True: 3735928559, False: 2882400001}   # ISNs, as tcpdump prints them
        self.mss = {True: mss_c, False: mss_s}

    def add(self, dt: float, fmc: bool, flags: str, payload: bytes = b"",
            seq: int | None = None) -> None:
        from scapy.layers.inet import IP, TCP
        from scapy.layers.l2 import Ether

        self.t += dt
        src, dst = (FMC, PROXY) if fmc else (PROXY, FMC)
        sport, dport = (CPORT, PPORT) if fmc else (PPORT, CPORT)
        opts = ([("MSS", self.mss[fmc]), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]
                if "S" in flags else [])
        tcp = TCP(sport=sport, dport=dport, flags=flags, seq=self.seq[fmc] if seq is None
                  else seq, ack=self.seq[not fmc] if "A" in flags else 0, window=64240,
                  options=opts)
        frame = Ether(src="02:00:00:00:00:01" if fmc else "02:00:00:00:00:02",
                      dst="02:00:00:00:00:02" if fmc else "02:00:00:00:00:01") \
            / IP(src=src, dst=dst, flags="DF", ttl=64) / tcp / payload
        frame.time = self.t  # type: ignore[attr-defined]
        self.packets.append(frame)
        if seq is None:
            self.seq[fmc] += len(payload) + ("S" in flags) + ("F" in flags)

    def opening(self) -> None:
        self.add(0, True, "S")
        self.add(0.019717, False, "SA")
        self.add(0.000067, True, "A")
        self.add(0.000076, True, "PA", CONNECT)
        self.add(0.032767, False, "A")
        self.add(0.143737, False, "PA", ESTABLISHED)
        self.add(0.000054, True, "A")
        self.add(0.038490, True, "PA", client_hello(517, "tools.cisco.com", random=bytes(32)))
        self.add(0.021072, False, "A")
        self.add(0.027762, False, "PA", SERVER_HELLO + app_data(1200 - len(SERVER_HELLO)))
        self.add(0.000120, True, "A")


def healthy() -> Conv:
    c = Conv(1460, 1300)
    c.opening()
    c.add(0.012, True, "PA", app_data(126))
    c.add(0.020, False, "PA", app_data(1288))
    c.add(0.000010, False, "PA", app_data(700))
    c.add(0.000090, True, "A")
    c.add(0.010, True, "FA")
    c.add(0.001, False, "FA")
    c.add(0.000100, True, "A")
    return c


def rst() -> Conv:
    c = Conv(1460, 1460)
    c.opening()
    c.add(0.012, True, "PA", app_data(126))
    c.add(0.020, False, "A")
    c.add(1.2, True, "PA", app_data(1440))
    c.add(0.000123, False, "R")
    return c


def silence() -> Conv:
    c = Conv(1460, 1460)
    c.opening()
    c.add(0.012, True, "PA", app_data(126))
    c.add(0.020, False, "A")
    c.add(1.2, True, "PA", app_data(1440))
    start = c.seq[True] - 1440
    for dt in (0.21, 0.42, 0.84, 1.68, 3.36):
        c.add(dt, True, "PA", app_data(1440), seq=start)
    c.add(15.0, True, "RA", seq=start + 1440)
    return c


STORIES = {"healthy": healthy, "rst": rst, "silence": silence}


PING_FMC, PING_DST, PING_ROUTER = FMC, "198.18.4.2", "198.18.1.1"
PING6_FMC, PING6_DST, PING6_ROUTER = "2001:db8:1::2", "2001:db8:4::2", "2001:db8:1::1"


def _pings(steps: list[tuple[int, str]], v6: bool = False) -> list[object]:
    """Ethernet frames of pings, one step a second: (IP size, what came back: 'reply',
    'lost', 'too-big MTU')."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6
    from scapy.layers.l2 import Ether

    frames: list[object] = []
    src, dst, router = (PING6_FMC, PING6_DST, PING6_ROUTER) if v6 else (PING_FMC, PING_DST,
                                                                          PING_ROUTER)

    def add(t: float, pkt: object) -> None:
        frame = Ether(src="02:00:00:00:01:02", dst="02:00:00:00:01:01") / pkt  # type: ignore[operator]
        frame.time = T0 + t
        frames.append(frame)

    for i, (size, back) in enumerate(steps):
        if v6:
            req = IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=9, seq=i + 1,
                                                              data=b"p" * (size - 48))
        else:
            req = IP(src=src, dst=dst, flags="DF", id=100 + i) / ICMP(id=9, seq=i + 1) / (
                b"p" * (size - 28))
        add(float(i), req)
        if back == "reply":
            rep = (IPv6(src=dst, dst=src) / ICMPv6EchoReply(id=9, seq=i + 1,
                                                            data=b"p" * (size - 48)) if v6 else
                   IP(src=dst, dst=src, id=200 + i) / ICMP(type=0, id=9, seq=i + 1) / (
                       b"p" * (size - 28)))
            add(i + 0.012, rep)
        elif back.startswith("too-big"):
            mtu = int(back.split()[1])
            err = (IPv6(src=router, dst=src) / ICMPv6PacketTooBig(mtu=mtu) / bytes(req)[:1232]
                   if v6 else IP(src=router, dst=src, id=300 + i) / ICMP(
                       type=3, code=4, nexthopmtu=mtu) / bytes(req)[:28])
            add(i + 0.001, err)
    return frames


PING_STORIES = {
    "ping-sweep": lambda: _pings([(600, "reply"), (1000, "reply"), (1400, "reply"),
                                  (1450, "lost"), (1500, "lost"), (1450, "lost"),
                                  (1000, "reply")]),
    "ping-toobig": lambda: _pings([(1500, "too-big 1400"), (1400, "reply")]),
    "ping-toobig6": lambda: _pings([(1500, "too-big 1400"), (1400, "reply")], v6=True),
    "ping-nomtu": lambda: _pings([(1500, "too-big 0"), (1400, "reply")]),
}
PING_FORMS = ("tcpdump-n", "tcpdump-v", "tcpdump-ev", "tshark", "list")


def run(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout


def names(text: str) -> str:
    """tcpdump's output as without -n: names for the addresses and ports, with the comments
    and blank lines people put between the lines they paste."""
    for addr, name in NAMES.items():
        text = text.replace(addr + ".", name + ".")
    text = re.sub(r"\.80([:\s])", r".http\1", text)
    lines = text.splitlines()
    out = ["# tcpdump on the FMC, times in UTC", ""]
    for i, line in enumerate(lines):
        out.append(line)
        if i == 2:
            out += ["", "# handshake done, now the CONNECT", ""]
    return "\n".join(out) + "\n"


def forms(pcap: Path) -> dict[str, str]:
    tz = {"TZ": "UTC", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    td = ["tcpdump", "-r", str(pcap)]
    ts = ["tshark", "-r", str(pcap), "-n"]
    fields = ["-T", "fields", "-E", "separator=/t", "-e", "_ws.col.Time", "-e", "ip.src",
              "-e", "ip.dst", "-e", "_ws.col.Protocol", "-e", "frame.len", "-e", "_ws.col.Info"]

    def go(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60,
                              env=tz).stdout

    listing = go([*ts, "-T", "fields", "-E", "separator=/t", "-e", "frame.number",
                  *fields[4:]])
    return {
        "tcpdump-n": go([*td, "-n"]),
        "tcpdump-v": go([*td, "-n", "-v"]),
        "tcpdump-ev": go([*td, "-n", "-e", "-v"]),
        "tcpdump-A": go([*td, "-n", "-A"]),
        "tcpdump-S": go([*td, "-n", "-S"]),
        "tcpdump-X": go([*td, "-n", "-X"]),
        "tcpdump-xx": go([*td, "-n", "-xx"]),
        "tcpdump-names": names(go([*td, "-n"])),
        "tshark": go(ts),
        "tshark-V": go([*ts, "-V"]),
        "list": "No.\tTime\tSource\tDestination\tProtocol\tLength\tInfo\n" + listing,
        "list-nonum": go([*ts, "-t", "ad", *fields]).replace("\t", " "),
        # Wireshark's File > Export Packet Dissections > As CSV: every field quoted
        "csv": '"No.","Time","Source","Destination","Protocol","Length","Info"\n' + go(
            [*ts, "-T", "fields", "-E", "separator=,", "-E", "quote=d", "-e", "frame.number",
             *fields[4:]]),
    }


def _classic_line(pkt: object, isn: dict[tuple[str, int], int], relative: bool,
                  detail: bool) -> str:
    """One packet as classic tcpdump / 'show capture' prints it (after the TIME)."""
    from scapy.layers.inet import ICMP, IP, TCP, IPerror
    from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

    if IP not in pkt and IPv6 not in pkt:  # type: ignore[operator]
        return f"{pkt.summary()}"  # type: ignore[attr-defined]
    ip = pkt[IP] if IP in pkt else pkt[IPv6]  # type: ignore[index,operator]
    if ICMPv6PacketTooBig in pkt:  # type: ignore[operator]
        return f"{ip.src} > {ip.dst}: icmp6: too big {pkt[ICMPv6PacketTooBig].mtu}"  # type: ignore[index]
    if ICMP in pkt:  # type: ignore[operator]
        icmp = pkt[ICMP]  # type: ignore[index]
        if icmp.type == 3 and icmp.code == 4:
            return (f"{ip.src} > {ip.dst} icmp: {pkt[IPerror].dst} unreachable - need to "  # type: ignore[index]
                    f"frag (mtu {icmp.nexthopmtu})")
        return f"{ip.src} > {ip.dst} icmp: type {icmp.type}"
    if TCP not in pkt:  # type: ignore[operator]
        return f"{ip.src} > {ip.dst} {pkt.summary()}"  # type: ignore[attr-defined]
    tcp = pkt[TCP]  # type: ignore[index]
    flags = "".join(ch for bit, ch in ((0x02, "S"), (0x01, "F"), (0x08, "P"), (0x04, "R"))
                    if tcp.flags & bit) or "."
    # the size on the wire (the lab's captures keep only the first bytes of each frame)
    size = (ip.len - ip.ihl * 4 if ip.version == 4 else ip.plen) - tcp.dataofs * 4
    me, peer = (ip.src, tcp.sport), (ip.dst, tcp.dport)
    if tcp.flags & 0x02:
        isn[me] = tcp.seq
    base = isn.get(me, 0) if relative and not tcp.flags & 0x02 else 0
    out = f"{ip.src}.{tcp.sport} > {ip.dst}.{tcp.dport}: {flags}"
    if detail:
        out += " [tcp sum ok]"
    if size or tcp.flags & 0x07:
        first = (tcp.seq - base) & 0xFFFFFFFF
        out += f" {first}:{(first + size) & 0xFFFFFFFF}({size})"
    if tcp.flags & 0x10:
        out += f" ack {(tcp.ack - (isn.get(peer, 0) if relative else 0)) & 0xFFFFFFFF}"
    out += f" win {tcp.window}"
    opts = []
    for name, value in tcp.options:
        if name == "Timestamp":
            opts.append(f"timestamp {value[0]} {value[1]}")
        elif name in ("MSS", "WScale"):
            opts.append(f"{name.lower()} {value}")
        else:
            opts.append({"SAckOK": "sackOK", "NOP": "nop"}.get(name, name.lower()))
    if opts:
        out += " <" + ",".join(opts) + ">"
    if detail and ip.version == 4:
        out += (" (DF)" if ip.flags & 0x2 else "") + f" (ttl {ip.ttl}, id {ip.id})"
    return out


def _asa_dump(frame: bytes) -> list[str]:
    """A frame's bytes as 'show capture NAME dump' prints them below its line (the layout
    public converters of that output read: "0x0000", a tab, eight groups of four digits,
    a tab, the ASCII)."""
    out = []
    for off in range(0, len(frame), 16):
        chunk = frame[off:off + 16]
        groups = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"0x{off:04x}\t {groups:<39}\t{text}")
    return out


def classic(pcap: Path, form: str) -> str:
    """``pcap`` as old tcpdump ('classic') or ASA/FTD 'show capture' ('asa', 'asa-detail',
    'asa-dump')."""
    import datetime

    import scapy.layers.inet
    import scapy.layers.inet6  # noqa: F401  (bound before reading: else frames stay Raw)
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap

    packets = rdpcap(str(pcap))
    isn: dict[tuple[str, int], int] = {}
    lines = ([] if form == "classic" else
             ["firepower# show capture CAPI" + {"asa-detail": " detail",
                                                "asa-dump": " dump"}.get(form, ""),
              "", f"{len(packets)} packets captured", ""])
    for n, pkt in enumerate(packets, 1):
        when = datetime.datetime.fromtimestamp(float(pkt.time), datetime.timezone.utc)
        t = when.strftime("%H:%M:%S.%f")
        text = _classic_line(pkt, isn, relative=form == "classic", detail=form == "asa-detail")
        if form == "classic":
            lines.append(f"{t} IP {text}")
        elif form in ("asa", "asa-dump"):
            lines.append(f"{n:>4}: {t}       {text}")
            lines.extend(_asa_dump(bytes(pkt)) if form == "asa-dump" else ())
        else:
            eth = pkt[Ether]
            mac = [a.replace(":", "") for a in (eth.src, eth.dst)]
            dotted = [".".join(m[i:i + 4] for i in (0, 4, 8)) for m in mac]
            lines.append(f"{n:>4}: {t} {dotted[0]} {dotted[1]} 0x{eth.type:04x} "
                         f"Length: {pkt.wirelen or len(bytes(pkt))}")
            lines.append(f"      {text}")
    if form != "classic":
        lines.append(f"{len(packets)} packets shown")
    return "\n".join(lines) + "\n"


CLASSIC_FORMS = ("classic", "asa", "asa-detail")


def main() -> int:
    from scapy.utils import PcapWriter

    if "--classic-only" in sys.argv:     # (no tcpdump or tshark needed)
        for name in [*STORIES, "mtu"]:
            pcap = (REPO / "tests" / "fixtures" / "captures" / "mtu.pcap" if name == "mtu"
                    else OUT / f"{name}.pcap")
            for form in CLASSIC_FORMS if name != "mtu" else ("asa",):
                (OUT / f"{name}.{form}.txt").write_text(classic(pcap, form))
        print(f"wrote the {', '.join(CLASSIC_FORMS)} forms of {', '.join(STORIES)} and mtu")
        return 0

    for tool in ("tcpdump", "tshark"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is needed (apt-get install {tool})", file=sys.stderr)
            return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for name, story in STORIES.items():
        pcap = OUT / f"{name}.pcap"
        with PcapWriter(str(pcap), linktype=1, sync=True) as w:
            for frame in story().packets:
                w.write(frame)
        for form, text in forms(pcap).items():
            (OUT / f"{name}.{form}.txt").write_text(text)
        for form in CLASSIC_FORMS:
            (OUT / f"{name}.{form}.txt").write_text(classic(pcap, form))
        print(f"wrote {name}: pcap and {len(forms(pcap))} text forms")
    # The lab's ICMP story (frag-needed, MTU 1400) in the forms that show the MTU.
    lab = REPO / "tests" / "fixtures" / "captures" / "mtu.pcap"
    texts = forms(lab)
    for form in ("tcpdump-n", "tcpdump-v", "tcpdump-ev"):
        (OUT / f"mtu.{form}.txt").write_text(texts[form])
    (OUT / "mtu.asa.txt").write_text(classic(lab, "asa"))
    # 300 KB of detail: kept gzip-compressed (analyze reads .gz text as it reads .gz pcaps)
    (OUT / "mtu.tshark-V.txt.gz").write_bytes(gzip.compress(texts["tshark-V"].encode(),
                                                            mtime=0))
    print("wrote mtu: 4 text forms of tests/fixtures/captures/mtu.pcap")
    for name, story in PING_STORIES.items():
        pcap = OUT / f"{name}.pcap"
        with PcapWriter(str(pcap), linktype=1, sync=True) as w:
            for frame in story():
                w.write(frame)
        texts = forms(pcap)
        for form in PING_FORMS:
            if not (form == "list" and name.endswith("6")):   # (its fields are IPv4's)
                (OUT / f"{name}.{form}.txt").write_text(texts[form])
        (OUT / f"{name}.tshark-V.txt.gz").write_bytes(gzip.compress(texts["tshark-V"].encode(),
                                                                    mtime=0))
        print(f"wrote {name}: pcap and {len(PING_FORMS) + 1} text forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
