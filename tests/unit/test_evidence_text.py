"""Every observation a step can report has its sentence in pathprobe.render.evidence, and
a sentence's numbers come from the evidence values, never from elsewhere.

Other engineers add their own test functions here for their step's facts."""

from __future__ import annotations

import importlib
import pkgutil
import re
from enum import StrEnum
from pathlib import Path

import pytest

import pathprobe.facts
from pathprobe.facts.mss import MssFact
from pathprobe.facts.pmtu import PmtuFact, ProbeKind
from pathprobe.model import Evidence, Step
from pathprobe.render.evidence import TEXT, describe
from pathprobe.render.evidence.base import fields_of

PLACEHOLDER = re.compile(r"(?<!\w)\?")    # what render prints for a missing value


def fact_enums() -> list[type[StrEnum]]:
    """Every *Fact StrEnum defined in a module of pathprobe.facts (found, not listed by hand;
    helper enums such as ProbeKind are values, not facts)."""
    found: list[type[StrEnum]] = []
    for info in pkgutil.iter_modules(pathprobe.facts.__path__):
        module = importlib.import_module(f"pathprobe.facts.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum \
                    and obj.__module__ == module.__name__ and obj.__name__.endswith("Fact"):
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
    assert len(PLACEHOLDER.findall(text)) == len(PLACEHOLDER.findall(str(template)))
    assert "{" not in text and text.strip()
    if fields_of(template):
        assert "1234" in text
        # A missing value shows as '?' instead of breaking the whole report.
        assert PLACEHOLDER.search(describe(Evidence(member, Step.DIAGNOSE, {})))


@pytest.mark.parametrize("member", [m for m in ALL_FACTS if callable(TEXT.get(m))],
                         ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_a_sentence_function_survives_missing_values(member: StrEnum) -> None:
    assert describe(Evidence(member, Step.DIAGNOSE, {})).strip()


def test_every_evidence_of_a_combined_report_renders_without_placeholders() -> None:
    from pathprobe.findings import combine
    from tests.unit.test_findings import article_leg1_hole

    verdicts, legs = combine(article_leg1_hole())
    items = [e for v in verdicts for e in v.evidence] + [n for leg in legs for n in leg.notes]
    assert len(items) >= 4
    for ev in items:
        text = describe(ev)
        assert not PLACEHOLDER.search(text) and "None" not in text, (ev.fact, text)


def test_facts_sharing_a_value_keep_their_own_sentences() -> None:
    """StrEnum members equal their value, and two steps' enums do share values (e.g.
    'credentials-rejected'): each member must still find its own step's sentence."""
    from pathprobe.render.evidence import capture, diagnose, mss, pmtu, search, tunnel

    shared = 0
    for table in (pmtu.TEXT, mss.TEXT, tunnel.TEXT, capture.TEXT, diagnose.TEXT, search.TEXT):
        for fact, template in table.items():
            assert TEXT[fact] is template, fact
            shared += sum(1 for m in ALL_FACTS if m.value == fact.value) > 1
    assert shared >= 2   # the case this guards exists

@pytest.mark.parametrize("fact", [*PmtuFact, *MssFact], ids=str)
def test_pmtu_and_mss_facts_have_sentences(fact: PmtuFact | MssFact) -> None:
    assert fact in TEXT
    template = TEXT[fact]
    step = Step.PMTU if isinstance(fact, PmtuFact) else Step.MSS
    # Filled with a number for each field a str template names, no '?' is left.
    values = {name: 1234 for name in fields_of(template)}
    if isinstance(template, str):
        line = describe(Evidence(fact, step, values))
        assert line.count("?") == template.count("?"), template


def test_probe_kinds_are_named() -> None:
    for kind in ProbeKind:
        line = describe(Evidence(PmtuFact.PROBE, Step.PMTU, {"probe": kind.value,
                                                             "port": 3128}))
        assert line.startswith("method: ") and kind.value not in line, line


def test_capture_facts_have_sentences_with_their_values() -> None:
    """Each CaptureFact has a sentence; rendering every evidence item the lab fixtures
    produce (verdicts, rows, reader notes) leaves no value unfilled."""
    from pathprobe.capture import Filters, analyze_capture
    from pathprobe.facts.capture import CaptureFact

    assert set(CaptureFact) <= set(TEXT)
    seen: set[CaptureFact] = set()
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
    for path in sorted(fixtures.glob("*.pcap")):
        a = analyze_capture(path, Filters())
        m = a.measurement
        for e in (*a.notes, *(e for v in m.verdicts for e in v.evidence),
                  *(n for leg in m.legs for n in leg.notes)):
            assert isinstance(e.fact, CaptureFact)
            seen.add(e.fact)
            text = describe(e)
            assert text and not PLACEHOLDER.search(text) and "None" not in text, (path, e)
    assert len(seen) >= 30        # the fixtures exercise most of the vocabulary


COUNT_NOUNS = re.compile(r"\b1 (probes|rounds|sizes|frames|times|hops|connections|"
                         r"TCP connections|IP fragments)\b")


@pytest.mark.parametrize("member", ALL_FACTS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_a_count_of_one_is_singular(member: StrEnum) -> None:
    """"1 round", never "1 rounds" (issue 21): every sentence with every count at 1."""
    class Ones(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> int:
            return 1

        def get(self, key: str, default: object = None) -> object:
            return self[key]

    template = TEXT[member]
    values = Ones({name: 1 for name in fields_of(template)}, method="icmp")
    text = describe(Evidence(member, Step.DIAGNOSE, values))
    assert not COUNT_NOUNS.search(text), text
    for many in (0, 3):
        text = describe(Evidence(member, Step.DIAGNOSE, {n: many for n in fields_of(template)}))
        assert " 3 round " not in f"{text} " and " 3 probe " not in f"{text} "


ADDRESS_FIELDS = {"server", "client", "proxy", "host", "router", "dst", "src", "peer"}
BARE_V6_BEFORE_PORT = re.compile(r"(?<!\[)2001:db8::7:\d")


@pytest.mark.parametrize("member", ALL_FACTS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_an_ipv6_address_before_a_port_is_in_brackets(member: StrEnum) -> None:
    """"[2001:db8::7]:3128", never "2001:db8::7:3128" (the port would read as the last
    group of the address, and --proxy refuses it so written)."""
    class V6(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> object:
            return "2001:db8::7" if key in ADDRESS_FIELDS else 3128

        def get(self, key: str, default: object = None) -> object:
            return self[key]

    values = V6(method="icmp", same_port=1)
    values.update({name: values[name] for name in fields_of(TEXT[member])})
    text = describe(Evidence(member, Step.DIAGNOSE, values))
    assert not BARE_V6_BEFORE_PORT.search(text), text
