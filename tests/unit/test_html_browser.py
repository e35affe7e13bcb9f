"""The HTML report in a real headless browser: drawn (not blank), not wider than 1280 px."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pathprobe.formats import TableFormat
from pathprobe.model import Recommendation, Report
from pathprobe.render import render
from tests.browser import (
    measure,
    page_width,
    pdf_pages,
    pdf_png,
    png_colours,
    print_pdf,
    screenshot,
    smallest_svg_text,
)
from tests.unit.test_report_formats import article, denied


def test_article_page_renders_and_fits(tmp_path: Path) -> None:
    page = tmp_path / "article.html"
    page.write_text(render(article(), TableFormat.HTML), encoding="utf-8")
    assert page_width(page) <= 1280
    shot = screenshot(page, tmp_path / "article.png")
    # text in several colours (severity badges, the SVG's red fault line) on white
    assert png_colours(shot) >= 8


def test_a_blank_page_is_told_from_a_report(tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    assert png_colours(screenshot(blank, tmp_path / "blank.png")) <= 2
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><html><body><div style='width:2000px'>x</div></body>"
                    "</html>", encoding="utf-8")
    assert page_width(wide) > 1280


def test_refusal_page_fits_at_a_narrow_window(tmp_path: Path) -> None:
    page = tmp_path / "denied.html"
    page.write_text(render(denied(), TableFormat.HTML), encoding="utf-8")
    assert page_width(page, viewport=800) <= 800


# ----------------------------------------------------------------- phone and print (issue 21)

PHONE = 390


def _many_recommendations() -> Report:
    """Tall rows with a marker at the start and end of every cell, a URL and long commands:
    a row split across pages, a cut URL or a command broken inside a token shows."""
    lorem = ("the proxy then advertises a smaller MSS and sends no larger segments; "
             "lowering the FMC MTU does not help because the proxy splits the connection ")
    recs = tuple(Recommendation(
        f"W{i}a firewall/router between the proxy and the Internet W{i}z", "IOS/IOS-XE",
        f"C{i}a interface GigabitEthernet0/0/{i}\n ip tcp adjust-mss 1348\n"
        f" description https://wiki.example.test/network/proxy/mtu-runbook-{i}.html C{i}z",
        f"Y{i}a {lorem * 2}Y{i}z", f"U{i}a interface GigabitEthernet0/0/{i}\n no ip tcp "
        f"adjust-mss 1348 U{i}z") for i in range(1, 13))
    return replace(article(), recommendations=recs)


def _page(tmp_path: Path, report: Report, name: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(render(report, TableFormat.HTML), encoding="utf-8")
    return page


@pytest.mark.parametrize("make", [article, denied, _many_recommendations])
def test_a_phone_scrolls_tables_inside_their_box(tmp_path: Path, make: Callable[[], Report]
                                                 ) -> None:
    """At a phone's width the page itself never gets wider than the screen (tables were
    clipped at 420 px); a wide table scrolls inside its own box."""
    page = _page(tmp_path, make(), "phone")
    assert page_width(page, viewport=PHONE) <= PHONE
    shot = screenshot(page, tmp_path / "phone.png", width=PHONE, height=1800)
    assert png_colours(shot) >= 8


def test_the_path_diagram_stays_legible_on_a_phone_and_a_desktop(tmp_path: Path) -> None:
    """Its text was scaled down to about 4 px on a phone."""
    page = _page(tmp_path, article(), "diagram")
    for viewport in (PHONE, 800, 1280):
        assert smallest_svg_text(page, viewport) >= 10, viewport


def test_print_keeps_rows_on_one_page_and_commands_and_urls_whole(tmp_path: Path) -> None:
    report = _many_recommendations()
    pdf = print_pdf(_page(tmp_path, report, "print"), tmp_path / "print.pdf")
    pages = pdf_pages(pdf)
    assert len(pages) >= 3
    words = [set(p.split()) for p in pages]
    for i in range(1, len(report.recommendations) + 1):
        for cell in "WCYU":
            where = {n for n, w in enumerate(words) if f"{cell}{i}a" in w or f"{cell}{i}z" in w}
            assert len(where) == 1, (cell, i, where)   # one page: the row is not split
        row_page = where.pop()
        url = f"https://wiki.example.test/network/proxy/mtu-runbook-{i}.html"
        assert url in words[row_page], url              # the URL whole, on one line
    for rec in report.recommendations:
        for token in rec.command.split():               # no command token broken
            assert any(token in w for w in words), token
    pdf_png(pdf, tmp_path / "print-page")


def test_commands_keep_their_lines_on_screen(tmp_path: Path) -> None:
    """A command is never wrapped on screen (it was, even inside a path, after a hyphen):
    every command cell is exactly as many lines high as the command has lines."""
    page = _page(tmp_path, _many_recommendations(), "lines")
    for viewport in (PHONE, 1280):
        wrapped = measure(page, (
            "Array.prototype.slice.call(d.querySelectorAll('td pre')).filter(function(p){"
            "var lh=parseFloat(getComputedStyle(p).lineHeight)||16;"
            "return p.getBoundingClientRect().height>p.textContent.split('\\n').length*lh+2;"
            "}).length"), viewport)
        assert wrapped == "0", viewport


def test_an_analyze_page_with_connection_notes_fits_a_phone(tmp_path: Path) -> None:
    """The notes under the connections table (a long sentence per row) wrap at 390 px."""
    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.findings import finish
    from tests.unit.test_capture_analysis import write_pcap
    from tests.unit.test_capture_wild import _answer_after_a_gap

    a = analyze_capture(write_pcap(tmp_path / "q.pcap", _answer_after_a_gap().frames),
                        Filters())
    report = finish([a.measurement], command="analyze", started="2026-12-05T00:00:00+00:00",
                    duration_s=0.1, recommender=a.recommender)
    page = tmp_path / "analyze.html"
    page.write_text(render(report, TableFormat.HTML), encoding="utf-8")
    assert "<h2>Connection notes</h2>" in page.read_text()
    for viewport in (PHONE, 1280):
        assert page_width(page, viewport=viewport) <= viewport
    shot = screenshot(page, tmp_path / "analyze.png", width=PHONE, height=2400)
    assert png_colours(shot) >= 4
