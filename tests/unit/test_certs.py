"""The DER reader on certificates OpenSSL made (tests/fixtures/certs), and on garbage."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprobe.wire.certs import (
    CertParseError,
    decode_oid,
    names_host,
    parse_certificate,
    read_tlv,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "certs"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_leaf_issued_by_a_ca() -> None:
    cert = parse_certificate(load("leaf-by-ca.der"))
    assert cert.subject == "CN=upstream.pathprobe.test"
    assert cert.issuer == "O=pathprobe test, CN=pathprobe test CA"
    assert cert.dns_names == ("upstream.pathprobe.test", "*.example.test")
    assert cert.ip_addresses == ("198.18.4.2", "2001:db8:4::2")
    assert cert.sha256 == ("9D:14:AA:DB:6F:06:7D:C7:82:F8:9E:9A:32:EF:63:F9:95:72:6F:8C:48:03:"
                           "6F:55:47:97:17:DA:6F:6D:07:58")
    assert not cert.self_issued
    assert cert.common_name == "upstream.pathprobe.test"


def test_a_value_that_reads_like_another_attribute_is_not_one() -> None:
    cert = parse_certificate(load("comma-in-value.der"))
    assert cert.subject_name == (("O", "a, CN=upstream.pathprobe.test"), ("CN", "other.test"))
    assert cert.common_name == "other.test"
    assert not cert.dns_names
    assert names_host(cert, "other.test")
    assert not names_host(cert, "upstream.pathprobe.test")


def test_self_signed_leaf_and_ca() -> None:
    leaf = parse_certificate(load("self-signed.der"))
    assert leaf.self_issued and leaf.subject == leaf.issuer == "CN=upstream.pathprobe.test"
    assert leaf.dns_names == ("upstream.pathprobe.test",)
    assert leaf.ip_addresses == ("198.18.4.2",)
    ca = parse_certificate(load("ca.der"))
    assert ca.self_issued and ca.dns_names == () and ca.common_name == "pathprobe test CA"
    assert ca.sha256.startswith("A6:17:B6:F3")


def test_rsa_utf8_subject_without_san() -> None:
    cert = parse_certificate(load("rsa-utf8-no-san.der"))
    assert cert.subject == "C=DE, O=Prüfstelle Ünïcode, OU=Réseau, CN=tools.example.test"
    assert cert.dns_names == () and cert.self_issued
    assert cert.sha256 == ("A8:66:8D:59:08:82:DE:73:06:E6:8D:ED:01:47:63:2E:FF:D8:1B:46:B2:24:"
                           "C6:76:95:73:39:0E:E9:2A:F0:B2")


@pytest.mark.parametrize("name", ["ca.der", "leaf-by-ca.der", "self-signed.der",
                                  "rsa-utf8-no-san.der"])
def test_fingerprint_is_sha256_of_the_der(name: str) -> None:
    der = load(name)
    assert parse_certificate(der).sha256.replace(":", "").lower() == \
        hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize(("host", "named"), [
    ("upstream.pathprobe.test", True), ("UPSTREAM.pathprobe.test.", True),
    ("a.example.test", True), ("a.b.example.test", False), ("example.test", False),
    ("198.18.4.2", True), ("[2001:db8:4::2]", True), ("198.18.4.3", False),
    ("other.pathprobe.test", False),
])
def test_names_host_from_san(host: str, named: bool) -> None:
    assert names_host(parse_certificate(load("leaf-by-ca.der")), host) is named


def test_names_host_falls_back_to_cn_without_san() -> None:
    cert = parse_certificate(load("rsa-utf8-no-san.der"))
    assert names_host(cert, "tools.example.test")
    assert not names_host(cert, "tools.example.org")


def test_oid_and_lengths() -> None:
    assert decode_oid(bytes.fromhex("550403")) == "2.5.4.3"
    assert decode_oid(bytes.fromhex("2a864886f70d010901")) == "1.2.840.113549.1.9.1"
    with pytest.raises(CertParseError):
        decode_oid(bytes.fromhex("5580"))          # unterminated arc
    with pytest.raises(CertParseError):
        decode_oid(bytes.fromhex("558003"))        # arc with a leading 0x80


@pytest.mark.parametrize("raw", [
    "", "30", "3000", "3080", "30850000000001", "308100", "3081050000000000",
    "300330010000", "1f0100", "30020500" + "00",
])
def test_malformed_der_is_a_parse_error(raw: str) -> None:
    with pytest.raises(CertParseError):
        parse_certificate(bytes.fromhex(raw))


def test_non_minimal_length_rejected() -> None:
    with pytest.raises(CertParseError):
        read_tlv(bytes.fromhex("30810100"), 0)          # 1 must use the short form


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_only_ever_raises_cert_parse_error(data: bytes) -> None:
    with contextlib.suppress(CertParseError):
        parse_certificate(data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["ca.der", "leaf-by-ca.der", "self-signed.der", "rsa-utf8-no-san.der"]),
       st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=255),
       st.integers(min_value=0, max_value=1000))
def test_mutated_certificates_parse_or_raise_the_typed_error(name: str, pos: int, byte: int,
                                                             cut: int) -> None:
    der = bytearray(load(name))
    der[pos % len(der)] = byte
    try:
        cert = parse_certificate(bytes(der[:len(der) - cut % 40]))
    except CertParseError:
        return
    assert isinstance(cert.subject, str) and len(cert.sha256) == 95
