"""`pathprobe mss`: not implemented yet (issue 4)."""

from __future__ import annotations

from typing import Annotated

import typer

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def mss_command(
    host_port: Annotated[str, typer.Argument(metavar="HOST_PORT", help="What to probe.")],
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """MSS clamping and RST-on-large-segment on the TCP path to HOST:PORT."""
    not_implemented("mss", 4)
