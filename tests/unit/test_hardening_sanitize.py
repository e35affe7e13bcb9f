"""clean() and Redactor (issue 15 item 7): byte vectors and properties."""

from __future__ import annotations

import base64
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.sanitize import MASK, Redactor, clean


def test_clean_removes_ansi_sequences_and_controls() -> None:
    assert clean("Forbidden\x1b[2J\x1b[31mred\x1b[0m") == "Forbiddenred"
    assert clean("a\x1b]0;pwned title\x07b") == "ab"          # OSC, BEL-terminated
    assert clean("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b") == "alinkb"  # OSC 8, ST
    assert clean("a\x9b31mb") == "ab"                          # 8-bit CSI
    assert clean("a\x1bcb") == "ab"                            # RIS, two characters
    assert clean("a\x00b\x7fc\x85d") == "abcd"                 # NUL, DEL, NEL (C1)
    assert clean("x\r\ny\tz") == "x  y z"                      # whitespace becomes spaces
    assert clean("abc\u202egnp.exe") == "abcgnp.exe"           # bidi override
    assert clean("a\u2028b") == "ab"


def test_clean_keeps_printable_unicode() -> None:
    for text in ("Forbidden", "Zugriff verweigert: Größe", "例え.jp", "emoji 🙂", "naïve café"):
        assert clean(text) == text


def test_clean_unterminated_sequence_is_removed() -> None:
    assert clean("ok\x1b[") == "ok"
    assert clean("ok\x1b]0;title without end") == "ok"


@given(st.text())
def test_clean_output_is_printable_and_idempotent(text: str) -> None:
    out = clean(text)
    assert "\x1b" not in out
    assert all(unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp") for c in out)
    assert clean(out) == out


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                                      blacklist_characters="\u202a\u202b\u202c\u202d\u202e"
                                                           "\u2066\u2067\u2068\u2069")))
def test_clean_is_identity_on_printable_text(text: str) -> None:
    assert clean(text) == text


USER, PASSWORD = "fmc", "s3cr3t-pa55:word"


def test_redactor_masks_every_encoding() -> None:
    r = Redactor.for_credentials(USER, PASSWORD)
    pair = f"{USER}:{PASSWORD}".encode()
    std = base64.b64encode(pair).decode()
    url = base64.urlsafe_b64encode(pair).decode()
    cases = [
        f"echo: Proxy-Authorization: Basic {std}",
        f"urlsafe {url}",
        f"unpadded {std.rstrip('=')}",
        f"password {PASSWORD} in clear",
        "percent s3cr3t-pa55%3Aword and lower s3cr3t-pa55%3aword",
        f"hex {pair.hex()} and HEX {pair.hex().upper()}",
        f"password hex {PASSWORD.encode().hex()}",
        f"base64 of the password {base64.b64encode(PASSWORD.encode()).decode()}",
    ]
    for text in cases:
        out = r.redact(text)
        assert MASK in out, text
        assert PASSWORD not in out and std.rstrip("=") not in out
        assert pair.hex() not in out.lower()


def test_redactor_vector_basic_header() -> None:
    r = Redactor.for_credentials("Aladdin", "open sesame")
    assert (r("Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
            == f"Proxy-Authorization: Basic {MASK}")
    assert r("user=Aladdin&pw=open+sesame") == f"user=Aladdin&pw={MASK}"
    assert r("pw=open%20sesame") == f"pw={MASK}"


def test_redactor_leaves_other_text_and_short_passwords() -> None:
    assert Redactor.for_credentials(USER, PASSWORD)("403 Forbidden") == "403 Forbidden"
    short = Redactor.for_credentials("u", "ab")
    assert short("a table with ab in it") == "a table with ab in it"
    assert short("Basic " + base64.b64encode(b"u:ab").decode()) == f"Basic {MASK}"
    assert not Redactor()
    assert Redactor()("anything") == "anything"


@given(st.text(min_size=1, max_size=12).filter(lambda u: ":" not in u),
       st.text(min_size=3, max_size=24).filter(lambda p: p not in MASK))
def test_redactor_never_lets_the_secret_through(user: str, password: str) -> None:
    r = Redactor.for_credentials(user, password)
    pair = f"{user}:{password}".encode("utf-8", "surrogatepass")
    for form in (password, base64.b64encode(pair).decode(), pair.hex()):
        out = r.redact(f"echoed <{form}> here")
        assert form not in out
        assert MASK in out
