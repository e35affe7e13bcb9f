"""`pathprobe serve`: not implemented yet (issue 5)."""

from __future__ import annotations

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def serve_command(
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """Run the far-end reflector that reports what arrived through the proxy."""
    not_implemented("serve", 5)
