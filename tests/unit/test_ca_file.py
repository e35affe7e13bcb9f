"""--ca-file on tunnel and diagnose: a PEM file of CAs, else a one-line usage error (exit 2)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from pathprobe.errors import UsageError
from pathprobe.probes.tls_check import check_ca_file, verifying_context
from tests.conftest import cli_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "certs"


def pem(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text(ssl.DER_cert_to_PEM_cert((FIXTURES / "ca.der").read_bytes()))
    return path


def test_a_pem_ca_is_accepted_and_added_to_the_system_store(tmp_path: Path) -> None:
    path = pem(tmp_path)
    assert check_ca_file(path) == str(path)
    ctx = verifying_context(str(path))
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in ctx.get_ca_certs()]
    assert {"organizationName": "pathprobe test", "commonName": "pathprobe test CA"} in subjects


BROKEN_PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("content", [None, "", "not a certificate\n", BROKEN_PEM])
def test_missing_empty_or_garbage_files_are_usage_errors(tmp_path: Path, content: str | None
                                                         ) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match="--ca-file"):
        check_ca_file(path)


@pytest.mark.parametrize("command", ["tunnel", "diagnose"])
def test_cli_bad_ca_file_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("garbage\n")
    r = subprocess.run([sys.executable, "-m", "pathprobe", command, "--proxy",
                        "http://198.18.2.2:3128", "--target", "upstream.pathprobe.test:443",
                        "--ca-file", str(bad)], capture_output=True, text=True, env=cli_env(),
                       timeout=60, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--ca-file" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("command", ["tunnel", "diagnose"])
def test_help_documents_ca_file(command: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", command, "--help"],
                       capture_output=True, text=True, env={**cli_env(), "COLUMNS": "200"},
                       timeout=60, check=False)
    assert r.returncode == 0 and "--ca-file" in r.stdout and "PROXY_TLS_INTERCEPTED" in r.stdout


def test_verification_is_the_same_on_every_python() -> None:
    # 3.13's create_default_context adds X509_STRICT and PARTIAL_CHAIN; the check does not,
    # so a chain's verdict does not change with the interpreter.
    flags = verifying_context(None).verify_flags
    assert not flags & ssl.VERIFY_X509_STRICT
    partial = getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    assert not flags & partial
