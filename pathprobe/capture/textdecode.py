"""Pasted capture text as bytes arrive: which encoding, and the blanks and invisible
characters that mail, chat and web pages put between the words."""

from __future__ import annotations

import re

# bytes that are no UTF-8, as the "surrogateescape" handler keeps them (``decode_text``)
ESCAPED_BYTES = re.compile("[\\udc80-\\udcff]+")


def looks_like_text(head: bytes) -> bool:
    """Is this the start of a text file (UTF-8, Latin-1 or UTF-16 with its mark)?"""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 3 and e.reason == "unexpected end of data":
            return True
    # Latin-1 or another 8-bit code page: mostly ASCII all the same.
    ascii_text = sum(1 for b in head if 0x20 <= b < 0x7F or b in (9, 10, 13))
    return ascii_text >= 0.9 * len(head)


# Text copied out of mail, chat or a web page: its blanks are often no-break or other
# Unicode spaces, and invisible characters (zero-width spaces, joiners, soft hyphens,
# direction marks) sit between the words. The patterns read ASCII blanks and nothing
# between the letters of a word.
_PASTED_BLANKS = {ord(c): " " for c in
                  "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                  "\u2009\u200a\u202f\u205f\u3000"}
_PASTED_INVISIBLE = {ord(c): None for c in
                     "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d"
                     "\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"}
_PASTED = str.maketrans({**_PASTED_BLANKS, **_PASTED_INVISIBLE})


def decode_text(data: bytes) -> list[str]:
    """The lines of a text file, whatever its encoding, with pasted Unicode blanks made
    spaces and invisible characters dropped (never raises)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", "replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("utf-8-sig", "surrogateescape")
            if not _split_at_breaks(text):
                text = data.decode("latin-1")
    return text.translate(_PASTED).splitlines()


def _split_at_breaks(text: str) -> bool:
    """UTF-8 whose only bad bytes are characters cut in two by a line break: coreutils'
    ``fold`` counts bytes, so it breaks a row inside its arrow ("\u2192", 3 bytes). The
    text is kept with the bytes escaped; ``textjoin.unwrapped`` puts each character back
    together when it joins the line (read as Latin-1, every arrow in it is lost)."""
    for run in ESCAPED_BYTES.finditer(text):
        before, after = text[run.start() - 1:run.start()], text[run.end():run.end() + 1]
        if len(run.group()) > 3 or (before not in ("", "\n", "\r")
                                    and after not in ("", "\n", "\r")):
            return False
    return True


def mended(line: str) -> str:
    """A line whose characters a byte-counting fold cut in two (``decode_text`` kept their
    bytes escaped) with each one whole again where its pieces were joined; a piece left
    alone becomes U+FFFD."""
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
