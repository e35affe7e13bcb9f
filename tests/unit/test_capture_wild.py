"""`analyze` on what nDPI's public test captures showed (real app traffic nobody here made):
a ServerHello whose first segment came 29 us after its second (teams.pcap: 8 healthy Teams
sessions were a critical "no ServerHello" stall), a client that abandons its unanswered SYN
with a reset whose ACK is 0 (alexa-app.pcapng: "ok"), refusals and silences merged under one
reset's evidence, and Cisco HDLC frames in a PPP capture (BGP_Cisco_hdlc_slarp.pcap: "no IP
... PPP control"). The captures here are our own, built to the same shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import cli_env
from tests.unit.test_analyze_any_capture import UPSTREAM, Conv, codes
from tests.unit.test_capture_analysis import write_pcap


def _chdlc_frames(kind: str) -> list[tuple[float, bytes]]:
    """A session as a Cisco router writes it with PPP as the link type: 0x0F 0x00, then
    the ethertype (IPv4), or SLARP keepalives (0x8035) alone."""
    if kind == "slarp":
        return [(t, b"\x8f\x00\x80\x35" + b"\x00" * 18) for t in (0.0, 10.0, 20.0)]
    c = Conv(server=UPSTREAM, sport=179)
    c.handshake(0.0)
    c.send(0.01, True, b"\xff" * 16 + b"\x00\x1d\x01\x04" + b"\x00" * 25)
    c.ack(0.02, False)
    c.close(0.1)
    return [(ts, b"\x0f\x00\x08\x00" + frame[14:]) for ts, frame in c.frames]


def _analyze(path: Path) -> tuple[int, dict[str, Any], str]:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                       capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


def test_cisco_hdlc_frames_in_a_ppp_capture_are_read(tmp_path: Path) -> None:
    for linktype in (9, 50):   # LINKTYPE_PPP, LINKTYPE_PPP_HDLC
        cap = write_pcap(tmp_path / f"chdlc-{linktype}.pcap", _chdlc_frames("tcp"), linktype)
        status, doc, err = _analyze(cap)
        assert status == 0 and codes(doc) == ["HEALTHY"], (linktype, err)
        (row,) = doc["legs"]
        assert row["target"] == f"{UPSTREAM}:179" and row["mss_sent"] == 1460, row


def test_a_ppp_capture_of_cisco_hdlc_keepalives_alone_says_so(tmp_path: Path) -> None:
    cap = write_pcap(tmp_path / "slarp.pcap", _chdlc_frames("slarp"), 9)
    status, _doc, err = _analyze(cap)
    assert status == 3, err
    assert "3 Cisco HDLC frames without IP (SLARP keepalives, CDP ...)" in err, err
    assert "PPP control" not in err, err
