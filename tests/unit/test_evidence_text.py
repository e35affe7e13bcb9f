"""Every observation a step can report has its sentence in pathprobe.render.evidence.

Other engineers add their own test functions here for their step's facts."""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

import pytest

import pathprobe.facts
from pathprobe.model import Evidence, Step
from pathprobe.render.evidence import TEXT, describe
from pathprobe.render.evidence.base import fields_of


def fact_enums() -> list[type[StrEnum]]:
    """Every StrEnum defined in a module of pathprobe.facts (found, not listed by hand)."""
    found: list[type[StrEnum]] = []
    for info in pkgutil.iter_modules(pathprobe.facts.__path__):
        module = importlib.import_module(f"pathprobe.facts.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum \
                    and obj.__module__ == module.__name__:
                found.append(obj)
    return found


ALL_FACTS = [member for enum in fact_enums() for member in enum]


def test_the_fact_modules_are_found() -> None:
    names = {enum.__name__ for enum in fact_enums()}
    assert {"TunnelFact", "DiagnoseFact", "SearchFact"} <= names


@pytest.mark.parametrize("member", ALL_FACTS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_every_member_of_every_fact_enum_has_a_sentence(member: StrEnum) -> None:
    assert member in TEXT


def test_no_sentence_without_a_fact_and_fact_values_are_unique() -> None:
    assert set(TEXT) <= set(ALL_FACTS)
    for enum in fact_enums():
        values = [m.value for m in enum]
        assert len(values) == len(set(values)), enum


@pytest.mark.parametrize("member", [m for m in ALL_FACTS if isinstance(TEXT.get(m), str)],
                         ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_a_template_given_all_its_fields_has_no_placeholder_left(member: StrEnum) -> None:
    template = TEXT[member]
    values = {name: 1234 for name in fields_of(template)}
    text = describe(Evidence(member, Step.DIAGNOSE, values))
    assert "?" not in text and "{" not in text and text.strip()
    if fields_of(template):
        assert "1234" in text
        # A missing value shows as '?' instead of breaking the whole report.
        assert "?" in describe(Evidence(member, Step.DIAGNOSE, {}))


@pytest.mark.parametrize("member", [m for m in ALL_FACTS if callable(TEXT.get(m))],
                         ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_a_sentence_function_survives_missing_values(member: StrEnum) -> None:
    assert describe(Evidence(member, Step.DIAGNOSE, {})).strip()


def test_every_evidence_of_the_golden_report_renders_without_placeholders() -> None:
    from tests.unit.test_render_golden import article_report

    report = article_report()
    items = [e for v in report.verdicts for e in v.evidence]
    items += [n for leg in report.legs for n in leg.notes]
    assert items
    for ev in items:
        text = describe(ev)
        assert "?" not in text and "None" not in text, (ev.fact, text)
