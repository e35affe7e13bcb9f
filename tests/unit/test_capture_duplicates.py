"""`analyze` on a capture that saw every packet twice: `tcpdump -i any` where a bridge or
a VLAN interface carries the traffic (an FTD's management bridge, a proxy host with
containers), or a SPAN session of both directions of a routed link. Each copy was counted
as a resend: a black hole's "retransmitted 5 times" became 11, dup ACKs doubled, a lone
SYN was "sent 2 times" (a critical, 'measured'), and a connection cut off after one resend
became a critical PMTU_BLACKHOLE. A copy is the same IP packet within a millisecond, with
the same IPv4 identification or through another capture point; a resend comes a round
trip or a timer later. (An ICMP message, looked for once a first copy was found, counted
twice in its evidence: "22 such messages" for 11.) The captures are our own lab
fixtures, each packet followed 4 µs later by its copy (VLAN-tagged, one hop further)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.capture import Filters
from pathprobe.capture.analysis import track
from pathprobe.capture.duplicate import DUPLICATE_S, same_packet
from pathprobe.capture.linklayer import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW
from pathprobe.capture.reader import ReadStats
from tests.conftest import cli_env
from tests.unit.test_capture_reader import pcap_records, write_pcap

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
Record = tuple[int, int, bytes, int]


def _later(sec: int, usec: int, micros: int) -> tuple[int, int]:
    usec += micros
    return sec + usec // 1_000_000, usec % 1_000_000


def _copy(frame: bytes, hop: bool = True) -> bytes:
    """The frame as a second capture point sees it: VLAN-tagged and, with ``hop``, one
    router further (TTL or hop limit one lower, IPv4 checksum recomputed)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    e = Ether(frame)
    if hop and IP in e:
        e[IP].ttl -= 1
        del e[IP].chksum
    elif hop and IPv6 in e:
        e[IPv6].hlim -= 1
    return bytes(Ether(src=e.src, dst=e.dst) / Dot1Q(vlan=100, type=e.type) / e.payload)


def _twice(records: list[Record], micros: int = 4) -> list[Record]:
    out: list[Record] = []
    for sec, usec, data, orig in records:
        copy = _copy(data)
        out += [(sec, usec, data, orig), (*_later(sec, usec, micros), copy, len(copy))]
    return out


def _twice_apart(records: list[Record], micros: int = 4) -> list[Record]:
    """Every packet twice, with a frame of other hosts between a packet and its copy (a
    SPAN port of a busy link: the copy does not follow its packet at once)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    other = bytes(Ether() / IP(src="198.18.9.1", dst="198.18.9.2") / UDP(sport=5353,
                                                                          dport=5353))
    out: list[Record] = []
    for sec, usec, data, orig in records:
        copy = _copy(data)
        out += [(sec, usec, data, orig), (*_later(sec, usec, micros // 2), other, len(other)),
                (*_later(sec, usec, micros), copy, len(copy))]
    return out


def _trailing(records: list[Record], micros: int = 900) -> list[Record]:
    """Every packet twice, each copy ``micros`` after its packet (a SPAN session's copies
    trail by a fixed delay): in a burst, the packets that came meanwhile lie between a
    packet and its copy, some of the same connection."""
    timed = [((sec, usec), 0, data, orig) for sec, usec, data, orig in records]
    for sec, usec, data, _orig in records:
        copy = _copy(data)
        timed.append((_later(sec, usec, micros), 1, copy, len(copy)))
    timed.sort(key=lambda r: (r[0], r[1]))
    return [(sec, usec, data, orig) for (sec, usec), _k, data, orig in timed]


def _analyze(path: Path) -> tuple[int, dict[str, Any]]:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def _story(doc: dict[str, Any]) -> tuple[object, ...]:
    """What a report says, frame numbers aside (a copy shifts them)."""
    def unframed(text: str) -> str:
        return re.sub(r"\b(frames?|lines?|and) \d+(-\d+)?", r"\1 N", text)

    return ([(v["code"], v["severity"], v["confidence"], v.get("mtu"),
              [unframed(e) for e in v["evidence"]]) for v in doc["verdicts"]],
            [[unframed(n) for n in row["notes"]] for row in doc["legs"]])


@pytest.mark.parametrize("fixture", ["blackhole-leg1.pcap", "stall.pcap", "blackhole-leg2.pcap",
                                     "no-response.pcap", "clamp.pcap", "rst.pcap", "mtu.pcap"])
def test_a_capture_of_every_packet_twice_tells_the_story_of_the_original(
        tmp_path: Path, fixture: str) -> None:
    linktype, records = pcap_records(FIXTURES / fixture)
    status, doc = _analyze(FIXTURES / fixture)
    twice = write_pcap(tmp_path / "twice.pcap", linktype, _twice(records))
    status2, doc2 = _analyze(twice)
    assert (status2, _story(doc2)) == (status, _story(doc))
    (note,) = [n for n in doc2["notes"] if "captured twice" in n]
    assert re.match(r"\d+ packets captured twice, where a copy would pass for a resend "
                    r"\(the first copy at frame \d+\): the same IP packet again within 1 ms",
                    note), note
    assert not [n for n in doc["notes"] if "captured twice" in n]


@pytest.mark.parametrize("fixture", ["healthy.pcap", "stall.pcap", "blackhole-leg1.pcap",
                                     "rst.pcap", "mtu.pcap"])
@pytest.mark.parametrize("micros", [200, 900])
def test_copies_that_trail_their_packets_in_a_burst_are_no_resends(
        tmp_path: Path, fixture: str, micros: int) -> None:
    """Copies 200-900 us behind their packets: in a burst, other packets of the same
    connection come between a packet and its copy. Each was counted as a resend (the
    black hole 'retransmitted 7 times' for 5, a healthy download '16 retransmissions
    down'); the story is the original's."""
    linktype, records = pcap_records(FIXTURES / fixture)
    status, doc = _analyze(FIXTURES / fixture)
    trailing = write_pcap(tmp_path / "span.pcap", linktype, _trailing(records, micros))
    status2, doc2 = _analyze(trailing)
    assert (status2, _story(doc2)) == (status, _story(doc))


@pytest.mark.parametrize("fixture", ["healthy.pcap", "stall.pcap"])
def test_copies_leave_a_capture_gap_what_it_was(tmp_path: Path, fixture: str) -> None:
    """One full-size segment missing from the capture (the peer acknowledged it): capture
    loss, a note; the receiver's ACKs at the gap, captured twice, prove no network loss."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    linktype, records = pcap_records(FIXTURES / fixture)
    full = [i for i, r in enumerate(records) if TCP in Ether(r[2]) and Ether(r[2])[IP].len
            - Ether(r[2])[IP].ihl * 4 - Ether(r[2])[TCP].dataofs * 4 == 1448]
    gap = [r for i, r in enumerate(records) if i != full[len(full) // 2]]
    status, doc = _analyze(write_pcap(tmp_path / "gap.pcap", linktype, gap))
    assert any("the capture never showed" in n for n in doc["notes"]), doc["notes"]
    status2, doc2 = _analyze(write_pcap(tmp_path / "twice.pcap", linktype, _twice(gap)))
    assert (status2, _story(doc2)) == (status, _story(doc))
    assert [n for n in doc2["notes"] if "captured twice" not in n][1:] == doc["notes"][1:]


def test_copies_make_no_black_hole_of_a_connection_cut_off_after_one_resend(
        tmp_path: Path) -> None:
    """The lab's black hole cut after its first resend (a capture stopped there): healthy,
    and so it stays with every packet captured twice (it was a critical PMTU_BLACKHOLE)."""
    linktype, records = pcap_records(FIXTURES / "blackhole-leg1.pcap")
    cut = write_pcap(tmp_path / "cut.pcap", linktype, records[:40])
    twice = write_pcap(tmp_path / "twice.pcap", linktype, _twice(records[:40]))
    for path in (cut, twice):
        status, doc = _analyze(path)
        assert (status, [v["code"] for v in doc["verdicts"]]) == (0, ["HEALTHY"]), path


def _syns(tmp_path: Path, again_us: int) -> dict[str, Any]:
    """The FMC's SYN to the proxy, the same bytes ``again_us`` later (a copy, or a resend),
    and 3 s of capture after it (a DNS query ends it)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    linktype, records = pcap_records(FIXTURES / "no-response.pcap")
    sec, usec, syn, orig = records[0]
    end = bytes(Ether() / IP(src="198.18.1.2", dst="198.18.1.1") / UDP(sport=5353, dport=53))
    _status, doc = _analyze(write_pcap(tmp_path / "syn.pcap", linktype, [
        (sec, usec, syn, orig), (*_later(sec, usec, again_us), _copy(syn), orig),
        (*_later(sec, usec, 3_000_000), end, len(end))]))
    (v,) = [v for v in doc["verdicts"] if v["code"] == "PROXY_UNREACHABLE"]
    return v


def test_a_lone_syn_captured_twice_was_sent_once(tmp_path: Path) -> None:
    """A SYN and its copy 4 µs later, then 3 s of capture: sent once (a warning, as any
    SYN never resent), not 'sent 2 times' (critical, measured)."""
    v = _syns(tmp_path, 4)
    assert (v["severity"], v["confidence"]) == ("warning", "inferred"), v
    assert any("sent once, never answered" in e for e in v["evidence"]), v["evidence"]
    # the same SYN 1 s later is a resend: the client retried, unanswered (critical)
    v = _syns(tmp_path, 1_000_000)
    assert (v["severity"], v["confidence"]) == ("critical", "measured"), v
    assert any("sent 2 times" in e for e in v["evidence"]), v["evidence"]


@pytest.mark.parametrize("copies", [_twice, _twice_apart], ids=["next", "apart"])
def test_copies_of_acks_are_no_word_of_the_receiver(
        tmp_path: Path, copies: Callable[[list[Record]], list[Record]]) -> None:
    """The receiver's ACKs captured twice add no duplicate ACK and no ACK at a hole (what
    proves a receiver alive, or a loss in the network), also with a frame of other hosts
    between each packet and its copy: on 53b1931 an ACK's copy was looked for in the frame
    just before it only, so there each copy of a repeated ACK was one more dup ACK."""
    linktype, records = pcap_records(FIXTURES / "blackhole-leg1.pcap")
    counts = []
    for recs in (records, copies(records)):
        path = write_pcap(tmp_path / "t.pcap", linktype, recs)
        tracker = track(path, Filters(), ReadStats())
        counts.append(sorted((s.dup_acks, s.hole_acks)
                             for c in tracker.finish() for s in (c.up, c.down)))
    assert counts[1] == counts[0]
    status, doc = _analyze(FIXTURES / "blackhole-leg1.pcap")
    status2, doc2 = _analyze(write_pcap(tmp_path / "copies.pcap", linktype, copies(records)))
    assert (status2, _story(doc2)) == (status, _story(doc))


def test_a_resend_is_no_copy(tmp_path: Path) -> None:
    """The same bytes more than DUPLICATE_S later, or within it with another IP
    identification (a host sending again), are resends."""
    linktype, records = pcap_records(FIXTURES / "blackhole-leg1.pcap")
    late = _twice(records, micros=int(DUPLICATE_S * 1e6) + 500)
    _status, doc = _analyze(write_pcap(tmp_path / "late.pcap", linktype, late))
    assert not [n for n in doc["notes"] if "captured twice" in n]
    (v,) = [v for v in doc["verdicts"] if v["code"] == "PMTU_BLACKHOLE"]
    assert any("retransmitted 11 times" in e for e in v["evidence"]), v["evidence"]
    sent = bytearray(records[24][2])   # the first resend of the large segment
    sent[18:20] = b"\xbe\xef"          # (another IP identification, checksum left as is)
    assert not same_packet(LINKTYPE_ETHERNET, records[24][2], LINKTYPE_ETHERNET, bytes(sent))


# --- same_packet on byte vectors ------------------------------------------------------------

IPV4 = bytes.fromhex("450000381c4640004006b1e6c6120102c6120202"   # TTL 64, ID 0x1c46
                     "9560 0c38 00000001 00000000 a002faf0 0000 0000".replace(" ", "")
                     + "020405b40402080a0000000000000000")
IPV6 = bytes.fromhex("6000000000140640" + "20010db8000100000000000000000002"
                     + "20010db8000400000000000000000002"
                     + "956001bb00000001000000005002200000000000")
ETH4 = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00"
VLAN4 = bytes(6) + bytes.fromhex("020000000001") + b"\x81\x00\x00\x64\x08\x00"
SLL2_4 = b"\x08\x00\x00\x00" + (3).to_bytes(4, "big") + bytes(12)


def _hop(packet: bytes) -> bytes:
    """One router further: TTL (IPv4, with another checksum) or hop limit one lower."""
    p = bytearray(packet)
    if p[0] >> 4 == 4:
        p[8] -= 1
        p[10:12] = b"\x12\x34"
    else:
        p[7] -= 1
    return bytes(p)


def test_same_packet_on_byte_vectors() -> None:
    padded = ETH4 + IPV4 + bytes(6)   # (Ethernet padding after the IP packet)
    assert same_packet(LINKTYPE_ETHERNET, ETH4 + IPV4, LINKTYPE_ETHERNET, VLAN4 + _hop(IPV4))
    assert same_packet(LINKTYPE_ETHERNET, padded, LINKTYPE_LINUX_SLL2, SLL2_4 + IPV4)
    assert same_packet(LINKTYPE_RAW, IPV6, LINKTYPE_RAW, _hop(IPV6))
    other_id = IPV4[:4] + b"\x1c\x47" + IPV4[6:]
    other_seq = IPV4[:24] + b"\x00\x00\x00\x02" + IPV4[28:]
    other_proto = IPV4[:9] + b"\x11" + IPV4[10:]
    for b in (other_id, other_seq, other_proto, IPV6):
        assert not same_packet(LINKTYPE_RAW, IPV4, LINKTYPE_RAW, b)
    assert not same_packet(LINKTYPE_RAW, IPV6, LINKTYPE_RAW, IPV6[:44] + b"\xff" + IPV6[45:])
    assert not same_packet(LINKTYPE_ETHERNET, bytes(6) * 2 + b"\x08\x06" + bytes(28),
                           LINKTYPE_ETHERNET, bytes(6) * 2 + b"\x08\x06" + bytes(28))   # ARP
    assert not same_packet(LINKTYPE_RAW, b"", LINKTYPE_RAW, b"")


@given(st.binary(max_size=64), st.sampled_from([IPV4, IPV6]), st.integers(0, 2))
def test_a_packet_is_the_same_as_itself_and_its_hop_further_copy(
        payload: bytes, header: bytes, hops: int) -> None:
    packet = bytearray(header + payload)
    if header is IPV4:
        packet[2:4] = len(packet).to_bytes(2, "big")
    else:
        packet[4:6] = (len(packet) - 40).to_bytes(2, "big")
    copy = bytes(packet)
    for _ in range(hops):
        copy = _hop(copy)
    assert same_packet(LINKTYPE_RAW, bytes(packet), LINKTYPE_ETHERNET, VLAN4[:-2]
                       + (b"\x08\x00" if header is IPV4 else b"\x86\xdd") + copy)
    assert same_packet(LINKTYPE_RAW, copy, LINKTYPE_RAW, bytes(packet))
    if payload:
        changed = bytearray(packet)
        changed[-1] ^= 0xFF
        assert not same_packet(LINKTYPE_RAW, bytes(packet), LINKTYPE_RAW, bytes(changed))


def test_tcpdump_i_any_on_a_bridge_and_its_text(tmp_path: Path) -> None:
    """`tcpdump -i any` (Linux cooked v2) where the packet crosses a bridge port and the
    bridge: the copy names another interface. Read from the pcap and from `tcpdump -n`'s
    text of it (which prints both lines), the story is the original's."""
    linktype, records = pcap_records(FIXTURES / "healthy-sll2.pcap")
    assert linktype == LINKTYPE_LINUX_SLL2
    twice: list[Record] = []
    for sec, usec, data, orig in records:
        copy = data[:4] + (int.from_bytes(data[4:8], "big") + 1).to_bytes(4, "big") + data[8:]
        twice += [(sec, usec, data, orig), (*_later(sec, usec, 3), copy, orig)]
    original = FIXTURES / "healthy-sll2.pcap"
    doubled = write_pcap(tmp_path / "any.pcap", linktype, twice)
    for path in (original, doubled):
        text = subprocess.run(["tcpdump", "-n", "-r", str(path)], capture_output=True,
                              text=True, check=True, timeout=60).stdout
        (tmp_path / f"{path.stem}.txt").write_text(text)
    _s, base = _analyze(original)
    _s, base_text = _analyze(tmp_path / "healthy-sll2.txt")
    for path, expected in ((doubled, base), (tmp_path / "any.txt", base_text)):
        status, doc = _analyze(path)
        assert (status, _story(doc)) == (0, _story(expected)), path
        assert any("packets captured twice" in n for n in doc["notes"]), doc["notes"]


C, S = "198.18.1.2.40000", "198.18.4.2.443"
DUP_ACKS = "\n".join([
    f"10:00:00.000000 IP {C} > {S}: Flags [S], seq 1000, win 64240, options [mss 1460], "
    "length 0",
    f"10:00:00.001000 IP {S} > {C}: Flags [S.], seq 7000, ack 1001, win 65160, "
    "options [mss 1460], length 0",
    f"10:00:00.002000 IP {C} > {S}: Flags [.], ack 1, win 502, length 0",
    f"10:00:00.003000 IP {C} > {S}: Flags [P.], seq 1:1449, ack 1, win 502, length 1448",
    f"10:00:00.003010 IP {C} > {S}: Flags [P.], seq 1449:2897, ack 1, win 502, length 1448",
    f"10:00:00.004000 IP {S} > {C}: Flags [.], ack 1449, win 500, length 0",
    f"10:00:00.004005 IP {S} > {C}: Flags [.], ack 1449, win 500, length 0",
    f"10:00:00.004010 IP {S} > {C}: Flags [.], ack 1449, win 500, length 0"]) + "\n"


def test_dup_acks_alike_without_an_ip_identification_are_no_copies(tmp_path: Path) -> None:
    """A receiver's dup ACKs microseconds apart read alike where nothing tells two sends
    apart: tcpdump text (no IP identification shown; nDPI's fix2 as text had 622 'copies'
    where its pcap has 6) and IPv6. They stay dup ACKs; only an IPv4 identification
    proves an ACK captured twice."""
    from tests.unit.test_analyze_any_capture import FMC6, SERVER6, Conv

    text = tmp_path / "dupacks.txt"
    text.write_text(DUP_ACKS)
    v6 = Conv(client=FMC6, server=SERVER6, sport=443)
    v6.handshake(0.0)
    v6.send(0.003, True, b"\x17" * 1448)
    v6.send(0.00301, True, b"\x17" * 1448)
    for t in (0.004, 0.004005, 0.00401):
        v6.pkt(t, False, "A", ack=v6.cseq - 1448)
    from tests.unit.test_capture_analysis import write_pcap as write_frames

    six = write_frames(tmp_path / "v6.pcap", v6.frames)
    for path in (text, six):
        tracker = track(path, Filters(), ReadStats())
        (conn,) = tracker.finish()
        assert (conn.up.dup_acks, tracker.recent.count) == (2, 0), path



@pytest.mark.parametrize("fixture", ["healthy.pcap", "stall.pcap", "blackhole-leg1.pcap"])
@pytest.mark.parametrize("spread", [_twice, _twice_apart, _trailing])
def test_copies_in_one_of_two_captures_were_not_lost_between_them(
        tmp_path: Path, fixture: str, spread: Callable[[list[Record]], list[Record]]) -> None:
    """Two captures of the same connections, the FMC's seeing every packet twice: each copy
    passed for a second send that the far capture 'saw only once' ('the other copies were
    lost between the two capture points' for every segment of a healthy connection) when
    another packet came between a packet and its copy, or the copy was of a resend. The
    verdicts and localisations are those without copies, frame numbers aside."""
    linktype, records = pcap_records(FIXTURES / fixture)
    (tmp_path / "once").mkdir()
    (tmp_path / "twice").mkdir()
    stories = []
    for folder, near in (("once", records), ("twice", spread(records))):
        fmc = write_pcap(tmp_path / folder / "fmc.pcap", linktype, near)
        far = [(sec, usec, _copy(data, hop=False), orig) for sec, usec, data, orig in records]
        proxy = write_pcap(tmp_path / folder / "proxy.pcap", linktype, far)
        r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(fmc), str(proxy),
                            "--json"], capture_output=True, text=True, env=cli_env(),
                           timeout=120, check=False)
        assert "Traceback" not in r.stderr, r.stderr
        doc = json.loads(r.stdout)
        where = [re.sub(r"\bframes? \d+", "frame N", n) for n in doc["notes"]
                 if "fmc.pcap" in n and "proxy.pcap" in n and "seen in both" not in n]
        stories.append((r.returncode, [(v["code"], v["severity"]) for v in doc["verdicts"]],
                        where))
    assert stories[1] == stories[0]
    assert not any("other copies were lost" in n for n in stories[1][2]), stories[1][2]


def test_a_copy_is_found_behind_other_frames_within_a_millisecond() -> None:
    """``copy_nearby`` on byte vectors: the packet 300 us and three frames before (a copy
    one VLAN-tagged hop further), not one more than 1 ms before, not one with another IPv4
    identification on the same link (a resend), not beyond NEARBY frames."""
    from pathprobe.capture.duplicate import NEARBY, RecentFrames

    other = ETH4 + IPV4[:12] + bytes([198, 18, 9, 9]) + IPV4[16:]
    resend = ETH4 + IPV4[:4] + b"\x1c\x47" + IPV4[6:]

    def frames(gap: int, first: bytes, copy: bytes) -> RecentFrames:
        recent = RecentFrames()
        batch = [(1, 0.0, LINKTYPE_ETHERNET, first, len(first))]
        batch += [(n, 0.0001, LINKTYPE_ETHERNET, other, len(other)) for n in range(2, 2 + gap)]
        batch.append((2 + gap, 0.0003, LINKTYPE_ETHERNET, copy, len(copy)))
        recent.push(batch)
        return recent

    found = frames(3, ETH4 + IPV4, VLAN4 + _hop(IPV4))
    assert found.copy_nearby(5) and (found.count, found.first) == (1, 5)
    assert not frames(3, ETH4 + IPV4, resend).copy_nearby(5)
    late = RecentFrames()
    late.push([(1, 0.0, LINKTYPE_ETHERNET, ETH4 + IPV4, 0),
               (2, 0.0012, LINKTYPE_ETHERNET, VLAN4 + _hop(IPV4), 0)])
    assert not late.copy_nearby(2)
    assert not frames(NEARBY, ETH4 + IPV4, VLAN4 + _hop(IPV4)).copy_nearby(NEARBY + 2)
    assert frames(NEARBY - 1, ETH4 + IPV4, VLAN4 + _hop(IPV4)).copy_nearby(NEARBY + 1)
