"""No escape sequence or control character from a capture or a report file reaches any
output format (issue 23 item 1): `analyze` of a hostile capture (made with scapy) and
`merge` of a report with a hostile string in every free-text field, through the real CLI,
in every format."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.schema.check import schema_problem
from tests.conftest import cli_env

# OSC title (BEL-terminated), CSI clear screen, 8-bit CSI, NEL (C1), RLO (bidi override),
# a bare BEL, a DEL and an unterminated OSC to the end.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x85\u202e\x07\x7f\x1b]2;tail"
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
TEXT_FORMATS = ("simple", "plain", "grid", "github", "markdown", "md", "html")
TSV_TABLES = ("findings", "recommendations", "measurements")
FLEET_TABLES = ("hosts", "findings", "recommendations")


def unsafe(text: str, allowed: str = "\n") -> list[str]:
    """The characters of ``text`` that must not reach a terminal."""
    return [c for c in text if c in BIDI or (
        c not in allowed and unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp"))]


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pathprobe", *args], capture_output=True,
                          env=cli_env(), timeout=60, check=False)


def outputs(args: tuple[str, ...], tables: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """(format, allowed controls, stdout) of the command in every format."""
    for fmt in TEXT_FORMATS:
        yield fmt, "\n", _stdout(run(*args, "--format", fmt))
    for table in tables:
        yield f"tsv/{table}", "\n\t", _stdout(run(*args, "--format", "tsv", "--table", table))
    yield "json", "\n", _stdout(run(*args, "--json"))


def _stdout(r: subprocess.CompletedProcess[bytes]) -> str:
    assert r.returncode in (0, 1, 3), r.stderr.decode(errors="replace")
    assert unsafe(r.stderr.decode()) == []
    return r.stdout.decode("utf-8")


def assert_clean_everywhere(args: tuple[str, ...], tables: tuple[str, ...]) -> None:
    for fmt, allowed, text in outputs(args, tables):
        assert unsafe(text, allowed) == [], fmt
        if fmt == "json":  # escaped as \u001b, still there for whoever prints the value
            assert unsafe(json.dumps(json.loads(text), ensure_ascii=False), "\n") == [], fmt
        assert "evil" in text or fmt.startswith("tsv"), fmt   # the hostile fields still show


def hostile_capture(path: Path) -> None:
    """Two proxied connections whose CONNECT target and refusal carry HOSTILE."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    raw = HOSTILE.encode("utf-8") + HOSTILE.encode("latin-1", "replace")
    packets = []
    for i, (status, extra) in enumerate(((b"403 " + raw + b"Forbidden",
                                          b"X-Squid-Error: ERR_" + raw + b"\r\n"),
                                         (b"407 " + raw,
                                          b"Proxy-Authenticate: NTLM " + raw + b"\r\n"))):
        c, s, sport = "198.18.1.2", "198.18.2.2", 40000 + i
        up, down = Ether() / IP(src=c, dst=s), Ether() / IP(src=s, dst=c)
        target = b"evil" + raw + b".test:443"
        req = b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n"
        answer = b"HTTP/1.1 " + status + b"\r\n" + extra + b"Content-Length: 0\r\n\r\n"
        packets += [
            up / TCP(sport=sport, dport=3128, flags="S", seq=100, options=[("MSS", 1460)]),
            down / TCP(sport=3128, dport=sport, flags="SA", seq=500, ack=101,
                       options=[("MSS", 1300)]),
            up / TCP(sport=sport, dport=3128, flags="A", seq=101, ack=501),
            up / TCP(sport=sport, dport=3128, flags="PA", seq=101, ack=501) / Raw(req),
            down / TCP(sport=3128, dport=sport, flags="PA", seq=501,
                       ack=101 + len(req)) / Raw(answer),
            down / TCP(sport=3128, dport=sport, flags="FA", seq=501 + len(answer),
                       ack=101 + len(req)),
        ]
    for n, p in enumerate(packets):
        p.time = 1000 + n * 0.01
    wrpcap(str(path), packets)


def test_analyze_of_a_hostile_capture_is_clean_in_every_format(tmp_path: Path) -> None:
    capture = tmp_path / f"fmc{HOSTILE}.pcap"   # the file name is shown too
    hostile_capture(capture)
    assert_clean_everywhere(("analyze", str(capture)), TSV_TABLES)


def string_paths(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, str):
        yield path
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from string_paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from string_paths(v, (*path, i))


def poison(doc: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``doc`` with HOSTILE appended to every string the schema lets be anything (so the
    file is still a report), and how many that were."""
    out = copy.deepcopy(doc)
    n = 0
    for path in list(string_paths(out)):
        parent = out
        for p in path[:-1]:
            parent = parent[p]
        before = parent[path[-1]]
        parent[path[-1]] = f"{before}{HOSTILE}"
        if schema_problem(out) is None:
            n += 1
        else:
            parent[path[-1]] = before
    return out, n


def test_merge_of_hostile_reports_is_clean_in_every_format(tmp_path: Path) -> None:
    capture = tmp_path / "fmc.pcap"
    hostile_capture(capture)
    r = run("analyze", str(capture), "--json")
    doc, fields = poison(json.loads(r.stdout))
    assert fields >= 20      # context, summary, errors, evidence, recommendations, targets
    report = tmp_path / f"host{HOSTILE}.json"
    report.write_text(json.dumps(doc))
    unknown = tmp_path / "other.json"      # a file that is no report shows its problem
    unknown.write_text(json.dumps({"schema": f"x{HOSTILE}"}))
    assert_clean_everywhere(("merge", str(report), str(unknown)), FLEET_TABLES)


def _strings(value: Any) -> Iterator[str]:
    import dataclasses

    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)


@given(st.text(), st.text(), st.text())
def test_scrub_cleans_every_string_and_keeps_clean_reports_as_they_are(
        a: str, b: str, c: str) -> None:
    from pathprobe.facts.capture import CaptureFact
    from pathprobe.model import Context, Evidence, Leg, LegReport, Recommendation, Report, Step
    from pathprobe.sanitize import scrub

    report = Report("analyze", a, 1.0, legs=(LegReport(Leg.FMC_PROXY, b, None, {c: a}, (
        Evidence(next(iter(CaptureFact)), Step.CAPTURE, {"target": c}),), (a,)),),
        recommendations=(Recommendation(a, b, f"{c}\n{a}", b, c),), errors=(c,),
        context=Context(host=a, argv=(b, c), target=c))
    out = scrub(report)
    for s in _strings(out):
        assert unsafe(s) == [], s
    assert scrub(out) == out                         # idempotent
    if all(s.isascii() and s.isprintable() for s in _strings(report.context)):
        assert out.context is report.context         # nothing to clean: the same objects
    assert out.recommendations[0].command.count("\n") >= 1   # a command's lines stay
