"""`pathprobe diagnose`: not implemented yet (issue 6)."""

from __future__ import annotations

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def diagnose_command(
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """The main job: measure every leg and direction, give verdicts and recommendations."""
    not_implemented("diagnose", 6)
