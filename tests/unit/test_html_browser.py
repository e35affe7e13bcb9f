"""The HTML report in a real headless browser: drawn (not blank), not wider than 1280 px."""

from __future__ import annotations

from pathlib import Path

from pathprobe.formats import TableFormat
from pathprobe.render import render
from tests.browser import page_width, png_colours, screenshot
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
