"""analyze's memory is bounded by a cap on connections followed at once (issue 23 item 5):
idle SYN-only connections are judged early first, the notes say so, and a busy tunnel
that outlives a SYN flood keeps its own verdict."""

from __future__ import annotations

import inspect
import json
import socket
import subprocess
import sys
from pathlib import Path

from pathprobe.capture import Filters, analyze_capture
from pathprobe.capture.conn import pack_key
from pathprobe.capture.tracker import MAX_CONNECTIONS, Tracker
from pathprobe.commands.analyze import analyze_command
from pathprobe.facts.capture import CaptureFact
from pathprobe.model import VerdictCode
from pathprobe.wire.headers import parse_ip, parse_tcp, tcp_payload_length
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import CLIENT_HELLO, Flow, write_pcap

FLOOD = 60


def _capture(tmp_path: Path) -> Path:
    """One tunnel opened first and used last, around a flood of SYN-only connections;
    the tunnel then stalls after the ClientHello (TUNNEL_STALL, from its own state)."""
    tunnel = Flow(cport=40000)
    tunnel.tunnel(ts=0.0)
    syns: list[tuple[float, bytes]] = []
    for i in range(FLOOD):
        f = Flow(cport=50000 + i)
        f._pkt(1.0 + i * 0.001, True, "S", options=[("MSS", 1460)])
        syns += f.frames
    tunnel.send(2.0, True, CLIENT_HELLO)
    tunnel.ack(2.01, False)
    frames = sorted(tunnel.frames + syns, key=lambda x: x[0])
    return write_pcap(tmp_path / "flood.pcap", [*frames, (30.0, tunnel.frames[2][1])])


def _cli(cap: Path, *extra: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(cap), "--json",
                           "--port", "3128", "--max-rows", "0", *extra],
                          capture_output=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode in (0, 1, 2), proc.stderr
    report: dict[str, object] = json.loads(proc.stdout)
    return report


def test_a_small_cap_judges_syn_only_connections_early_and_says_so(tmp_path: Path) -> None:
    cap = _capture(tmp_path)
    capped = _cli(cap, "--max-connections", "10")
    notes = capped["notes"]
    assert isinstance(notes, list)
    shed = [n for n in notes if "judged early" in n]
    assert len(shed) == 1, notes
    # the cap is 10 (the tunnel plus 9); every SYN beyond that was judged early, all SYN-only
    count = int(shed[0].split(": ")[1].split(" ")[0])
    assert count >= FLOOD - 9 and f"{count} had sent only a SYN" in shed[0]
    assert "more than 10 connections" in shed[0]
    # the tunnel, active all along, was never judged early: its stall is the same verdict
    free = _cli(cap)
    assert not [n for n in free["notes"] if "judged early" in n]  # type: ignore[union-attr]
    codes = [v["code"] for v in capped["verdicts"]]               # type: ignore[union-attr]
    assert codes == [v["code"] for v in free["verdicts"]]         # type: ignore[union-attr]
    assert VerdictCode.TUNNEL_STALL.value in codes
    assert len(capped["legs"]) == len(free["legs"]) == FLOOD + 1  # type: ignore[arg-type]


def test_the_typed_note_and_the_table_stay_within_the_cap(tmp_path: Path) -> None:
    cap = _capture(tmp_path)
    a = analyze_capture(cap, Filters(ports=frozenset({3128})), max_connections=10)
    (note,) = [n for n in a.notes if n.fact is CaptureFact.CONNECTIONS_SHED]
    assert note.values.get("max_connections") == 10
    assert note.values.get("syn_only") == note.values.get("count")
    seen: list[int] = []
    t = Tracker(lambda c: seen.append(c.index), max_connections=10)
    peak = 0

    def feed(ts: float, frame: bytes) -> None:
        nonlocal peak
        ip = parse_ip(frame[14:])
        assert ip is not None
        tcp = parse_tcp(frame[14 + ip.header_length:])
        assert tcp is not None
        key = pack_key(socket.inet_pton(socket.AF_INET, ip.src),
                       socket.inet_pton(socket.AF_INET, ip.dst), tcp.sport, tcp.dport)
        t.capture_end = ts
        t.tcp(len(seen), ts, ip.version, key, tcp.seq, tcp.ack, tcp.flags, ip.total_length,
              tcp_payload_length(ip, tcp), b"", 0, tcp.options)
        peak = max(peak, len(t.table) // 2)

    for i in range(100):
        f = Flow(cport=20000 + i)
        f._pkt(float(i), True, "S", options=[("MSS", 1460)])
        feed(*f.frames[0])
    assert peak <= 10 and t.shed_total == t.shed_syn_only >= 90


def test_the_cli_default_is_the_trackers() -> None:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", "--help"],
                          capture_output=True, env=cli_env(), check=True, timeout=60,
                          text=True)
    assert "--max-connections" in proc.stdout
    default = inspect.signature(analyze_command).parameters["max_connections"].default
    assert default == MAX_CONNECTIONS
