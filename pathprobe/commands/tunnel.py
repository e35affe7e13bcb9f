"""`pathprobe tunnel`: not implemented yet (issue 5)."""

from __future__ import annotations

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def tunnel_command(
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """Measure leg 2 (proxy to upstream) from inside a CONNECT tunnel."""
    not_implemented("tunnel", 5)
