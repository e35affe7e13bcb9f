"""How an evidence sentence is made from its numbers (shared by the per-step tables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from string import Formatter
from typing import Union

from pathprobe.model import Number
from pathprobe.wire.hostport import url_host

# A str.format template over the evidence values ("{size} bytes ..."), or a function of them
# for sentences whose wording depends on the numbers.
Template = Union[str, Callable[[Mapping[str, Number]], str]]


class _Values(dict[str, Number]):
    """Missing or unknown values print as '?' rather than failing the whole report."""

    def __missing__(self, key: str) -> str:
        return "?"


def counted(n: Number, noun: str) -> str:
    """"1 round", "3 rounds": a count and its noun, singular or plural as the count says."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Formatter(Formatter):
    """str.format, plus the spec ``#NOUN`` for a count: ``{rounds:#round}`` -> "1 round",
    "3 rounds", ``host`` for an address before ':PORT' and ``port`` for ':PORT' itself,
    left out where no port is known (a pasted head's client): ``{server:host}{sport:port}``
    -> "[2001:db8::1]:3128", "client"."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "host":
            return "?" if value is None else url_host(str(value))
        if format_spec == "port":
            return "" if value is None else f":{value}"
        if format_spec.startswith("#"):
            return counted(value if isinstance(value, (int, float)) else "?", format_spec[1:])
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
