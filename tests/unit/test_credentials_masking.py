"""A proxy password containing '@' (or '/', ':' or percent-escapes) never shows, in any
encoding, wherever the proxy URL is echoed: the report's command line, error lines, and a
proxy that echoes the login back (issue 23 item 6). Through the real CLI."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe import sanitize
from tests.conftest import cli_env
from tests.hostile import BEHAVIOURS, HostileProxy

USER = "fmc"
# (as written in the URL, the password it stands for)
# ('/' must be percent-encoded in a URL's userinfo: raw, it starts the path, a usage error.)
PASSWORDS = [("s3cr@t7@w0rdq", "s3cr@t7@w0rdq"), ("se%2Fcr7@h0mez", "se/cr7@h0mez"),
             ("pa:ss9@w0:rdq", "pa:ss9@w0:rdq"), ("pq%40xq7%3Azz9", "pq@xq7:zz9"),
             ("tr4il@", "tr4il@")]
RAW_SLASH = [("se/cr7@h0mez", "se/cr7@h0mez")]


def forms(password: str) -> list[str]:
    """Every way the password could show: as is, percent-encoded, in the Basic token,
    and each piece of it around '@', ':' and '/' that is long enough to recognise."""
    pair = f"{USER}:{password}".encode()
    pieces = [p for sep in "@:/%" for p in password.split(sep) if len(p) >= 3]
    return [password, quote(password, safe=""), base64.b64encode(pair).decode(), *pieces]


def leaks(text: str, password: str, written: str) -> list[str]:
    return [f for f in {*forms(password), written} if f in text]


@pytest.mark.parametrize(("written", "password"), PASSWORDS)
@pytest.mark.parametrize("fmt", ["--json", "simple", "github", "html", "tsv"])
def test_password_with_at_never_shows_in_a_report(written: str, password: str,
                                                  fmt: str) -> None:
    with HostileProxy(BEHAVIOURS["echo-credentials"]) as proxy:
        url = f"http://{USER}:{written}@127.0.0.1:{proxy.port}"
        args = [fmt] if fmt == "--json" else ["--format", fmt, "--table", "measurements"] \
            if fmt == "tsv" else ["--format", fmt]
        r = subprocess.run([sys.executable, "-m", "pathprobe", "tunnel", "--proxy", url,
                            "--target", "upstream.pathprobe.test:443", *args],
                           capture_output=True, text=True, env=cli_env(), timeout=60,
                           check=False)
        sent = b"".join(proxy.requests)
    assert r.returncode in (1, 3), r.stderr
    token = base64.b64encode(f"{USER}:{password}".encode())
    assert token in sent          # the proxy did get the login (and echoed it)
    assert leaks(r.stdout + r.stderr, password, written) == []
    assert USER in r.stdout or fmt == "tsv"   # the user is kept: only the password goes


@pytest.mark.parametrize(("written", "password"), PASSWORDS + RAW_SLASH)
def test_password_with_at_never_shows_in_an_error_line(written: str, password: str) -> None:
    for bad in (f"http://{USER}:{written}@198.18.2.2:notaport",
                f"http://{USER}:{written}@bad_host!:3128",
                f"https://{USER}:{written}@198.18.2.2:3128"):
        r = subprocess.run([sys.executable, "-m", "pathprobe", "tunnel", "--proxy", bad,
                            "--target", "upstream.pathprobe.test:443"], capture_output=True,
                           text=True, env=cli_env(), timeout=60, check=False)
        assert r.returncode == 2, r.stderr
        assert leaks(r.stderr, password, written) == [], r.stderr


def test_mask_userinfo_uses_the_last_at() -> None:
    assert sanitize.mask_userinfo("http://u:p@ss@h:1") == "http://u:********@h:1"
    assert sanitize.mask_userinfo("proxy 'http://u:a/b@c@h:1' bad", mask="***") == \
        "proxy 'http://u:***@h:1' bad"
    assert sanitize.mask_userinfo("http://u:p w@h:1", whole=True) == "http://u:********@h:1"
    assert sanitize.mask_userinfo("http://h:3128/ and http://u@h") == "http://h:3128/ and http://u@h"
    assert unquote("per%40cent") == "per@cent"


_REFERENCE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)(\S*)")


def _reference_mask(text: str) -> str:
    """The plain pattern (tried at every letter: quadratic on long words) as the reference."""
    def one(m: re.Match[str]) -> str:
        rest = m.group(2)
        at = rest.rfind("@")
        if at < 0:
            return m.group(0)
        user, colon, _ = rest[:at].partition(":")
        return f"{m.group(1)}{user}{colon}{sanitize.MASK if colon else ''}@{rest[at + 1:]}"
    return _REFERENCE.sub(one, text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1+.-:/@ 'h\n", max_size=40))
def test_masking_finds_every_url_the_plain_pattern_finds(text: str) -> None:
    assert sanitize.mask_userinfo(text) == _reference_mask(text)


def test_masking_a_long_word_is_linear() -> None:
    # 2 MB without a URL: quadratic, this took more than an hour; linear, well under a second
    code = ("from pathprobe.sanitize import mask_userinfo as m; "
            "s = 'a1' * 1_000_000; assert m(s) == s and m(s, whole=True) == s; "
            "print(m('x' * 99 + '1http://u:pw@h'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "x" * 99 + "1http://u:" + sanitize.MASK + "@h"
