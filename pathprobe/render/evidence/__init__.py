"""Evidence items become sentences here, and only here."""

from __future__ import annotations

import re

from pathprobe.compat import StrEnum
from pathprobe.model import Evidence
from pathprobe.render.evidence import (
    capture,
    capture_notes,
    diagnose,
    hello,
    http_range,
    interception,
    mss,
    pmtu,
    proxyconf,
    search,
    text,
    tunnel,
)
from pathprobe.render.evidence.base import Template, fill

# A capture read from text cites line numbers: its evidence carries {"unit": "line"}.
_FRAME_WORD = re.compile(r"\bframe(s?)\b")


class _Texts(dict[StrEnum, Template]):
    """Sentences keyed by (enum, value): members of two steps' enums may share a value
    (a StrEnum member equals its string), and must still find their own sentence."""

    def __getitem__(self, fact: StrEnum) -> Template:
        return self._by_key[(type(fact), fact.value)]

    def get(self, fact: StrEnum, default: Template | None = None) -> Template | None:  # type: ignore[override]
        return self._by_key.get((type(fact), fact.value), default)

    def __contains__(self, fact: object) -> bool:
        return isinstance(fact, StrEnum) and (type(fact), fact.value) in self._by_key

    def __init__(self) -> None:
        super().__init__()
        self._by_key: dict[tuple[type, str], Template] = {}

    def add(self, fact: StrEnum, template: Template) -> None:
        self._by_key[(type(fact), fact.value)] = template
        super().__setitem__(fact, template)


TEXT = _Texts()
for _table in (pmtu.TEXT, mss.TEXT, tunnel.TEXT, capture.TEXT, capture_notes.TEXT,
               diagnose.TEXT, search.TEXT, interception.TEXT, proxyconf.TEXT, hello.TEXT,
               http_range.TEXT, text.TEXT):
    for _fact, _template in _table.items():
        TEXT.add(_fact, _template)


def describe(ev: Evidence) -> str:
    """One human-readable line for an evidence item (frames first, for captures)."""
    template = TEXT.get(ev.fact)
    text = fill(template, ev.values) if template is not None else str(ev.fact)
    if ev.values.get("unit") == "line":
        text = _FRAME_WORD.sub(r"line\1", text)
    return text


__all__ = ["TEXT", "describe"]
