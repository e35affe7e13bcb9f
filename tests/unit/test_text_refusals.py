"""Texts that show no packet get one line on stderr, exit 2, and what to paste instead:
Windows tracert, Cisco traceroute and mtr (whose probes say nothing of sizes), a
traceroute header alone, and any other text (exit 3 when its packet lines hold no IP
packet). The mtr fixtures are real runs in the lab (mtr 0.95): with -s 1472 through the
lab's 1400-byte link every hop answered, the probes fragmented rather than refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pathprobe.capture.text import parse_text
from pathprobe.capture.textrefuse import no_packet_error
from tests.conftest import cli_env

TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "text"


def refused(path: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path)],
                          capture_output=True, text=True, env=cli_env(), check=False,
                          timeout=60)
    assert proc.returncode == 2 and not proc.stdout, proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("name", ["lab-healthy", "lab-mtu-1400-size-1472", "lab-mtu6"])
def test_mtr_output_names_what_shows_sizes(name: str) -> None:
    err = refused(TEXT / "mtr" / f"{name}.txt")
    assert f"{name}.txt: mtr output" in err and "not which sizes pass" in err
    assert "tracepath -n HOST" in err and "ping -M do -s 1472 HOST" in err


@pytest.mark.parametrize("name", ["hand-en", "hand-de"])
def test_windows_tracert_output_names_the_df_ping_sweep(name: str) -> None:
    err = refused(TEXT / "tracert" / f"{name}.txt")
    assert "Windows tracert (or pathping) output" in err and "ping -f -l 1472 HOST" in err


def test_cisco_traceroute_output_names_the_extended_ping_sweep(tmp_path: Path) -> None:
    """IOS/ASA/FTD traceroute (the format of public pastes): no size, no DF."""
    paste = tmp_path / "paste.txt"
    paste.write_text("ciscoasa# traceroute 198.18.4.2\n\nType escape sequence to abort.\n"
                     "Tracing the route to 198.18.4.2\n\n 1 198.18.1.1 0 msec 0 msec 0 msec\n"
                     " 2  *  *  *\n 3 198.18.4.2 10 msec 0 msec 10 msec\n")
    err = refused(paste)
    assert "Cisco traceroute output" in err and "DF bit set and a sweep of sizes" in err


def test_a_traceroute_header_alone_asks_for_the_whole_output(tmp_path: Path) -> None:
    paste = tmp_path / "paste.txt"
    paste.write_text("traceroute to 198.18.4.2 (198.18.4.2), 30 hops max, 60 byte packets\n")
    err = refused(paste)
    assert "traceroute output without a hop that says how its probes fared" in err


def test_any_other_text_is_one_line_that_counts_in_the_singular(tmp_path: Path) -> None:
    paste = tmp_path / "paste.txt"
    paste.write_text("hello\n")
    err = refused(paste)
    assert "tcpdump, Wireshark, tshark, hex dump, HTTP, ping, tracepath or traceroute lines in 1 " \
        "line of text (first: 'hello')" in err
    paste.write_text("hello\nworld\n")
    assert "in 2 lines of text" in refused(paste)


def test_mtr_and_tracert_lines_beside_packets_change_nothing(tmp_path: Path) -> None:
    """Only a text without packets is asked what it is: hop lines pasted with a capture's
    lines leave its verdict as it was."""
    base = (TEXT / "healthy.tcpdump-n.txt").read_text()
    extra = (TEXT / "mtr" / "lab-healthy.txt").read_text() \
        + (TEXT / "tracert" / "hand-en.txt").read_text()
    verdicts = []
    for i, text in enumerate((base, base + "\n" + extra)):
        paste = tmp_path / f"paste{i}.txt"
        paste.write_text(text)
        proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(paste),
                               "--json"], capture_output=True, text=True, env=cli_env(),
                              check=False, timeout=60)
        assert proc.returncode == 0, proc.stderr
        verdicts.append([(v["code"], v["leg"]) for v in json.loads(proc.stdout)["verdicts"]])
    assert verdicts[0] and verdicts[0] == verdicts[1]


@pytest.mark.parametrize(("lines", "wanted"), [
    (["  1.|-- 198.18.1.1   0.0%     3    0.1   0.1   0.1   0.1   0.0"], "mtr output"),
    (["HOST: fmc     Loss%   Snt   Last   Avg  Best  Wrst StDev"], "mtr output"),
    (["$ sudo mtr -rw example.com"], "mtr output"),
    (["  3     *        *        *     Request timed out."], "Windows tracert"),
    (["Tracing route to example.com [198.18.4.2]"], "Windows tracert"),
    (["C:\\>tracert 198.18.4.2"], "Windows tracert"),
    ([" 1  198.18.1.1  0.101 ms  0.080 ms  0.076 ms"], "not a capture"),   # traceroute's order
    (["Type escape sequence to abort.", "Tracing the route to 198.18.4.2"],
     "Cisco traceroute output"),
    (["  2 198.18.2.2 [AS 65001] 1 msec *  0 msec"], "Cisco traceroute output"),
    (["mtr is a tool"], "not a capture"),
    (["tracert is a tool too"], "not a capture"),
    (["tracert -d -h 20 198.18.4.2"], "Windows tracert"),
    (["C:\\Users\\admin>pathping -n 198.18.4.2"], "Windows tracert (or pathping)"),
])
def test_which_tool_a_text_without_packets_came_from(lines: list[str], wanted: str) -> None:
    error = no_packet_error("t.txt", lines, parse_text(lines))
    assert error is not None and error.startswith(f"t.txt: {wanted}"), error


def test_a_text_of_one_packet_line_without_ip_says_line(tmp_path: Path) -> None:
    paste = tmp_path / "paste.txt"
    paste.write_text("12:00:00.000000 ARP, Request who-has 198.18.1.1 tell 198.18.1.2, "
                     "length 28\n")
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(paste)],
                          capture_output=True, text=True, env=cli_env(), check=False,
                          timeout=60)
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1, proc
    assert "no IP packet in 1 packet line of text (ARP" in proc.stderr
