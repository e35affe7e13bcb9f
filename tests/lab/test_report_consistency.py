"""One source of truth per measured quantity (issue 21, item 2), through the real CLI on
the lab: each quantity once per leg and direction (or once per step, named, where two
steps measured it differently), JSON legs one per leg and direction with the per-step
detail in ``steps``, and a path drawing, summary and findings that never disagree (a
refusal is drawn on the proxy, not on the leg its probes crossed)."""

from __future__ import annotations

import json
import re
from collections import Counter

import jsonschema

from pathprobe.schema import load_schema
from tests.conftest import Lab

PROXY = "http://198.18.2.2:3128"
TARGET = "upstream.pathprobe.test:443"


def diagnose(lab: Lab, *args: str) -> str:
    r = lab.cli("diagnose", "--proxy", PROXY, "--target", TARGET, "-q", *args, timeout=180)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


def measurement_rows(text: str) -> list[tuple[str, str, str]]:
    """(leg, direction, quantity) of each row of the Measurements table (--width 200)."""
    table = text.split("\nMeasurements\n")[1].splitlines()[2:]
    rows = []
    for line in table:
        cells = [c for c in line.split("  ") if c.strip()]
        if len(cells) >= 4:
            rows.append((cells[0].strip(), cells[1].strip(), cells[2].strip()))
    return rows


def test_a_leg1_black_hole_states_each_quantity_once(lab: Lab) -> None:
    """Interface, interface MTU and cached PMTU were listed twice; leg 1 showed "MSS
    received" 1460 and 1300 (the tunnel's own socket); JSON legs repeated fmc-proxy."""
    lab.up("blackhole")
    text = diagnose(lab, "--width", "200")
    rows = measurement_rows(text)
    per_leg = Counter((leg, quantity) for leg, _, quantity in rows)
    assert [k for k, n in per_leg.items() if n > 1] == [], rows
    assert per_leg[("fmc-proxy", "MSS received")] == 1
    assert per_leg[("fmc-proxy", "interface MTU")] == 1
    doc = json.loads(diagnose(lab, "--json"))
    jsonschema.validate(doc, load_schema())
    keys = [(leg["name"], leg.get("direction")) for leg in doc["legs"]]
    assert len(keys) == len(set(keys)), keys
    assert all(row["step"] for row in doc["steps"]), doc["steps"]   # each row names its step
    steps = {row["step"] for row in doc["steps"]}
    assert {"local", "pmtu", "mss", "tunnel"} <= steps
    leg1 = [leg for leg in doc["legs"] if leg["name"] == "fmc-proxy"]
    assert sum("mss_received" in leg for leg in leg1) == 1
    assert sum("interface_mtu" in leg for leg in leg1) == 1


def test_a_refusal_is_drawn_on_the_proxy_and_the_summary_agrees(lab: Lab) -> None:
    """A 403 was drawn as "XX leg 1 up/down PROXY_DENIED" while the summary said leg 1
    was healthy."""
    lab.up("acl")
    text = diagnose(lab, "--width", "120")
    path = text.split("\nPath\n")[1].split("\n\n")[0].splitlines()
    summary = " ".join(text.split("\nSummary\n")[1].split("\n\n")[0].split())
    assert any(line.split()[:3] == ["XX", "proxy", "PROXY_DENIED:"] for line in path), path
    leg1 = [line for line in path if line.split()[1:3] in (["leg", "1"],)]
    assert leg1 and all(line.split()[0] == "ok" for line in leg1), path
    assert "leg 1 (fmc-proxy) healthy" in summary
    assert not any("leg" in line and "PROXY_DENIED" in line for line in path)
    page = diagnose(lab, "--format", "html")
    assert "\u2716 PROXY_DENIED" in page      # the proxy box carries the refusal


def test_progress_is_one_updating_line_on_a_terminal(lab: Lab) -> None:
    """Progress was ~20 scrolling lines that wrapped mid-word at 80 columns, without colour,
    and the verdict scrolled away (issue 21, item 4)."""
    from tests.terminal import ANSI, run_on_pty, visible_lines

    lab.up("article")
    status, screen, _ = run_on_pty(["diagnose", "--proxy", PROXY, "--target", TARGET],
                                   prefix=["ip", "netns", "exec", lab.ns("fmc")])
    assert status == 1, screen
    before = screen.split("pathprobe diagnose report")[0]
    assert "\r\x1b[K" in before and "\n" not in before, before   # one line, rewritten
    assert "[step 3," in before or "[step 4," in before           # the step it is at
    assert all(len(line) <= 80 for line in visible_lines(screen))
    assert "\x1b[31;1m" in screen                                 # critical in red
    plain = ANSI.sub("", screen).replace("\r", "")
    assert plain.rstrip().split("\nSummary\n")[-1].strip().startswith("leg 2 (proxy-upstream)")
    status, screen, _ = run_on_pty(["diagnose", "--proxy", PROXY, "--target", TARGET, "-v"],
                                   prefix=["ip", "netns", "exec", lab.ns("fmc")])
    steps = [line for line in visible_lines(screen) if line.startswith("pathprobe: step ")]
    assert len(steps) >= 4 and all(re.match(r"pathprobe: step \d: \d+\.\d\d s", line)
                                   for line in steps), steps
