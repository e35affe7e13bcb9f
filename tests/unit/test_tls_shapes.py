"""The other shapes of a ClientHello (issue 19): byte-exact sizes, legal TLS, and the
realistic post-quantum and classic hellos, checked byte by byte."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprobe.wire import tls

HOST = "upstream.pathprobe.test"
RANDOM = bytes(range(32))


def _reassembled(data: bytes) -> bytes:
    """The one-record ClientHello the fragments carry (their payloads joined)."""
    records, rest = tls.parse_records(data)
    assert rest == b""
    message = b"".join(r.payload for r in records)
    return struct.pack("!BHH", tls.CONTENT_HANDSHAKE, 0x0301, len(message)) + message


@given(st.integers(600, 4000), st.integers(64, 600))
def test_fragmented_is_the_same_byte_count_in_small_records(size: int, fragment: int) -> None:
    data = tls.fragmented(size, HOST, max_fragment=fragment)
    assert len(data) == size
    records, _ = tls.parse_records(data)
    assert len(records) > 1 or size - tls.RECORD_HEADER <= fragment
    assert all(0 < len(r.payload) <= fragment for r in records)
    assert all(r.content_type == tls.CONTENT_HANDSHAKE for r in records)
    # Only the first record starts with the ClientHello type; together they are one
    # strictly valid refused ClientHello (every length adds up).
    info = tls.parse_client_hello(_reassembled(data))
    assert info.cipher_suites == tls.SCSV_ONLY and info.server_name == HOST


def test_fragmented_vector() -> None:
    data = tls.fragmented(1206, HOST, max_fragment=256, random=RANDOM)
    assert [len(r.payload) for r in tls.parse_records(data)[0]] == [237, 237, 237, 237, 233]
    # The first record: handshake, TLS 1.0 record version, 237 bytes, ClientHello of 1177.
    assert data[:9].hex() == "16030100ed01000499"
    assert data[242:247].hex() == "16030100ed"   # the second record header, no hello type


def test_split_writes_keep_the_record_header_in_the_first_piece() -> None:
    record = tls.client_hello(1206, HOST, random=RANDOM)
    first, rest = tls.split_writes(record, 603)
    assert first + rest == record and len(first) == 603
    assert first[:5] == struct.pack("!BHH", 22, 0x0301, 1201)   # announces the full length
    with pytest.raises(ValueError):
        tls.split_writes(record, 0)
    with pytest.raises(ValueError):
        tls.split_writes(record, len(record))


def _extensions(record: bytes) -> dict[int, bytes]:
    return tls.parse_client_hello(record).raw_extensions


def test_pq_hello_is_a_realistic_hybrid_hello() -> None:
    hello = tls.pq_client_hello(HOST, random=RANDOM)
    assert 1600 <= len(hello) <= 2100   # two segments on any Ethernet path
    info = tls.parse_client_hello(hello)
    assert info.server_name == HOST
    assert 0x1301 in info.cipher_suites and 0x00FF not in info.cipher_suites
    ext = _extensions(hello)
    shares = ext[tls.EXT_KEY_SHARE]
    # GREASE (1 byte), then X25519MLKEM768 with 1216 bytes, then X25519 with 32 bytes.
    assert struct.unpack_from("!HHH", shares, 0) == (len(shares) - 2, tls.GREASE, 1)
    assert struct.unpack_from("!HH", shares, 7) == (0x11EC, 1216)
    assert struct.unpack_from("!HH", shares, 7 + 4 + 1216) == (0x001D, 32)
    assert tls.key_share_groups(hello) == (tls.GREASE, 0x11EC, 0x001D)
    groups = ext[tls.EXT_SUPPORTED_GROUPS]
    assert groups[2:6] == struct.pack("!HH", tls.GREASE, 0x11EC)   # hybrid preferred
    assert ext[tls.EXT_SUPPORTED_VERSIONS] == bytes.fromhex("060a0a03040303")
    assert tls.EXT_ECH in ext and tls.EXT_APPLICATION_SETTINGS in ext


@pytest.mark.parametrize("host", [HOST, "tools.cisco.com", None, "a" * 60 + ".example"])
def test_classic_hello_is_517_bytes_without_a_pq_share(host: str | None) -> None:
    hello = tls.classic_client_hello(host, random=RANDOM)
    assert len(hello) == tls.CLASSIC_HELLO_SIZE == 517
    assert tls.key_share_groups(hello) == (0x001D,)
    assert 0x11EC not in struct.unpack(f"!{len(_extensions(hello)[0x0A]) // 2}H",
                                        _extensions(hello)[0x0A])
    assert tls.parse_client_hello(hello).padding_len is not None


def test_key_share_groups_of_a_hello_without_one() -> None:
    assert tls.key_share_groups(tls.client_hello(600, HOST)) == ()
