"""Silences that are no stall, from public captures nobody here made.

A TLS session whose server answers a request after a pause (fkie-cad/pcapFS's
tests/crypto/all_ciphers test_all_ciphers.pcap, a public capture nobody here made: openssl
s_client and s_server typed into by hand, 57 bytes each way, 3.3 s apart, then a clean
close). It was a `TUNNEL_STALL` warning, "a request the far end left unanswered", because a
few bytes after a silence may be the server's TLS alert as it gives up. Before TLS 1.3 an
alert says so in its record type: application data after the silence is the answer.

An idle HTTP/2 session whose client's last record echoes the server's (its PING ACK to
the server's PING: the same 8 bytes back, a record of the same size within a millisecond)
in Cisco mercury's tlsv1_3.pcap and test_decrypt.pcap, nDPI's protonvpn.pcap, Suricata's
base64-decode-5885, PcapPlusPlus's example2.pcap. Each was a `TUNNEL_STALL` warning, "a
request the far end left unanswered".

A connection whose last captured packet is data never acknowledged and never resent, 37
to 549 s before the capture ends (nDPI's ookla.pcap, tor.pcap, emotet.pcap: flows cut to
their first packets; mercury's geneve.pcap). It was a `TUNNEL_STALL` warning "idle
session and stall remain"; a sender without an ACK resends within seconds, so it got one:
the connection went on beyond the capture.

The captures are our own, built to the same shapes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire.tls import sniff_server_version
from tests.unit.test_analyze_any_capture import (
    UPSTREAM,
    Conv,
    cli,
    codes,
    tls_session,
    verdict,
)
from tests.unit.test_capture_analysis import CLIENT_HELLO


def server_hello(extensions: bytes, version: bytes = b"\x03\x03") -> bytes:
    """A ServerHello record: a 32-byte session id, AES-128-GCM, no compression."""
    body = version + bytes(range(32)) + b"\x20" + bytes(32) + b"\x13\x01\x00"
    if extensions:
        body += len(extensions).to_bytes(2, "big") + extensions
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + len(hs).to_bytes(2, "big") + hs


RENEGOTIATION_INFO = b"\xff\x01\x00\x01\x00"
EC_POINT_FORMATS = b"\x00\x0b\x00\x02\x01\x00"
SUPPORTED_VERSIONS_13 = b"\x00\x2b\x00\x02\x03\x04"
KEY_SHARE_X25519 = b"\x00\x33\x00\x24\x00\x1d\x00\x20" + bytes(32)
TLS12_HELLO = server_hello(RENEGOTIATION_INFO + EC_POINT_FORMATS)
TLS13_HELLO = server_hello(SUPPORTED_VERSIONS_13 + KEY_SHARE_X25519)
TLS10_HELLO = server_hello(b"", version=b"\x03\x01")


def record(kind: int, length: int) -> bytes:
    return bytes([kind, 3, 3]) + length.to_bytes(2, "big") + bytes(length)


# --- the version a ServerHello selects ------------------------------------------------------

def test_the_version_is_read_from_supported_versions_else_the_legacy_field() -> None:
    assert sniff_server_version(TLS12_HELLO) == 0x0303
    assert sniff_server_version(TLS13_HELLO) == 0x0304
    assert sniff_server_version(TLS10_HELLO) == 0x0301
    # (the server's whole flight in one segment: the records after it do not matter)
    assert sniff_server_version(TLS12_HELLO + record(22, 900)) == 0x0303
    assert sniff_server_version(record(23, 40)) is None
    assert sniff_server_version(CLIENT_HELLO) is None


def test_a_hello_cut_short_never_passes_for_an_older_version() -> None:
    """A snap length or a split segment: every prefix of a TLS 1.3 hello says 1.3 or
    nothing, and one of a 1.2 hello (whose extensions might have held a 1.3) nothing
    until its extensions end."""
    for hello, version in ((TLS13_HELLO, 0x0304), (TLS12_HELLO, 0x0303)):
        said = {sniff_server_version(hello[:n]) for n in range(len(hello))}
        assert said <= {None, version}, (version, said)
    assert {sniff_server_version(TLS12_HELLO[:n]) for n in range(len(TLS12_HELLO))} == {None}
    # supported_versions comes first in OpenSSL's hello: found before the key share
    assert sniff_server_version(TLS13_HELLO[:-20]) == 0x0304


@given(st.binary(max_size=200))
def test_any_bytes_give_a_version_or_none(data: bytes) -> None:
    v = sniff_server_version(b"\x16\x03\x03\x00\x60\x02" + data)
    assert v is None or 0 <= v <= 0xFFFF


# --- a late answer is no stall --------------------------------------------------------------

def _session(hello: bytes, reply: bytes, unseen: int = 0) -> list[tuple[float, bytes]]:
    """A request at 3.0 s acknowledged at once; ``reply`` comes 3.3 s later (after
    ``unseen`` bytes the capture lacks); the client closes 1.6 s after that (pcapFS's
    connection 127.0.0.1:34630)."""
    c = Conv(server=UPSTREAM, sport=443, cport=34630)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, hello)
    c.send(0.03, True, record(20, 1) + record(22, 40))     # ChangeCipherSpec, Finished
    c.send(0.04, False, record(20, 1) + record(22, 40))
    c.send(3.0, True, record(23, 52))                       # the request
    c.ack(3.04, False)
    c.sseq += unseen
    c.send(6.3, False, reply)
    c.ack(6.3001, True)
    c.close(7.9)
    return c.frames


def test_application_data_after_the_silence_is_the_answer(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _session(TLS12_HELLO, record(23, 52)))
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]


def test_an_alert_after_the_silence_still_leaves_stall_and_idle(tmp_path: Path) -> None:
    """The same bytes as a TLS 1.2 alert: the server giving up, or saying goodbye."""
    status, doc, _err = cli(tmp_path, _session(TLS12_HELLO, record(21, 26)))
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    assert any("never answered" in e for e in v["evidence"]), v["evidence"]


def test_in_tls13_an_alert_looks_like_data_so_stall_and_idle_remain(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _session(TLS13_HELLO, record(23, 19)))
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v


def test_an_answer_after_bytes_never_seen_is_not_read(tmp_path: Path) -> None:
    """The reply begins 100 bytes past the last the capture showed: what begins there is
    no record header one can trust."""
    status, doc, _err = cli(tmp_path, _session(TLS12_HELLO, record(23, 52), unseen=100))
    assert status == 1 and "TUNNEL_STALL" in codes(doc), doc["verdicts"]


# --- an echo awaits no answer ---------------------------------------------------------------

def _idle_h2(last: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """An HTTP/2 session over TLS 1.3: a response, then the server's SETTINGS ACK and PING
    (31- and 39-byte records) in one segment at 0.37 s; ``last``, the client's data after
    it; then 8 s of silence and the client's FIN (mercury's tlsv1_3.pcap)."""
    c = Conv(server=UPSTREAM, sport=443, cport=61509)
    c.handshake(0.0)
    c.send(0.03, True, CLIENT_HELLO)
    c.send(0.11, False, TLS13_HELLO + record(23, 3000))
    c.send(0.12, True, record(23, 58) + record(23, 340))        # Finished, the request
    c.send(0.366, False, record(23, 433))                       # the response
    c.send(0.3705, False, record(23, 26) + record(23, 34))      # SETTINGS ACK, PING
    c.ack(0.3706, True)
    for ts, payload in last:
        c.send(ts, True, payload)
    c.ack(0.395, False)
    c.close(8.4)
    return c.frames


def test_a_record_that_echoes_the_servers_at_once_awaits_no_answer(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _idle_h2([(0.3709, record(23, 34))]))   # PING ACK
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]


def test_a_record_of_another_size_may_be_a_request_left_unanswered(tmp_path: Path) -> None:
    """A small request right after the response (HTTP/2 HEADERS, compressed): stall and
    idle both remain."""
    status, doc, _err = cli(tmp_path, _idle_h2([(0.3709, record(23, 52))]))
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    assert any("never answered" in e for e in v["evidence"]), v["evidence"]


def test_the_same_size_long_after_is_no_echo(tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _idle_h2([(2.0, record(23, 34))]))
    assert status == 1 and "TUNNEL_STALL" in codes(doc), doc["verdicts"]


def test_an_echo_followed_by_more_is_no_echo(tmp_path: Path) -> None:
    """mercury's test_decrypt.pcap, 10.0.2.15:39256: after the PING ACK a window update
    (another record, another segment): the client's turn is no longer the echo alone."""
    status, doc, _err = cli(tmp_path, _idle_h2([(0.3709, record(23, 34)),
                                                (0.3710, record(23, 30))]))
    assert status == 1 and "TUNNEL_STALL" in codes(doc), doc["verdicts"]


# --- a connection that went on beyond the capture -------------------------------------------

def _cut(after: list[tuple[float, bool, bytes]]) -> list[tuple[float, bytes]]:
    """A TLS 1.2 session whose server's 521 bytes at 0.2 s are never acknowledged in the
    capture; ``after``: (ts, from the client?, payload) of that connection's later packets
    (an empty payload: a bare ACK that does not cover them); another connection 37 s on."""
    c = Conv(server=UPSTREAM, sport=443, cport=48854)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    c.send(0.02, False, TLS12_HELLO)
    c.ack(0.03, True)
    c.send(0.1, True, record(23, 394))
    c.ack(0.11, False)
    unacked = c.send(0.2, False, record(23, 516))
    for ts, up, payload in after:
        if payload:
            c.pkt(ts, up, "PA", payload, seq=unacked)
        else:
            c.pkt(ts, up, "A", ack=unacked)
    later = Conv(server=UPSTREAM, sport=443, cport=48900)
    tls_session(later, 37.3)
    return c.frames + later.frames


def test_data_never_acknowledged_nor_resent_at_the_end_is_beyond_the_capture(
        tmp_path: Path) -> None:
    status, doc, _err = cli(tmp_path, _cut([]))
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]
    assert any(n.startswith("1 connection(s) whose last captured packet is data never "
                            "acknowledged and never sent again") for n in doc["notes"]), \
        doc["notes"]


def test_data_resent_is_not_beyond_the_capture(tmp_path: Path) -> None:
    """The server resends it, unacknowledged: it is waiting (a stall)."""
    status, doc, _err = cli(tmp_path, _cut([(1.2, False, record(23, 516)),
                                            (3.2, False, record(23, 516))]))
    assert status == 1 and "TUNNEL_STALL" in codes(doc), doc["verdicts"]
    assert not any("beyond the capture" in n for n in doc["notes"]), doc["notes"]


def test_a_receiver_that_speaks_after_without_acknowledging_it_is_not_cut_off(
        tmp_path: Path) -> None:
    """The client's ACK after it does not cover it: the capture holds the connection's later
    packets, and they say the data never arrived (stall and idle remain)."""
    status, doc, _err = cli(tmp_path, _cut([(20.0, True, b"")]))
    v = verdict(doc, "TUNNEL_STALL")
    assert status == 1 and v["severity"] == "warning", v
    assert not any("beyond the capture" in n for n in doc["notes"]), doc["notes"]


def test_a_hello_never_acknowledged_nor_resent_at_the_end_is_beyond_the_capture(
        tmp_path: Path) -> None:
    """The same for a ClientHello: the capture's last packet of its connection, 30 s
    before the capture ends, neither acknowledged nor resent. It was a critical
    `TUNNEL_STALL` "no ServerHello" beside the note that its silence proves nothing."""
    c = Conv(server=UPSTREAM, sport=443, cport=40001)
    c.handshake(0.0)
    c.send(0.01, True, CLIENT_HELLO)
    later = Conv(server=UPSTREAM, sport=443, cport=40009)
    tls_session(later, 30.0)
    status, doc, _err = cli(tmp_path, c.frames + later.frames)
    assert status == 0 and codes(doc) == ["HEALTHY"], doc["verdicts"]
    assert any("beyond the capture" in n for n in doc["notes"]), doc["notes"]
    # acknowledged and still unanswered: the server owes the answer (a stall)
    c.ack(0.05, False)
    status, doc, _err = cli(tmp_path, c.frames + later.frames)
    assert status == 1 and "TUNNEL_STALL" in codes(doc), doc["verdicts"]
