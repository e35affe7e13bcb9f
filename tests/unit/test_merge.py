"""`pathprobe merge`: real reports (the golden capture reports, the article's), hostile
files, every format checked by real parsers, and the schema checker against jsonschema."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from pathprobe import fleet as fleet_mod
from pathprobe.cli import main
from pathprobe.commands.merge import load
from pathprobe.fleet import HostState, merge, read_host
from pathprobe.formats import FleetTable, TableFormat
from pathprobe.model import ExitStatus, Report, Severity
from pathprobe.render import render_json
from pathprobe.render.content import limit_text
from pathprobe.render.fleet import render_fleet
from pathprobe.schema import load_schema
from pathprobe.schema.check import schema_problem
from tests.browser import page_width, png_colours, screenshot
from tests.conftest import cli_env
from tests.hostile import BEHAVIOURS, HostileProxy
from tests.reports import check_html_text, check_tsv_text, check_width
from tests.unit.test_report_formats import article, denied

CAPTURES = Path(__file__).parent / "golden" / "captures"
GOLDEN = sorted(CAPTURES.glob("*.json"))
SCHEMA = load_schema()
FLEET_SCHEMA = {**SCHEMA["$defs"]["fleet"], "$defs": SCHEMA["$defs"]}


def as_host(doc: dict[str, Any], host: str) -> bytes:
    """A real report as if it came from ``host``."""
    doc = copy.deepcopy(doc)
    doc["context"]["host"] = host
    return json.dumps(doc).encode()


def golden(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((CAPTURES / f"{name}.pcap.json").read_text())
    return result


def site_fleet(tmp_path: Path) -> list[Path]:
    """Four FMCs: healthy, a leg-1 black hole, a refusal, and one that measured nothing."""
    files = []
    for host, name in (("fmc-a", "healthy"), ("fmc-b", "blackhole-leg1"), ("fmc-c", "acl")):
        path = tmp_path / f"{host}.json"
        path.write_bytes(as_host(golden(name), host))
        files.append(path)
    nothing = golden("healthy")
    nothing.update(verdicts=[], legs=[], recommendations=[], summary="nothing could be measured",
                   errors=["pmtu: the proxy did not answer"])
    nothing["context"]["host"] = "fmc-d"
    files.append(tmp_path / "fmc-d.json")
    files[-1].write_text(json.dumps(nothing))
    return files


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


# ----------------------------------------------------------------------------- reading

@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_every_golden_report_reads_back_as_a_report(path: Path) -> None:
    host = read_host(path.name, path.read_bytes())
    doc = json.loads(path.read_text())
    assert host.state is HostState.REPORT, host.problem
    assert host.host == doc["context"]["host"]
    assert [v.code.value for v in host.verdicts] == [v["code"] for v in doc["verdicts"]]
    assert len(host.recommendations) == len(doc["recommendations"])


@pytest.mark.parametrize("make", [article, denied])
def test_read_back_verdicts_keep_limit_and_exit_status(make: Any) -> None:
    report: Report = make()
    host = read_host("x.json", render_json(report).encode())
    assert host.state is HostState.REPORT
    assert [limit_text(v) for v in host.verdicts] == [limit_text(v) for v in report.verdicts]
    for fail_on in Severity:
        assert host.exit_status(fail_on) == report.exit_status(fail_on)


def test_host_falls_back_to_the_file_name() -> None:
    doc = golden("clamp")
    doc["context"]["host"] = ""
    assert read_host("/reports/fmc-east.json", json.dumps(doc).encode()).host == "fmc-east"


HOSTILE: list[tuple[str, bytes, HostState, str]] = [
    ("empty", b"", HostState.INVALID_JSON, "not JSON"),
    ("binary", bytes(range(256)) * 4, HostState.INVALID_JSON, "not UTF-8"),
    ("deep", b"[" * 200_000 + b"]" * 200_000, HostState.INVALID_JSON, "nested too deeply"),
    ("deep-object", b'{"a":' * 500 + b"1" + b"}" * 500, HostState.NOT_A_REPORT, "report"),
    ("array", b"[1, 2, 3]", HostState.NOT_A_REPORT, "expected object"),
    ("nan", b'{"schema": NaN}', HostState.INVALID_JSON, "NaN is not a JSON number"),
    ("text-report", (CAPTURES / "acl.pcap.simple").read_bytes(), HostState.INVALID_JSON,
     "line 1"),
    ("wrong-type", json.dumps({**golden("acl"), "partial": "no"}).encode(),
     HostState.NOT_A_REPORT, ".partial: expected boolean"),
    ("bad-code", json.dumps({**golden("acl"), "verdicts": [
        {**golden("acl")["verdicts"][0], "code": "\x1b[31mOWNED"}]}).encode(),
     HostState.NOT_A_REPORT, ".verdicts[0].code"),
    ("fleet", json.dumps({"schema": "pathprobe-fleet/1"}).encode(), HostState.FLEET,
     "fleet report"),
]


@pytest.mark.parametrize(("name", "data", "state", "says"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_listed_never_raised(name: str, data: bytes, state: HostState,
                                               says: str) -> None:
    host = read_host(f"{name}.json", data)
    assert host.state is state
    assert says in host.problem
    assert host.host == name
    assert host.exit_status() is ExitStatus.NOT_MEASURED
    assert "\x1b" not in host.problem


def test_control_characters_in_a_host_name_never_reach_the_output() -> None:
    data = as_host(golden("healthy"), "fmc\x1b]0;owned\x07-\u202eevil\r\nforged")
    host = read_host("x.json", data)
    assert host.state is HostState.REPORT
    text = render_fleet(merge([host]), Severity.WARNING, width=80)
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert "forged" in text and "\nforged" not in text


def test_control_characters_in_recommendations_are_removed_line_by_line() -> None:
    doc = golden("acl")
    doc["recommendations"][0]["command"] = "acl x\x1b[2J\nhttp_access allow\x07 x"
    doc["recommendations"][0]["why"] = "because\x1b]8;;http://evil\x07 click"
    host = read_host("x.json", json.dumps(doc).encode())
    assert host.recommendations[0].command == "acl x\nhttp_access allow x"
    for fmt in (TableFormat.SIMPLE, TableFormat.GITHUB, TableFormat.HTML):
        text = render_fleet(merge([host]), Severity.WARNING, fmt, width=100)
        assert "\x1b" not in text and "\x07" not in text and "evil" not in text


def test_a_fleet_report_among_the_inputs_is_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in site_fleet(tmp_path)[:1]]
    status, fleet_json, _ = run(["merge", *files, "--json"], capsys)
    (tmp_path / "fleet.json").write_text(fleet_json)
    again, out, err = run(["merge", *files, str(tmp_path / "fleet.json"), "--json"], capsys)
    assert again == status == ExitStatus.HEALTHY
    assert json.loads(out)["hosts"] == json.loads(fleet_json)["hosts"]
    assert "skipping" in err and "fleet.json" in err


def test_a_file_larger_than_the_limit_is_not_read_as_a_report(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_mod, "MAX_REPORT_BYTES", 1000)
    data = (CAPTURES / "acl.pcap.json").read_bytes()
    assert len(data) > 1000
    host = read_host("big.json", data)
    assert host.state is HostState.NOT_A_REPORT and "larger than" in host.problem


def test_a_file_name_with_escape_sequences_is_shown_clean(tmp_path: Path) -> None:
    path = tmp_path / "fmc\x1b[2J\x07.json"
    path.write_text("{")
    host = load(path)
    assert host.state is HostState.INVALID_JSON
    text = render_fleet(merge([host]), Severity.WARNING, width=100)
    assert "\x1b" not in text and "\x07" not in text and "fmc" in text


def test_unreadable_paths(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes: reading it would block for ever
    for path, says in ((tmp_path / "missing.json", "No such file"),
                       (tmp_path, "not a regular file"), (fifo, "not a regular file")):
        host = load(path)
        assert host.state is HostState.UNREADABLE and says in host.problem


def test_reports_from_hostile_proxies_merge_clean(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Real reports of `tunnel` against proxies that answer with escape sequences or echo
    the credentials back (tests/hostile.py): merged, nothing of either gets through."""
    password = "Hostile-Merge-Secret-7"
    files = []
    for name in ("ansi-reason", "echo-credentials", "garbage"):
        with HostileProxy(BEHAVIOURS[name]) as proxy:
            run_ = subprocess.run(
                [sys.executable, "-m", "pathprobe", "tunnel", "--proxy", proxy.url,
                 "--target", "upstream.pathprobe.test:443", "--proxy-user", "fmc", "--json",
                 "--quiet"], capture_output=True, text=True, timeout=90, check=False,
                env=cli_env({"PATHPROBE_PROXY_PASSWORD": password}))
        assert run_.returncode in (1, 3), run_.stderr
        path = tmp_path / f"{name}.json"
        path.write_text(run_.stdout)
        files.append(str(path))
    for args in ([], ["-f", "github"], ["-f", "html"], ["-f", "tsv"], ["--json"]):
        status, out, err = run(["merge", *files, *args], capsys)
        assert status in (ExitStatus.PROBLEM, ExitStatus.NOT_MEASURED)
        assert "\x1b" not in out and "\x9b" not in out and password not in out + err
        assert "not a report" not in out and "not-a-report" not in out  # all three read
    doc = json.loads(out)
    assert [h["state"] for h in doc["hosts"]] == ["report"] * 3


# ----------------------------------------------------------------------------- the fleet

def test_fleet_exit_status_is_the_worst_host() -> None:
    ok = read_host("a.json", as_host(golden("healthy"), "a"))
    info = read_host("b.json", as_host(golden("clamp"), "b"))       # MSS clamped: info
    bad = read_host("c.json", as_host(golden("acl"), "c"))          # refusal: critical
    broken = read_host("d.json", b"{")
    assert merge([ok]).exit_status() is ExitStatus.HEALTHY
    assert merge([ok, info]).exit_status() is ExitStatus.HEALTHY
    assert merge([ok, info]).exit_status(Severity.INFO) is ExitStatus.PROBLEM
    assert merge([ok, bad]).exit_status() is ExitStatus.PROBLEM
    assert merge([ok, bad]).exit_status(Severity.CRITICAL) is ExitStatus.PROBLEM
    assert merge([bad, broken]).exit_status() is ExitStatus.NOT_MEASURED
    assert merge([]).exit_status() is ExitStatus.NOT_MEASURED


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(GOLDEN), min_size=1, max_size=8),
       st.sampled_from(list(Severity)))
def test_fleet_status_and_groups_follow_the_hosts(paths: list[Path],
                                                  fail_on: Severity) -> None:
    hosts = [read_host(f"h{i}.json", as_host(json.loads(p.read_text()), f"h{i}"))
             for i, p in enumerate(paths)]
    fleet = merge(hosts)
    statuses = {h.exit_status(fail_on) for h in hosts}
    expected = (ExitStatus.NOT_MEASURED if ExitStatus.NOT_MEASURED in statuses
                else ExitStatus.PROBLEM if ExitStatus.PROBLEM in statuses
                else ExitStatus.HEALTHY)
    assert fleet.exit_status(fail_on) is expected
    groups = fleet.recommendation_groups()
    assert len({g.recommendation for g in groups}) == len(groups)  # each said once
    for g in groups:
        assert set(g.hosts) == {h.host for h in hosts if g.recommendation in h.recommendations}
    places = [g.recommendation.where for g in groups]
    assert places == sorted(places, key=places.index)   # each place's rows together
    rows = render_fleet(fleet, fail_on, TableFormat.TSV, table=FleetTable.FINDINGS)
    assert len(rows.splitlines()) == 1 + sum(len(h.verdicts) for h in hosts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(GOLDEN), min_size=1, max_size=5), st.integers(40, 160),
       st.sampled_from(["plain", "simple", "grid"]))
def test_text_fits_any_width(paths: list[Path], width: int, fmt: str) -> None:
    hosts = [read_host(f"{p.stem}.json", as_host(json.loads(p.read_text()), f"fmc-{i}"))
             for i, p in enumerate(paths)]
    text = render_fleet(merge(hosts), Severity.WARNING, TableFormat(fmt), width=width)
    check_width(text, width)
    for h in hosts:   # every command survives whole or split between tokens only
        for r in h.recommendations:
            for token in r.command.split():
                assert token in text.split()


def test_same_host_twice_is_told_apart_by_file() -> None:
    a = read_host("one/fmc.json", as_host(golden("acl"), "fmc"))
    b = read_host("two/fmc.json", as_host(golden("healthy"), "fmc"))
    fleet = merge([a, b, a])
    assert len(fleet.hosts) == 2
    assert {fleet.label(h) for h in fleet.hosts} == {"fmc (one/fmc.json)", "fmc (two/fmc.json)"}


# ----------------------------------------------------------------------------- the command

def test_merge_command_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in site_fleet(tmp_path)]
    for width in (60, 80, 100, 140):
        status, out, _ = run(["merge", *files, "--width", str(width)], capsys)
        assert status == ExitStatus.NOT_MEASURED      # fmc-d measured nothing
        check_width(out, width)
        for host in ("fmc-a", "fmc-b", "fmc-c", "fmc-d"):
            assert host in out
        assert "PMTU_BLACKHOLE" in out and "PROXY_DENIED" in out
    status, out, _ = run(["merge", *files[:3]], capsys)
    assert status == ExitStatus.PROBLEM
    status, out, _ = run(["merge", files[0]], capsys)
    assert status == ExitStatus.HEALTHY

    status, printed, _ = run(["merge", *files, "-o", str(tmp_path / "fleet.md")], capsys)
    assert printed == ""                            # -o: the file only
    md = (tmp_path / "fleet.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["pathprobe fleet report", "Summary", "Hosts", "Findings",
                        "Recommendations"]
    widths: list[int] = []
    for t in tokens:
        if t.type == "tr_open":
            widths.append(0)
        elif t.type in ("th_open", "td_open"):
            widths[-1] += 1
    assert widths.count(5) == 1 + 4                 # hosts: header + one row per host
    assert sum(1 for line in md.splitlines() if line.startswith("| ")) == len(widths)

    status, page, _ = run(["merge", *files, "--format", "html"], capsys)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count('class="sev-critical"') >= 2   # fmc-b and fmc-c, their findings
    for table in FleetTable:
        status, tsv, _ = run(["merge", *files, "-f", "tsv", "--table", table.value], capsys)
        check_tsv_text(tsv)

    status, text, _ = run(["merge", *files, "--json"], capsys)
    doc = json.loads(text)
    jsonschema.validate(doc, FLEET_SCHEMA)
    assert schema_problem(doc, "fleet") is None
    assert doc["exit_status"] == status == 3
    assert [h["host"] for h in doc["hosts"]] == ["fmc-a", "fmc-b", "fmc-c", "fmc-d"]
    assert [h["exit_status"] for h in doc["hosts"]] == [0, 1, 1, 3]
    assert all(any(r["hosts"]) for r in doc["recommendations"])


def test_merge_lists_bad_files_and_keeps_going(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    good = site_fleet(tmp_path)[1]
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xff not json")
    status, out, err = run(["merge", str(good), str(junk), str(tmp_path / "gone.json"),
                            "--width", "100"], capsys)
    assert status == ExitStatus.NOT_MEASURED
    assert err == ""
    assert "not JSON" in out and "unreadable" in out and "PMTU_BLACKHOLE" in out


def test_merge_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["merge"]) == ExitStatus.USAGE
    assert main(["merge", "x.json", "--fail-on", "nope"]) == ExitStatus.USAGE
    assert main(["merge", "x.json", "--table", "legs"]) == ExitStatus.USAGE
    capsys.readouterr()
    assert main(["merge", "--help"]) == 0
    out = capsys.readouterr().out
    assert "context.host" in out and "Exit status" in out and "ansible" in out


def test_fleet_html_in_a_real_browser(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    files = [str(p) for p in site_fleet(tmp_path)]
    page = tmp_path / "fleet.html"
    run(["merge", *files, "-o", str(page)], capsys)
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    check_html_fleet(text)
    assert page_width(page) <= 1280
    assert page_width(page, viewport=800) <= 800
    assert png_colours(screenshot(page, tmp_path / "fleet.png")) >= 6


def check_html_fleet(page: str) -> None:
    """The one-report HTML checks, less the path diagram a fleet does not have."""
    with pytest.raises(AssertionError):
        check_html_text(page)   # ... which fails on the missing svg only:
    check_html_text(page.replace("</body>", "<svg></svg></body>"))


# ----------------------------------------------------------------------------- schema check

def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    """Real reports, some broken the way a hand-edited or truncated file is."""
    values = st.one_of(st.none(), st.booleans(), st.integers(-10, 70000),
                       st.floats(allow_nan=False, allow_infinity=False),  # (no JSON file holds one)
                       st.text(max_size=5),
                       st.just([]), st.just({}))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(draw(st.sampled_from(GOLDEN)).read_text())
        for _ in range(draw(st.integers(0, 3))):
            target: Any = doc
            # walk down into a random object
            for _depth in range(draw(st.integers(0, 3))):
                children = [v for v in (target.values() if isinstance(target, dict)
                                        else target) if isinstance(v, (dict, list)) and v]
                if not children:
                    break
                target = draw(st.sampled_from(children))
            if isinstance(target, dict) and target:
                key = draw(st.sampled_from(sorted(target)))
                action = draw(st.sampled_from(["drop", "set", "add"]))
                if action == "drop":
                    del target[key]
                elif action == "set":
                    target[key] = draw(values)
                else:
                    target[draw(st.text(min_size=1, max_size=6))] = draw(values)
            elif isinstance(target, list) and target:
                target[draw(st.integers(0, len(target) - 1))] = draw(values)
        return doc

    return build()


@settings(max_examples=300, deadline=None)
@given(_mutations())
def test_schema_check_agrees_with_jsonschema(doc: dict[str, Any]) -> None:
    ours = schema_problem(doc)
    theirs = next(iter(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)), None)
    assert (ours is None) == (theirs is None), (ours, theirs)
