"""The DNS reader and the text lines it is fed from: any bytes, any line, no exception; a
name shown has no control character and a bounded length; a query and its answer pair up
however the resends and other traffic interleave."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.capture.dns import NAME_SHOWN, DnsLog, dns_notes, question_name
from pathprobe.capture.textdns import dns_line, dns_row


def _query(txid: int, name: bytes, sport: int = 40000, flags: int = 0x0100) -> bytes:
    question = b"".join(bytes([len(p)]) + p for p in name.split(b".") if p) + b"\x00\0\x01\0\x01"
    dns = struct.pack("!HHHHHH", txid, flags, 1, 0, 0, 0) + question
    return struct.pack("!HHHH", sport, 53, 8 + len(dns), 0) + dns


def _answer(txid: int, rcode: int, dport: int = 40000) -> bytes:
    dns = struct.pack("!HHHHHH", txid, 0x8180 | rcode, 0, 0, 0, 0)
    return struct.pack("!HHHH", 53, dport, 8 + len(dns), 0) + dns


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_datagram_is_read_without_error(udp: bytes) -> None:
    log = DnsLog()
    log.packet(1, 0.0, "198.18.1.2", "198.18.0.53", udp)
    log.packet(2, 9.0, "198.18.0.53", "198.18.1.2", udp)
    for note in dns_notes(log, capture_end=9.0):
        assert note.values


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_a_name_shown_is_clean_and_bounded(body: bytes) -> None:
    name = question_name(body)
    assert not any(ord(ch) < 32 or ch == "\x7f" for ch in name), name
    assert len(name) <= NAME_SHOWN + len("...(999 more characters)"), name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(("resend", "answer", "other", "servfail")), max_size=12))
def test_a_query_is_unanswered_only_while_no_answer_came(events: list[str]) -> None:
    log = DnsLog()
    log.packet(1, 0.0, "198.18.1.2", "198.18.0.53", _query(0x1234, b"a.pathprobe.test"))
    answered = False
    for i, event in enumerate(events, start=2):
        if event == "resend" and not answered:
            log.packet(i, i, "198.18.1.2", "198.18.0.54", _query(0x1234, b"a.pathprobe.test"))
        elif event in ("answer", "servfail") and not answered:
            log.packet(i, i, "198.18.0.53", "198.18.1.2",
                       _answer(0x1234, 2 if event == "servfail" else 0))
            answered = True
        elif event == "other":   # another query, answered at once
            log.packet(i, i, "198.18.1.2", "198.18.0.53", _query(i, b"b.pathprobe.test", i))
            log.packet(i, i, "198.18.0.53", "198.18.1.2", _answer(i, 0, i))
    facts = {n.fact.value for n in dns_notes(log, capture_end=99.0)}
    assert ("dns-unanswered" in facts) == (not answered), (events, facts)
    assert ("dns-failed" in facts) == ("servfail" in events[:events.index("answer")]
                                       if "answer" in events else "servfail" in events), facts


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_line_is_read_without_error(line: str) -> None:
    dns_line(line, 1, None)
    dns_line("12:00:00.000000 IP 198.18.1.2.40000 > 198.18.0.53.53: " + line, 1, None)
    dns_row("198.18.1.2", "198.18.0.53", "Standard query " + line, 1, "0.5")
