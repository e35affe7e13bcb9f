"""What a terminal gets (issue 21, item 4), through the real CLI on a pseudo-terminal:
progress on one updating line, colour for severities, the summary last as well; NO_COLOR,
a pipe, -q and --json stay plain; -v shows each step's wall time."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.terminal import ANSI, run_on_pty, visible_lines

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
CAPTURE = str(CAPTURES / "blackhole-leg2.pcap")


def test_a_terminal_gets_colour_and_the_summary_last() -> None:
    status, screen, _ = run_on_pty(["analyze", CAPTURE])
    assert status == 1, screen
    assert "\x1b[31;1m" in screen                      # critical in red
    plain = ANSI.sub("", screen).replace("\r", "")
    assert plain.count("\nSummary\n") == 2             # ... and once more at the end
    last = plain.rstrip().split("\nSummary\n")[-1]
    assert "drops" in last or "stall" in last, last
    assert all(len(line) <= 80 for line in visible_lines(screen)), screen


def test_no_color_a_pipe_and_json_stay_plain() -> None:
    for env, args in (({"NO_COLOR": "1"}, []), ({}, ["--json"])):
        status, screen, _ = run_on_pty(["analyze", CAPTURE, *args], env=env)
        assert status == 1
        assert "\x1b[" not in screen, (env, args)
    _, _, stdout = run_on_pty(["analyze", CAPTURE, "-v"], stdout_pipe=True)
    assert "\x1b[" not in stdout and stdout.count("\nSummary\n") == 1
    _, _, stdout = run_on_pty(["analyze", CAPTURE, "--json"], stdout_pipe=True)
    assert json.loads(stdout)["schema"] == "pathprobe/1"


def test_quiet_prints_no_progress_and_verbose_each_steps_time() -> None:
    _, screen, stdout = run_on_pty(["analyze", CAPTURE, "-q"], stdout_pipe=True)
    assert screen == "" and "Summary" in stdout
    _, screen, stdout = run_on_pty(["analyze", CAPTURE, "-v"], stdout_pipe=True)
    lines = [line for line in visible_lines(screen) if line.strip()]
    assert any(re.fullmatch(r"pathprobe: step 1: \d+\.\d\d s", line) for line in lines), lines
    assert lines[-1].startswith("pathprobe: analyze: ") and lines[-1].endswith(" s")


def test_text_pasted_on_the_terminal_ends_with_one_ctrl_d() -> None:
    """'analyze -' with the terminal as its input: a line says how to end the paste, no
    progress line is redrawn through it, and one Ctrl-D ends it (a second read would have
    waited for another)."""
    text = (CAPTURES.parent / "text" / "rst.tcpdump-n.txt").read_bytes()
    status, terminal, report = run_on_pty(["analyze", "-"], stdout_pipe=True, timeout=20,
                                          typed=text, typed_after=b"Ctrl-D")
    assert status == 1, terminal
    assert "pathprobe: reading the capture text pasted here (tcpdump lines, a Wireshark " \
        "list ...); end it with Ctrl-D on a line of its own" in terminal
    assert "[step 1," not in terminal and "\x1b[K" not in terminal
    assert "RST_ON_LARGE_SEGMENT" in report
