"""ClientHello of an exact size (RFC 7685 padding) and TLS record parsing: byte vectors,
an independent parser (scapy's TLS layer), and property tests over every size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.wire import tls

RANDOM = bytes(range(32))
# Built by hand from RFC 8446 4.1.2 / RFC 7685: record 0x16 0x0301 len 59, ClientHello
# len 55, legacy_version 0x0303, random 00..1f, empty session id, one suite 0x00ff,
# null compression, extensions (12 bytes): padding 0x0015 with 8 zero bytes.
HELLO_64 = bytes.fromhex(
    "160301003b010000370303000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "00000200ff0100000c00150008" + "00" * 8)
# Two bytes above the minimum: too few for the padding extension, so a 2-byte session id.
HELLO_54 = bytes.fromhex(
    "16030100310100002d0303000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "020000" + "000200ff01000000")
HANDSHAKE_FAILURE_ALERT = bytes.fromhex("15030300020228")


def test_byte_vectors() -> None:
    assert tls.client_hello(64, random=RANDOM) == HELLO_64
    assert tls.client_hello(54, random=RANDOM) == HELLO_54
    assert tls.min_client_hello_size() == 52


@pytest.mark.parametrize("accept", [False, True])
@pytest.mark.parametrize("size", [517, 1348, 1349, 1400, 1448, 9000, tls.MAX_CLIENT_HELLO_SIZE])
def test_exact_size_and_valid_for_an_independent_parser(size: int, accept: bool) -> None:
    from scapy.layers.tls.handshake import TLSClientHello
    from scapy.layers.tls.record import TLS

    hello = tls.client_hello(size, "upstream.pathprobe.test", accept=accept)
    assert len(hello) == size
    parsed = TLS(hello)
    assert len(parsed) == size
    msg = parsed.msg[0]
    assert isinstance(msg, TLSClientHello)
    assert list(msg.ciphers) == list(tls.COMMON_SUITES if accept else tls.SCSV_ONLY)
    names = [type(e).__name__ for e in msg.ext]
    assert names[0] == "TLS_Ext_ServerName" and names[-1] == "TLS_Ext_Padding"
    info = tls.parse_client_hello(hello)
    assert info.server_name == "upstream.pathprobe.test"
    assert info.padding_len is not None


@settings(max_examples=300, deadline=None)
@given(size=st.integers(min_value=52, max_value=tls.MAX_CLIENT_HELLO_SIZE),
       sni=st.sampled_from([None, "a.example", "upstream.pathprobe.test"]))
def test_every_reachable_size_is_exact(size: int, sni: str | None) -> None:
    if size < tls.min_client_hello_size(sni):
        with pytest.raises(ValueError):
            tls.client_hello(size, sni)
        return
    hello = tls.client_hello(size, sni)
    assert len(hello) == size
    info = tls.parse_client_hello(hello)
    assert info.size == size and info.cipher_suites == tls.SCSV_ONLY
    assert info.server_name == sni


@pytest.mark.parametrize("size", [0, 51, tls.MAX_CLIENT_HELLO_SIZE + 1])
def test_unreachable_sizes_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="ClientHello must be"):
        tls.client_hello(size)


def test_alert_and_split_records() -> None:
    records, rest = tls.parse_records(HANDSHAKE_FAILURE_ALERT + HELLO_64[:10])
    assert len(records) == 1 and records[0].is_handshake_failure
    assert records[0].describe() == "TLS alert 40 (fatal)"
    assert rest == HELLO_64[:10]
    records, rest = tls.parse_records(HELLO_64)
    assert rest == b"" and records[0].describe() == "TLS handshake ClientHello"


@pytest.mark.parametrize("garbage", [b"HTTP/1.1 503 Service Unavailable\r\n", b"\x00\x01\x02",
                                     b"<html>", b"\x17\x09\x09\x00\x01x"])
def test_non_tls_is_recognised(garbage: bytes) -> None:
    with pytest.raises(tls.TlsParseError):
        tls.parse_records(garbage)


@given(st.binary(max_size=64))
def test_record_parser_never_crashes(data: bytes) -> None:
    try:
        records, rest = tls.parse_records(data)
    except tls.TlsParseError:
        return
    assert sum(len(r.payload) + 5 for r in records) + len(rest) == len(data)
