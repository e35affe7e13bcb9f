"""``pathprobe schema``: print the JSON Schema that every ``--json`` report follows."""

import typer

from pathprobe.schema import schema_text


def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) of the --json output of every command.

    Validate a report with any JSON Schema tool, e.g. save this as
    pathprobe-1.schema.json and check `pathprobe diagnose --json` against it.
    The schema's $id (urn:pathprobe:schema:report:1) and the reports' "schema"
    field ("pathprobe/1") change only with a new report version (see CHANGELOG.md).
    """
    typer.echo(schema_text(), nl=False)
