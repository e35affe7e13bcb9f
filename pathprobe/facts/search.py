"""The size search's own observation: how it ended (sentence: pathprobe.render.evidence.search)."""

from __future__ import annotations

from pathprobe.compat import StrEnum


class SearchFact(StrEnum):
    """One member: the search result, with its typed stop reason in the values."""

    SEARCH = "search"
