"""`pathprobe demo`: not implemented yet (issue 6)."""

from __future__ import annotations

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def demo_command(
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """Bring up the built-in lab with a failing scenario and diagnose it."""
    not_implemented("demo", 6)
