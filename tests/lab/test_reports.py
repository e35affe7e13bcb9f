"""Every report format of every measuring command on a real lab scenario (the article's:
clamp on leg 1, black hole on leg 2): fits 100 columns, valid Markdown, standalone HTML that
a real browser draws within 1280 px, TSV records; secrets never appear."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import page_width, png_colours, screenshot
from tests.conftest import Lab
from tests.reports import check_html_text, check_markdown_text, check_tsv_text, check_width

PROXY = "http://198.18.2.2:3128"
TARGET = "upstream.pathprobe.test:443"
COMMANDS = {
    "diagnose": ["diagnose", "--proxy", PROXY, "--target", TARGET],
    "tunnel": ["tunnel", "--proxy", PROXY, "--target", TARGET, "--direction", "up"],
    "pmtu": ["pmtu", "198.18.2.2", "--port", "3128", "--leg", "fmc-proxy"],
    "mss": ["mss", "198.18.2.2:3128"],
}


@pytest.fixture(scope="module")
def article(lab: Lab) -> Lab:
    if lab.state is None or lab.state.scenario != "article":
        lab.up("article")
    return lab


def run(lab: Lab, command: str, *fmt: str) -> str:
    r = lab.cli(*COMMANDS[command], *fmt, "-q", timeout=120)
    assert r.returncode in (0, 1), (command, fmt, r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    return r.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
def test_text_layouts_fit_and_sections_are_there(article: Lab, command: str) -> None:
    for fmt in ("simple", "plain", "grid"):
        text = run(article, command, "--format", fmt)
        check_width(text, 100)
        for section in ("Context", "Path", "Summary", "Findings"):
            assert f"\n{section}\n" in text, (command, fmt, section)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_markdown_html_and_tsv_are_valid(article: Lab, command: str) -> None:
    check_markdown_text(run(article, command, "--format", "github"))
    check_html_text(run(article, command, "--format", "html"))
    for table in ("findings", "recommendations", "measurements"):
        check_tsv_text(run(article, command, "--format", "tsv", "--table", table))


def test_diagnose_html_in_a_real_browser(article: Lab, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(run(article, "diagnose", "--format", "html"), encoding="utf-8")
    assert page_width(page) <= 1280
    assert png_colours(screenshot(page, tmp_path / "report.png")) >= 8


def test_an_unreachable_proxy_fits_80_columns_and_names_diagnose_flags_only(
        article: Lab) -> None:
    """Issue 21: at --width 80 an unreachable proxy printed "not measured" lines of 105 and
    457 characters, advising pmtu's --port; every line fits, and no other command's flag."""
    r = article.cli("diagnose", "--proxy", "http://198.18.2.9:3128", "--target", TARGET,
                    "--width", "80", "-q", timeout=120)
    assert r.returncode == 1, r.stderr
    check_width(r.stdout, 80)
    assert "not measured:" in r.stdout and "PROXY_UNREACHABLE" in r.stdout
    for flag in ("--port", "--method"):
        assert flag not in r.stdout, flag


def test_pmtu_names_its_own_port_flag(article: Lab) -> None:
    r = article.cli("pmtu", "198.18.2.2", "--method", "tcp", "--port", "3129", "--width", "80",
                    "-q", timeout=60)
    assert r.returncode == 3, r.stderr
    check_width(r.stdout, 80)
    assert "--port" in " ".join(r.stdout.split())


def test_article_at_80_columns_keeps_commands_whole_and_prose_indented(article: Lab) -> None:
    """The persistent sysctl line is a command of its own (it was split inside "why"), and
    a "do:" that does not fit beside its label is indented below it (it began at column 0)."""
    text = run(article, "diagnose", "--width", "80")
    check_width(text, 80)
    persist = "echo 'net.ipv4.tcp_mtu_probing=1' | sudo tee /etc/sysctl.d/90-pathprobe.conf"
    assert any(line.strip() == persist for line in text.splitlines())
    recs = text.split("\nRecommendations\n")[1].split("\nMeasurements\n")[0]
    for block in recs.split("\n\n")[1:]:
        lines = block.splitlines()
        assert all(line.startswith(" ") for line in lines[1:]), block
