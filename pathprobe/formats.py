"""The report formats a command can be asked for (--format, --table, -o's extension).

Kept apart from ``pathprobe.render`` so that the command line's options do not
load the renderers (``pathprobe --help`` stays fast).
"""

from __future__ import annotations

from pathprobe.compat import StrEnum


class TableFormat(StrEnum):
    """The --format choices: text tables (tabulate's names), Markdown, HTML, TSV."""

    PLAIN = "plain"
    SIMPLE = "simple"
    GITHUB = "github"
    MARKDOWN = "markdown"
    MD = "md"
    GRID = "grid"
    HTML = "html"
    TSV = "tsv"


MARKDOWN_FORMATS = (TableFormat.GITHUB, TableFormat.MARKDOWN, TableFormat.MD)
TEXT_FORMATS = (TableFormat.SIMPLE, TableFormat.PLAIN, TableFormat.GRID)
DEFAULT_WIDTH = 100
# -o FILE picks the format from its extension when --format/--json are not given.
EXTENSION_FORMATS = {".md": TableFormat.GITHUB, ".markdown": TableFormat.GITHUB,
                     ".html": TableFormat.HTML, ".htm": TableFormat.HTML,
                     ".tsv": TableFormat.TSV}


class TsvTable(StrEnum):
    """Which table --format tsv writes (--table)."""

    FINDINGS = "findings"
    RECOMMENDATIONS = "recommendations"
    MEASUREMENTS = "measurements"


class FleetTable(StrEnum):
    """Which table --format tsv writes for a fleet (--table)."""

    HOSTS = "hosts"
    FINDINGS = "findings"
    RECOMMENDATIONS = "recommendations"
