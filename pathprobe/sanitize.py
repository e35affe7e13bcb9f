"""Make text from the network safe to print, and keep our credentials out of it.

Two edges need this. Strings a proxy or server sent (a reason phrase, a
header value, a challenge parameter) can carry ANSI escape sequences and
control characters that rewrite the user's terminal or forge report lines:
``clean`` removes them where such strings enter (the wire parsers). A proxy
that echoes ``Proxy-Authorization`` hands our own secret back: ``Redactor``
masks it, in the encodings it is likely to come back in, where text leaves
(the report).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import Enum
from operator import is_
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_plus

MASK = "********"

# ESC-introduced sequences (ECMA-48): CSI "ESC [ params intermediates final", string
# controls (OSC, DCS, SOS, PM, APC) up to ST or BEL (or the end: an unterminated one is
# still a sequence), and two-character escapes; then the 8-bit C1 forms of CSI and the
# string controls.
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)",
    re.DOTALL,
)
_WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r")
# Bidirectional embeddings, overrides and isolates reorder what follows them on screen.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean(text: str) -> str:
    """``text`` without escape sequences or control characters, printable Unicode kept.

    Tab, CR, LF, VT and FF become one space each (so words do not merge);
    every other C0/C1 control, DEL, lone surrogate, line/paragraph separator
    and bidi override is dropped.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, fast
    out: list[str] = []
    for c in _ANSI_RE.sub("", text):
        if c in _WHITESPACE_CONTROLS:
            out.append(" ")
        elif c not in _BIDI_CONTROLS and unicodedata.category(c) not in _DROPPED_CATEGORIES:
            out.append(c)
    return "".join(out)


# scheme:// and what follows up to a blank (or, for one argument, to its end). The match
# is tried only where a run of scheme characters starts (its digits, '+', '.', '-' before
# the first letter kept as they are): tried at every letter of a long word, it was
# quadratic (a 40k-character --proxy took 1.8 s to be refused).
_URL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.-])([0-9+.-]*)([A-Za-z][A-Za-z0-9+.-]*://)(\S*)")
_URL_WHOLE = re.compile(r"(?<![A-Za-z0-9+.-])([0-9+.-]*)([A-Za-z][A-Za-z0-9+.-]*://)(.*)",
                        re.DOTALL)


def mask_userinfo(text: str, whole: bool = False, mask: str = MASK) -> str:
    """``text`` with the password of every URL in it masked: the userinfo ends at the
    *last* '@' (a password may contain '@', '/', or be percent-encoded), the user is kept.
    With ``whole`` the text is one value (an argument), so a blank cannot end the URL."""
    def one(m: re.Match[str]) -> str:
        lead, scheme, rest = m.groups()
        at = rest.rfind("@")
        if at < 0:
            return m.group(0)
        user, colon, _ = rest[:at].partition(":")
        return f"{lead}{scheme}{user}{colon}{mask if colon else ''}@{rest[at + 1:]}"

    return (_URL_WHOLE if whole else _URL_IN_TEXT).sub(one, text)


ECHO_LIMIT = 200


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` for one error line: every run of more than ``limit`` non-blank characters
    (an echoed --proxy of 100k characters) cut to ``limit`` and a count of the rest, and
    the whole kept to about 5 x ``limit`` (its start and its end, where the hint is)."""
    def cut(m: re.Match[str]) -> str:
        word = m.group()
        return f"{word[:limit]}...({len(word) - limit} more characters)"

    text = re.sub(rf"\S{{{limit + 1},}}", cut, text)
    if len(text) > 5 * limit:
        text = f"{text[:4 * limit]}...({len(text) - 5 * limit} characters cut)...{text[-limit:]}"
    return text


def clean_lines(text: str) -> str:
    """``clean`` for text whose line breaks mean something (a multi-line command)."""
    return "\n".join(clean(line) for line in text.split("\n"))


T = TypeVar("T")


def scrub(value: T) -> T:
    """A copy of ``value`` (a report, a fleet: dataclasses, tuples, lists, mappings) with
    every string in it ``clean``; enums, numbers and None as they are.

    The renderers call it once on what they are given, so no string from the network, a
    capture or a file reaches any output format unclean, whatever field it sits in. A
    dataclass names the fields whose line breaks mean something in ``MULTILINE_FIELDS``.
    """
    return cast(T, _scrub(value, False))


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """A dataclass's init fields, each with whether its line breaks mean something."""
    multiline: frozenset[str] = getattr(cls, "MULTILINE_FIELDS", frozenset())
    return tuple((f.name, f.name in multiline) for f in dataclasses.fields(cls) if f.init)


def _scrub(value: Any, lines: bool) -> Any:
    """``value`` cleaned; the very same object when nothing in it needed cleaning (most
    reports: so the walk allocates almost nothing)."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            return value
        return clean_lines(value) if lines else clean(value)
    if isinstance(value, Enum) or value is None or isinstance(value, (bool, int, float)):
        return value
    # (map(is_, ...), not a generator: a report's walk makes 30k of these calls)
    if isinstance(value, (tuple, list)):
        items = [_scrub(v, lines) for v in value]
        if all(map(is_, items, value)):
            return value
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, Mapping):
        keys = [_scrub(k, False) for k in value]
        values = [_scrub(v, lines) for v in value.values()]
        if all(map(is_, keys, value)) and all(map(is_, values, value.values())):
            return value
        return dict(zip(keys, values))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name, multi in _fields(type(value)):
            old = getattr(value, name)
            new = _scrub(old, multi)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def _b64_forms(raw: bytes) -> set[str]:
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return {std, url, std.rstrip("="), url.rstrip("=")}


class Redactor:
    """Masks secrets in text: each as-is, base64 (standard and URL-safe, with or without
    padding), URL-encoded (``%XX`` and ``+``) and hex (any case).

    Build it with ``for_credentials(user, password)``; ``redact(text)`` returns the text
    with every occurrence replaced by ``MASK``. An empty Redactor returns text unchanged.
    """

    # A one- or two-character password alone would mask half the report and hide nothing;
    # user:password (always masked) is what proxies echo back.
    MIN_SECRET = 3

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        exact: set[str] = set()
        folded: set[str] = set()
        for secret in secrets:
            if len(secret) < self.MIN_SECRET:
                continue
            raw = secret.encode("utf-8", "surrogatepass")
            exact.add(secret)
            exact.update(_b64_forms(raw))
            folded.add(quote(secret, safe=""))
            folded.add(quote_plus(secret, safe=""))
            folded.add(binascii.hexlify(raw).decode("ascii"))
        exact -= {s for s in exact if len(s) < self.MIN_SECRET}
        folded -= {s for s in folded if len(s) < self.MIN_SECRET}
        # Longest first, so "user:password" wins over the "password" inside it.
        alternatives = [(s, False) for s in exact] + [(s, True) for s in folded]
        alternatives.sort(key=lambda a: -len(a[0]))
        parts = [f"(?i:{re.escape(s)})" if fold else re.escape(s) for s, fold in alternatives]
        self._pattern = re.compile("|".join(parts)) if parts else None

    @classmethod
    def for_credentials(cls, user: str, password: str) -> Redactor:
        """The Redactor for one proxy login: ``user:password`` and the password."""
        return cls([f"{user}:{password}", password])

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``MASK``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    __call__ = redact
