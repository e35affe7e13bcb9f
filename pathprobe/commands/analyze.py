"""`pathprobe analyze`: not implemented yet (issue 7)."""

from __future__ import annotations

from typing import Annotated

import typer

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def analyze_command(
    capture: Annotated[str, typer.Argument(metavar="CAPTURE", help="What to probe.")],
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """Diagnose a pcap/pcapng capture of failed proxy sessions offline."""
    not_implemented("analyze", 7)
