"""`pathprobe schema` prints the packaged JSON Schema; real --json reports validate against it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pathprobe.cli import main
from pathprobe.schema import SCHEMA_ID, load_schema, schema_text
from tests.conftest import REPO, cli_env

CAPTURES = sorted((REPO / "tests" / "fixtures" / "captures").glob("*.pcap*"))
SCHEMA = load_schema()


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    """This checkout's CLI in a subprocess (as users run it); the JSON on stdout, parsed."""
    r = subprocess.run([sys.executable, "-m", "pathprobe", *args, "--json"], capture_output=True,
                       text=True, env=cli_env(), timeout=60, check=False)
    assert "Traceback" not in r.stderr, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return r.returncode, doc


def test_schema_command_prints_the_packaged_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == schema_text()
    assert out == (REPO / "pathprobe" / "schema" / "pathprobe-1.schema.json").read_text()
    doc = json.loads(out)
    assert doc["$id"] == SCHEMA_ID == "urn:pathprobe:schema:report:1"
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["properties"]["schema"] == {"const": "pathprobe/1"}


def test_schema_help_names_the_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--help"]) == 0
    assert SCHEMA_ID in capsys.readouterr().out


def test_schema_rejects_a_report_missing_its_verdicts() -> None:
    _, doc = run_json("analyze", str(CAPTURES[0]))
    del doc["verdicts"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_analyze_json_of_every_fixture_validates(capture: Path) -> None:
    status, doc = run_json("analyze", str(capture))
    assert status in (0, 1), doc
    jsonschema.validate(doc, SCHEMA)
    assert doc["command"] == "analyze" and doc["verdicts"]


def test_pmtu_json_to_loopback_validates() -> None:
    status, doc = run_json("pmtu", "127.0.0.1")
    assert status in (0, 1), doc
    jsonschema.validate(doc, SCHEMA)
    assert doc["command"] == "pmtu"


@pytest.fixture()
def loopback_http() -> Iterator[int]:
    """A tiny loopback server: answers each connection's first bytes with a short HTTP error."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if conn.recv(65536):
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_mss_json_to_a_loopback_server_validates(loopback_http: int) -> None:
    status, doc = run_json("mss", f"127.0.0.1:{loopback_http}", "--no-hops")
    assert status in (0, 1, 3), doc
    jsonschema.validate(doc, SCHEMA)
    assert doc["command"] == "mss"


def test_usage_error_output_is_not_a_report() -> None:
    r = subprocess.run([sys.executable, "-m", "pathprobe", "pmtu", "--json"], capture_output=True,
                       text=True, env=cli_env(), timeout=60, check=False)
    assert r.returncode == 2 and r.stdout == ""
