"""``tshark -O tcp`` text (TCP in detail, the other layers one line each): it shows no frame
times, only each packet's '[Time since first frame in this TCP stream: ...]'. On 57cda53 the
text was read untimed, so the article's reset story, whose RST comes 0.2 ms after the large
segment, lost its timing: RST_ON_LARGE_SEGMENT 'inferred' where the pcap says 'measured'.
Those times are the text's when it shows one stream alone; several streams' clocks start
apart, by an amount nothing in the text says, so such a text stays untimed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.text import parse_text
from pathprobe.capture.textdetail import stream_times
from tests.conftest import cli_env

TEXTS = Path(__file__).resolve().parents[1] / "fixtures" / "text"
PROXY = "198.18.2.2:80"     # (-O tcp hides the CONNECT the other forms show)


def _tshark_tcp(pcap: Path) -> str:
    return subprocess.run(["tshark", "-n", "-O", "tcp", "-r", str(pcap)], capture_output=True,
                          text=True, check=True, timeout=60).stdout


def _told(path: Path) -> list[Any]:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--proxy",
                           PROXY, "--json"], capture_output=True, env=cli_env(), check=False,
                          timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    return [[(v["code"], v["leg"], v["severity"], v["confidence"]) for v in doc["verdicts"]],
            [(leg["mss_sent"], leg["mss_received"], leg["max_seg_up"], leg["max_seg_down"],
              leg["ended"]) for leg in doc["legs"]]]


@pytest.mark.parametrize("story", ["healthy", "rst", "silence"])
def test_tshark_o_tcp_reads_as_the_capture(tmp_path: Path, story: str) -> None:
    text = tmp_path / f"{story}.tshark-O-tcp.txt"
    text.write_text(_tshark_tcp(TEXTS / f"{story}.pcap"))
    assert _told(text) == _told(TEXTS / f"{story}.pcap")


def test_times_since_a_streams_first_frame_are_the_texts_for_one_stream_only() -> None:
    lines = _tshark_tcp(TEXTS / "rst.pcap").splitlines()
    packets = parse_text(lines).packets
    assert packets and all(p.ts is None for p in packets)
    stream_times(packets)
    relative = subprocess.run(["tshark", "-r", str(TEXTS / "rst.pcap"), "-T", "fields", "-e",
                               "frame.time_relative"], capture_output=True, text=True,
                              check=True, timeout=60).stdout.split()
    assert [p.ts for p in packets] == pytest.approx([float(t) for t in relative], abs=1e-6)
    # a second stream (its own clock from 0 again): nothing says where it began
    other = [line.replace("[Stream index: 0]", "[Stream index: 1]") for line in lines]
    packets = parse_text([*lines, "", *other]).packets
    stream_times(packets)
    assert all(p.ts is None for p in packets)
