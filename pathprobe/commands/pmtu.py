"""`pathprobe pmtu`: not implemented yet (issue 3)."""

from __future__ import annotations

from typing import Annotated

import typer

from pathprobe.commands.common import FormatOption, JsonOption, not_implemented
from pathprobe.render import TableFormat


def pmtu_command(
    host: Annotated[str, typer.Argument(metavar="HOST", help="What to probe.")],
    as_json: JsonOption = False,
    fmt: FormatOption = TableFormat.SIMPLE,
) -> None:
    """Exact path MTU to HOST on leg 1 (DF probes, with or without root)."""
    not_implemented("pmtu", 3)
