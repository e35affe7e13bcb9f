"""How an evidence sentence is made from its numbers (shared by the per-step tables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from string import Formatter
from typing import Union

from pathprobe.model import Number

# A str.format template over the evidence values ("{size} bytes ..."), or a function of them
# for sentences whose wording depends on the numbers.
Template = Union[str, Callable[[Mapping[str, Number]], str]]


class _Values(dict[str, Number]):
    """Missing or unknown values print as '?' rather than failing the whole report."""

    def __missing__(self, key: str) -> str:
        return "?"


class _Formatter(Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        if value is None or (format_spec and isinstance(value, str)):
            return "?" if value is None else str(value)
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def fill(template: Template, values: Mapping[str, Number]) -> str:
    """The sentence for ``values``."""
    if callable(template):
        return template(values)
    return _FORMATTER.vformat(template, (), _Values(values))


def fields_of(template: Template) -> set[str]:
    """The value names a str template uses (for the completeness test)."""
    if callable(template):
        return set()
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in Formatter().parse(template) if name}
