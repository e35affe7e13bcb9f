"""TLS sessions as text: a line names a hello ("Client Hello") but shows none of its bytes.
Real tshark prints our own healthy session (a 122-byte ClientHello, answered, then 17.5 s
idle and a FIN); its text must not turn into a critical stall that the pcap does not have
(cuckoo's mixed-traffic as tshark -V: a made-up 512-byte record 'still owed 69 bytes', and
an unlabelled answer read as 'no ServerHello' of a hello 'spanning segments')."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pathprobe.capture.textpacket import CLIENT_HELLO, SERVER_HELLO, sized_hello
from tests.conftest import cli_env
from tests.unit.test_capture_analysis import Flow, write_pcap


def _client_hello() -> bytes:
    """A ClientHello record of 117 bytes (122 with its header) that tshark decodes."""
    ext = struct.pack("!HH", 0x0015, 64) + bytes(64)            # padding
    body = (b"\x03\x01" + os.urandom(32) + b"\x00" + struct.pack("!H", 4) + b"\x00\x2f\x00\x35"
            + b"\x01\x00" + struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _server_hello() -> bytes:
    body = b"\x03\x01" + os.urandom(32) + b"\x00" + b"\x00\x2f" + b"\x00"
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _record(kind: int, n: int) -> bytes:
    return bytes([kind, 3, 1]) + struct.pack("!H", n - 5) + os.urandom(n - 5)


def _session(path: Path, tls_answer: bool) -> Path:
    f = Flow(server="198.18.3.3", sport=443)
    f.handshake(100.0)
    f.send(100.01, True, _client_hello())
    f.ack(100.02, False)
    first = (_server_hello() + _record(22, 1400) if tls_answer
             else b"\x00\x01not tls" + os.urandom(1440))   # (an answer tshark cannot label)
    f.send(100.03, False, first)
    f.send(100.031, False, _record(23, 1460))
    f.ack(100.032, True)
    f.send(100.05, True, _record(20, 6) + _record(22, 320))
    f.send(100.07, False, _record(23, 59))
    f.ack(100.08, True)
    f.close(117.6)
    return write_pcap(path, f.frames)


def _verdicts(path: Path) -> list[tuple[str, str]]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          capture_output=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return [(v["code"], v["severity"]) for v in json.loads(proc.stdout)["verdicts"]]


@pytest.mark.parametrize("tls_answer", [True, False])
@pytest.mark.parametrize("args", [["-V"], []], ids=["tshark-V", "tshark"])
def test_an_idle_tls_session_as_text_is_no_critical_stall(
        tmp_path: Path, tls_answer: bool, args: list[str]) -> None:
    pcap = _session(tmp_path / "idle.pcap", tls_answer)
    assert _verdicts(pcap) == [("HEALTHY", "info")]
    text = tmp_path / "idle.txt"
    text.write_bytes(subprocess.run(["tshark", "-n", *args, "-r", str(pcap)], check=True,
                                    capture_output=True, timeout=60).stdout)
    said = _verdicts(text)
    # (text cannot follow the records, so an idle session and a stall both remain)
    assert all(severity != "critical" for _code, severity in said), said


def test_a_named_hello_ends_with_its_segment() -> None:
    assert sized_hello(CLIENT_HELLO, 122) == b"\x16\x03\x01\x00\x75\x01"
    assert sized_hello(SERVER_HELLO, 1460)[3:5] == (1455).to_bytes(2, "big")
    assert sized_hello(CLIENT_HELLO, 5) == CLIENT_HELLO          # (shorter than its header)
    assert sized_hello(CLIENT_HELLO, 70_000)[3:5] == b"\xff\xff"
    assert sized_hello(b"GET / HTTP/1.1\r\n\r\n", 300) == b"GET / HTTP/1.1\r\n\r\n"
