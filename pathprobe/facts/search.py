"""The size search's own observation: how it ended (sentence: pathprobe.render.evidence.search)."""

from __future__ import annotations

from enum import StrEnum


class SearchFact(StrEnum):
    """One member: the search result, with its typed stop reason in the values."""

    SEARCH = "search"
