"""A real headless browser (Debian's chromium) for the HTML report checks.

``page_width`` loads the report inside a same-directory wrapper page whose
script measures the report's scroll width (the report itself has no script);
``screenshot`` takes a PNG; ``png_colours`` decodes it (stdlib zlib) to tell a
blank page from a drawn one.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files"]


def need_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/setup.sh installs it)")
        pytest.skip("chromium is not installed")
    return CHROMIUM


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="pathprobe-chromium-") as profile:
        return subprocess.run([need_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def measure(html_file: Path, expression: str, viewport: int = 1280) -> str:
    """A JavaScript ``expression`` over ``d`` (the report's document) evaluated in a real
    browser with a ``viewport``-wide window, as a string. The report itself has no script:
    a same-directory wrapper page loads it in a frame and measures it."""
    wrapper = html_file.with_name(html_file.stem + ".measure.html")
    wrapper.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<iframe id='f' src='{html_file.name}' style='width:{viewport}px;height:900px;"
        "border:0'></iframe><script>document.getElementById('f').onload=function(){"
        "var d=this.contentDocument;var r;"
        f"try{{r=String({expression});}}catch(e){{r='error: '+e;}}"
        "var p=document.createElement('pre');p.id='result';p.textContent=r;"
        "document.body.appendChild(p);};</script></body></html>",
        encoding="utf-8")
    out = _run(["--virtual-time-budget=5000", "--dump-dom", wrapper.as_uri()])
    found = re.search(r'<pre id="result">(.*?)</pre>', out.stdout, re.S)
    assert found, f"chromium measured nothing: {out.stderr[-400:]}"
    return html.unescape(found.group(1))


def page_width(html_file: Path, viewport: int = 1280) -> int:
    """The report's document scroll width in CSS pixels at a ``viewport``-wide window."""
    return int(measure(html_file, "d.documentElement.scrollWidth", viewport))


def smallest_svg_text(html_file: Path, viewport: int) -> float:
    """The smallest rendered height (CSS px) of any visible text of the path diagram."""
    return float(measure(html_file, (
        "Math.min.apply(null,Array.prototype.slice.call(d.querySelectorAll('svg text'))"
        ".map(function(t){var h=t.getBoundingClientRect().height;return h>0?h:1e9;}))"),
        viewport))


def print_pdf(html_file: Path, pdf: Path) -> Path:
    """The page printed by chromium (A4/Letter default, no header or footer)."""
    out = _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", html_file.as_uri()])
    assert pdf.exists(), f"no PDF: {out.stderr[-400:]}"
    return pdf


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each printed page (poppler's pdftotext)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext is not installed (scripts/setup.sh installs poppler-utils)")
        pytest.skip("pdftotext is not installed")
    text = subprocess.run([tool, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def pdf_png(pdf: Path, prefix: Path) -> list[Path]:
    """Each printed page as a PNG (to look at)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return []
    subprocess.run([tool, "-png", "-r", "60", str(pdf), str(prefix)], check=True, timeout=60)
    return sorted(prefix.parent.glob(prefix.name + "*.png"))


def screenshot(html_file: Path, png: Path, width: int = 1280, height: int = 1600) -> Path:
    out = _run([f"--window-size={width},{height}", f"--screenshot={png}",
                html_file.as_uri()])
    assert png.exists(), f"no screenshot: {out.stderr[-400:]}"
    return png


def png_colours(png: Path, sample: int = 4) -> int:
    """How many distinct colours a PNG (8-bit RGB/RGBA, non-interlaced) shows, sampling
    every ``sample``-th pixel of every ``sample``-th row."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        if y % sample == 0:
            for x in range(0, width, sample):
                colours.add(bytes(line[x * channels:x * channels + 3]))
        prev = line
    return len(colours)
