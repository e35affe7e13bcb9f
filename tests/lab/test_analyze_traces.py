"""Real tracepath and traceroute runs in the lab, captured while they ran: the capture and
the program's own output, pasted as text, give one verdict (issue 20 items 5 and 6)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from pathprobe.lab import topology as topo
from tests.conftest import Lab
from tests.lab.test_analyze import analyze, tcpdump, text_forms, verdicts


def traced(lab: Lab, capture: Path, v6: bool) -> tuple[str, str]:
    """tracepath to the upstream twice in a row, captured on the fmc; the terminal's text
    of both runs, and of the second alone (it starts at the MTU the kernel learned)."""
    target = topo.UPSTREAM_V6 if v6 else topo.UPSTREAM_V4
    shown = []
    with tcpdump(lab, capture, snaplen=200):
        for _ in range(2):
            argv = ["tracepath", "-6" if v6 else "-4", "-n", "-m", "4", target]
            r = lab.run(argv, timeout=60)
            assert r.returncode == 0, r.stderr
            shown.append(f"[admin@fmc ~]$ {shlex.join(argv)}\n{r.stdout}")
    return "".join(shown), shown[1]


def summary(doc: dict[str, object]) -> list[tuple[object, ...]]:
    return [(v["code"], v["confidence"], v.get("mtu"), v.get("pmtu_low"), v.get("pmtu_high"),
             v.get("router")) for v in verdicts(doc)]


@pytest.mark.parametrize("scenario", ["mtu", "mtu-v6", "mtu-noicmp", "healthy"])
def test_a_tracepath_pasted_as_text_reads_as_its_capture(lab: Lab, tmp_path: Path,
                                                         scenario: str) -> None:
    """Across r1's 1400-byte link ('mtu') the path MTU is 1400, exact: the probe of 1400
    bytes reached the upstream (tcpdump -v's and tshark -V's text of the capture say the same). With
    frag-needed filtered ('mtu-noicmp') nothing answers past r1 and tracepath tried one
    size: no size verdict, and the text says why. The second run alone starts at the 1400
    the kernel learned: the host's own bound."""
    v6 = scenario.endswith("-v6")
    lab.up(scenario.removesuffix("-v6"))
    cap = tmp_path / f"{scenario}.pcap"
    both, again = traced(lab, cap, v6)
    text = tmp_path / f"{scenario}.tracepath.txt"
    text.write_text(both)
    status, from_capture = analyze(lab, cap)
    text_status, from_text = analyze(lab, text)
    assert (text_status, summary(from_text)) == (status, summary(from_capture))
    if not v6:   # (tcpdump -v quotes ICMPv4 errors; the capture holds no UDP to match ICMPv6's)
        assert summary(analyze(lab, text_forms(cap)["tcpdump-v"])[1]) == summary(from_capture)
    detail = tmp_path / f"{scenario}.tshark-V.txt"    # (tshark -V quotes both families' errors)
    detail.write_text(subprocess.run(["tshark", "-n", "-V", "-r", str(cap)], capture_output=True,
                                     text=True, check=True, timeout=60).stdout)
    assert summary(analyze(lab, detail)[1]) == summary(from_capture)
    assert "tracepath output" in str(from_text["notes"])
    if scenario.startswith("mtu-noicmp"):
        assert summary(from_text) == [("HEALTHY", "inferred", None, None, None, None)]
        assert "from hop 2 on, nothing answered the 1500-byte DF probes of tracepath" in str(
            from_text["notes"])
        return
    if scenario == "healthy":
        assert summary(from_text) == [("HEALTHY", "inferred", None, None, None, None)]
        assert "1500-byte DF probe (UDP) reached" in str(from_text["notes"])
        return
    router = "2001:db8:1::1" if v6 else topo.R1_V4
    assert (status, summary(from_text)) == (0, [("PMTU_REDUCED", "measured", 1400, None,
                                                  None, router)])
    second = tmp_path / f"{scenario}.again.txt"
    second.write_text(again)
    _s, doc = analyze(lab, second)
    (v,) = verdicts(doc)
    assert (v["code"], v.get("mtu")) == ("PMTU_REDUCED", 1400), v
    assert "text-trace-local-mtu" in [f["fact"] for f in v["facts"]]   # type: ignore[union-attr]


@pytest.mark.parametrize(("scenario", "how"), [("mtu", "-F"), ("mtu", "--mtu"),
                                               ("mtu-noicmp", "-F"), ("healthy", "--mtu"),
                                               ("mtu", "-I --mtu"), ("healthy", "-I -F")])
def test_a_traceroute_pasted_as_text_reads_as_its_capture(lab: Lab, tmp_path: Path,
                                                          scenario: str, how: str) -> None:
    """Real Linux traceroute runs, DF probes of 1500 bytes (-F) or sized down by --mtu, as
    UDP or (-I) as pings: its output and the capture give one verdict, but for the router,
    which --mtu's output does not name."""
    lab.up(scenario)
    cap = tmp_path / f"{scenario}.pcap"
    argv = ["traceroute", "-4", "-n", *how.split(), "-m", "5", "-w", "1", "-q", "2",
            topo.UPSTREAM_V4, *(["1500"] if "-F" in how.split() else [])]
    with tcpdump(lab, cap, snaplen=200):
        r = lab.run(argv, timeout=60)
    assert r.returncode == 0, r.stderr
    text = tmp_path / f"{scenario}.traceroute.txt"
    text.write_text(f"[admin@fmc ~]$ {shlex.join(argv)}\n{r.stderr}{r.stdout}")
    status, from_capture = analyze(lab, cap)
    text_status, from_text = analyze(lab, text)
    want = summary(from_capture)
    if "--mtu" in how and want[0][0] == "PMTU_REDUCED":
        want = [(*want[0][:5], "a router (not shown)")]
    assert (text_status, summary(from_text)) == (status, want)
    if scenario == "mtu":
        assert summary(from_capture)[0][:2] == ("PMTU_REDUCED", "measured")
        assert summary(from_capture)[0][2:5] == ((1400, None, None) if "--mtu" in how
                                                 else (None, None, 1400))
    if "-I" in how:   # pings: the destination's echo replies, in both
        size = 1400 if scenario == "mtu" else 1500
        for doc in (from_capture, from_text):
            assert any(f"DF ping(s) to {topo.UPSTREAM_V4} answered, up to {size} bytes" in n
                       for n in doc["notes"]), doc["notes"]
