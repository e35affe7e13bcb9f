"""`analyze` on captures taken with a short snap length (`tcpdump -s 60`, an appliance's
capture cut to its first bytes): every record says the frame was longer than what was
kept. Without saying so, a CONNECT cut away made the proxy "the server" with no word of
why, TCP headers cut away became "36 IP packets, no TCP connection", and IP headers cut
away became "no IP packet ... re-capture with 'tcpdump -i any'", advice that changes
nothing. The captures are our own lab fixtures, cut here as `editcap -s N` cuts them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pathprobe.model import ExitStatus
from tests.conftest import cli_env
from tests.unit.test_capture_reader import pcap_records, write_pcap, write_pcapng

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


def _cut(path: Path, fixture: str, snap: int, pcapng: bool = False) -> Path:
    """The fixture with every frame kept to its first ``snap`` bytes (its original length
    still recorded), as a pcap or a pcapng."""
    linktype, recs = pcap_records(FIXTURES / fixture)
    cut = [(sec, usec, data[:snap], orig) for sec, usec, data, orig in recs]
    return (write_pcapng if pcapng else write_pcap)(path, linktype, cut)


def _analyze(path: Path, *args: str) -> tuple[int, dict[str, object], str]:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json",
                        *args],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


def _notes(doc: dict[str, object]) -> list[str]:
    notes = doc["notes"]
    assert isinstance(notes, list)
    return [str(n) for n in notes]


def _first_payload(fixture: str) -> tuple[int, int, int]:
    """(frame number, where its TCP payload starts, its length) of the fixture's first
    frame that carries TCP payload (the CONNECT)."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    for n, (_s, _u, data, _o) in enumerate(pcap_records(FIXTURES / fixture)[1], 1):
        pkt = Ether(data)
        if TCP in pkt and bytes(pkt[TCP].payload):
            start = 14 + pkt[IP].ihl * 4 + pkt[TCP].dataofs * 4
            return n, start, pkt[IP].len - (start - 14)
    raise AssertionError("no payload in " + fixture)


@pytest.mark.parametrize(("pcapng", "into_payload"), [(False, 0), (True, 0), (False, 6)])
def test_first_words_cut_away_are_said_with_the_bytes_kept(tmp_path: Path, pcapng: bool,
                                                           into_payload: int) -> None:
    """-s 60 (headers only) or 6 bytes into the CONNECT: the handshake and MSS are read;
    the CONNECT is not, and the note says why, where, and how to keep it."""
    first, start, length = _first_payload("clamp.pcap")
    snap = 60 if not into_payload else start + into_payload
    path = _cut(tmp_path / ("s.pcapng" if pcapng else "s.pcap"), "clamp.pcap", snap, pcapng)
    status, doc, _err = _analyze(path)
    assert status == ExitStatus.HEALTHY, doc
    (row,) = doc["legs"]   # type: ignore[misc]
    assert (row["mss_sent"], row["mss_received"]) == (1460, 1300), row
    (note,) = [n for n in _notes(doc) if "snap length" in n]
    assert note.startswith("1 connection whose first words (a request, a proxy's answer, "
                           "a TLS hello) could not be read, cut short by the capture's snap "
                           f"length (the first at frame {first}: {into_payload} of its "
                           f"{length} payload bytes kept)"), note
    assert "tcpdump -s 0" in note, note
    # (squid's port: the proxy passes for the server; --proxy puts it right)
    proxy = f"{row['target']}"
    assert proxy.endswith(":3128") and f"say so with --proxy {proxy} " in note, (row, note)
    status, doc, _err = _analyze(path, "--proxy", proxy)
    (row,) = doc["legs"]   # type: ignore[misc]
    assert status == ExitStatus.HEALTHY and row["name"] == "fmc-proxy", row
    (note,) = [n for n in _notes(doc) if "snap length" in n]
    assert "--proxy" not in note, note


@pytest.mark.parametrize("snap", [200, 400, 65535])
def test_a_snap_length_that_hid_nothing_read_goes_unsaid(tmp_path: Path, snap: int) -> None:
    """The lab's own captures keep 400 bytes a frame: requests, answers and hellos are read
    whole; the note would be noise. The proxy and its CONNECT are seen as uncut."""
    status, doc, _err = _analyze(_cut(tmp_path / "s.pcap", "healthy.pcap", snap))
    assert status == ExitStatus.HEALTHY, doc
    assert not any("snap length" in n for n in _notes(doc)), doc["notes"]
    (row,) = doc["legs"]   # type: ignore[misc]
    assert row["target"] != "-" and row["name"] == "fmc-proxy", row


@pytest.mark.parametrize("snap", [34, 40, 53])
def test_tcp_headers_cut_away_are_named_not_called_no_tcp(tmp_path: Path, snap: int) -> None:
    status, doc, _err = _analyze(_cut(tmp_path / "s.pcap", "healthy.pcap", snap))
    assert status == ExitStatus.HEALTHY, doc
    notes = _notes(doc)
    frames = len(pcap_records(FIXTURES / "healthy.pcap")[1])
    assert any(n.startswith(f"{frames} TCP packets whose TCP header is cut short (first at "
                            "frame 1)") for n in notes), notes
    assert not any("no TCP connection in the capture" in n for n in notes), notes


@pytest.mark.parametrize("snap", [14, 20, 33])
def test_ip_headers_cut_away_advise_a_larger_snap_length(tmp_path: Path, snap: int) -> None:
    status, doc, err = _analyze(_cut(tmp_path / "s.pcap", "healthy.pcap", snap))
    assert status == ExitStatus.NOT_MEASURED and not doc, err
    frames = len(pcap_records(FIXTURES / "healthy.pcap")[1])
    assert f"no IP packet in {frames} frames ({frames} IPv4 (header cut short))" in err, err
    assert (f"every frame was kept to at most {snap} bytes (the capture's snap length), too "
            "few for the IP header; re-capture with 'tcpdump -s 0 -w FILE'") in err, err
    assert "tcpdump -i any" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("kept", [42, 30])
def test_frames_without_ip_keep_the_link_advice_cut_or_not(tmp_path: Path, kept: int) -> None:
    """ARP frames, kept whole or cut: no IP header was lost, so the advice stays the link's
    (tcpdump's own test captures cut Wi-Fi, Frame Relay and LLDP frames)."""
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\0" * 28
    path = write_pcap(tmp_path / "a.pcap", 1, [(0, 0, arp[:kept], len(arp))])
    status, _doc, err = _analyze(path)
    assert status == ExitStatus.NOT_MEASURED, err
    assert "ARP" in err and "snap length" not in err and "tcpdump -i any" in err, err


def test_raw_ip_cut_inside_its_header_is_named(tmp_path: Path) -> None:
    """A raw IP link (DLT_RAW) whose frames kept 12 bytes: the same advice."""
    _linktype, recs = pcap_records(FIXTURES / "healthy.pcap")
    cut = [(sec, usec, data[14:26], orig - 14) for sec, usec, data, orig in recs]
    status, _doc, err = _analyze(write_pcap(tmp_path / "raw.pcap", 101, cut))
    assert status == ExitStatus.NOT_MEASURED, err
    assert f"({len(recs)} IP (header cut short)) on raw IP; every frame was kept to at most " \
           "12 bytes" in err, err


def test_tcpdump_text_of_cut_headers_names_them_too(tmp_path: Path) -> None:
    """What `tcpdump -n -r` prints of such a capture: '[|tcp]' where the flags would be."""
    text = tmp_path / "cut.txt"
    text.write_text("\n".join([
        "# tcpdump -n -r s.pcap (taken with -s 40)",
        "09:21:07.621535 IP 198.18.1.2.54644 > 198.18.2.2.3128:  [|tcp]",
        "09:21:07.621616 IP 198.18.2.2.3128 > 198.18.1.2.54644:  [|tcp]",
        "09:21:07.621645 IP 198.18.1.2.54644 > 198.18.2.2.3128:  [|tcp]",
        "09:21:07.621700 IP 198.18.1.2.5353 > 198.18.2.2.53: 1+ A? example.test. (30)",
    ]) + "\n")
    status, doc, _err = _analyze(text)
    assert status == ExitStatus.HEALTHY, doc
    notes = _notes(doc)
    assert any(n.startswith("3 TCP packets whose TCP header is cut short (first at line 2)")
               for n in notes), notes
    assert not any("no TCP connection in the capture" in n for n in notes), notes


def test_a_tcp_header_split_over_fragments_is_no_cut_header(tmp_path: Path) -> None:
    """A SYN whose first fragment holds 8 bytes of its TCP header (as suricata-verify's
    defrag captures): the rest is in the next fragment, which the fragment note counts."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    syn = bytes(TCP(sport=40000, dport=3128, flags="S", seq=1000, options=[("MSS", 1460)]))
    first = Ether() / IP(src="198.18.1.2", dst="198.18.2.2", proto=6, id=7, flags="MF",
                         frag=0) / syn[:8]
    rest = Ether() / IP(src="198.18.1.2", dst="198.18.2.2", proto=6, id=7, frag=1) / syn[8:]
    recs = [(0, 0, bytes(first), len(first)), (0, 1000, bytes(rest), len(rest))]
    status, doc, _err = _analyze(write_pcap(tmp_path / "frag.pcap", 1, recs))
    assert status in (ExitStatus.HEALTHY, ExitStatus.PROBLEM), doc
    notes = _notes(doc)
    assert any(n.startswith("2 IP fragments in the capture (first at frame 1)")
               for n in notes), notes
    assert not any("header is cut short" in n for n in notes), notes
