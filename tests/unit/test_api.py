"""The library API: typed reports, typed errors that name its parameters, not CLI flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pathprobe
from pathprobe.errors import UsageError
from tests.conftest import REPO, cli_env


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"target": "host:notaport"}, "target"),
    ({"proxy": "https://198.18.2.2:3128"}, "proxy"),
    ({"proxy": "http://198.18.2.2:3128", "max_probes": 5}, "max_probes"),
    ({"proxy": "http://198.18.2.2:3128", "password": "s3cret"}, "password"),
    ({"proxy": "http://198.18.2.2:3128", "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
])
def test_bad_arguments_raise_usage_errors_naming_the_parameter(
        kwargs: dict[str, object], names: str) -> None:
    with pytest.raises(UsageError) as e:
        pathprobe.diagnose(**kwargs)  # type: ignore[arg-type]
    message = str(e.value)
    assert names in message and "--" not in message and "s3cret" not in message


def test_the_api_loads_lazily_and_unknown_names_are_attribute_errors() -> None:
    r = subprocess.run([sys.executable, "-c",
                        "import sys, pathprobe; assert 'pathprobe.api' not in sys.modules; "
                        "f = pathprobe.diagnose; assert 'pathprobe.api' in sys.modules; "
                        "assert 'scapy' not in sys.modules; print(f.__module__)"],
                       capture_output=True, text=True, env=cli_env(), cwd=str(REPO), check=False)
    assert r.returncode == 0 and r.stdout.strip() == "pathprobe.api", r.stderr
    with pytest.raises(AttributeError):
        pathprobe.no_such_function  # noqa: B018


def test_the_module_docstring_example_names_real_fields() -> None:
    doc = (Path(pathprobe.__file__).parent / "api.py").read_text()
    assert "report.verdicts[0]" in doc and "worst.limit" in doc
    from pathprobe.model import Verdict
    assert {"code", "leg", "limit"} <= set(Verdict.__dataclass_fields__)


def test_analyze_returns_the_report_the_command_line_renders() -> None:
    import json

    capture = REPO / "tests" / "fixtures" / "captures" / "blackhole-leg2.pcap"
    report = pathprobe.analyze(capture)
    cli = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(capture), "--json"],
                         capture_output=True, text=True, env=cli_env(), check=False)
    doc = json.loads(cli.stdout)
    assert [(v.code.value, v.leg.value) for v in report.verdicts] == \
        [(v["code"], v["leg"]) for v in doc["verdicts"]]
    assert report.exit_status().value == cli.returncode


@pytest.mark.parametrize(("args", "kwargs", "names"), [
    ((), {}, "capture"),
    (("a.pcap", "b.pcap", "c.pcap"), {}, "capture"),
    (("x.pcap",), {"hosts": ["not-an-address"]}, "hosts"),
    (("x.pcap",), {"proxy": "198.18.2.2:99999"}, "proxy"),
])
def test_analyze_argument_errors_name_its_parameters(
        args: tuple[str, ...], kwargs: dict[str, object], names: str) -> None:
    with pytest.raises(UsageError) as e:
        pathprobe.analyze(*args, **kwargs)  # type: ignore[arg-type]
    assert names in str(e.value) and "--" not in str(e.value)
