"""Error messages echo at most ~200 characters of any input (issue 23 item 10), and no
control characters: through the real CLI, for the options where a long value was seen."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.sanitize import ECHO_LIMIT, shorten
from tests.conftest import cli_env

LONG = "a" * 100_000


@pytest.mark.parametrize("args", [
    ["tunnel", "--proxy", LONG, "--target", "x.test:443"],
    ["tunnel", "--proxy", f"http://{LONG}:80", "--target", "x.test:443"],
    ["tunnel", "--proxy", "http://198.18.2.2:3128", "--target", f"{LONG}:443"],
    ["diagnose", "--proxy", f"http://user:{LONG}@198.18.2.2:x"],
    ["mss", f"{LONG}:80"],
    ["analyze", f"/tmp/{LONG}"],
    ["analyze", "-", "--proxy", LONG],
    ["demo", "--scenario", LONG],
    ["lab", "up", LONG],
    ["tunnel", "--format", LONG],
    ["tunnel", f"--{LONG}"],
    ["merge", "x.json", "--fail-on", f"{LONG}\x1b[2J"],
])
def test_long_input_gives_a_short_error(args: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", *args], capture_output=True,
                       text=True, env=cli_env(), timeout=60, input="", check=False)
    assert r.returncode in (2, 3), r.stderr[:500]
    assert "Traceback" not in r.stderr
    assert len(r.stderr) < 6 * ECHO_LIMIT + 400, len(r.stderr)
    assert "\x1b" not in r.stderr


def test_shorten_keeps_short_text_and_cuts_long_words() -> None:
    assert shorten("host 'x.test' is not valid") == "host 'x.test' is not valid"
    out = shorten(f"proxy '{LONG}' has no valid host; give --proxy")
    assert out.startswith("proxy 'aaa") and out.endswith("(99802 more characters) has no "
                                                          "valid host; give --proxy")


@given(st.text(alphabet="ab \t", max_size=5000))
def test_shorten_bounds_any_text(text: str) -> None:
    out = shorten(text)
    assert len(out) <= 5 * ECHO_LIMIT + 200
    if len(text) <= ECHO_LIMIT:
        assert out == text
