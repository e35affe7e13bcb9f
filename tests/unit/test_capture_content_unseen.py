"""What a capture says when it never shows what its connections carried: tcpdump text
without -A, or frames cut short by the snap length. The lab's captures are printed by the
real tcpdump (and cut by the real editcap) and analysed through the CLI.

- 'HEALTHY (measured): no refusal, stall ...' from such lines claimed what they cannot
  show: the lab's squid 403 as 'tcpdump -n' text was healthy.
- A 30 KB upload, acknowledged, then 6 s of silence and a close (the leg-2 black hole as
  'tcpdump -n' text) was healthy: the stall rule looked only at connections it knew to be
  TLS.
- tcpdump -# numbers its lines: the time after the number was lost, and its ICMP
  frag-needed lines were skipped (the MTU story was healthy).
- tcpdump -A prints the headers' bytes before the request line: after a digit, the
  CONNECT was not read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pathprobe.capture.textpacket import REQUEST_LINE
from tests.conftest import cli_env

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


def _report(path: Path) -> dict[str, Any]:
    """``analyze PATH --json`` through the CLI (also for test_capture_text_hex)."""
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(path), "--json"],
                          capture_output=True, env=cli_env(), check=False, timeout=120)
    assert proc.returncode in (0, 1) and not proc.stderr, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _tcpdump(tmp_path: Path, story: str, *flags: str) -> Path:
    text = tmp_path / f"{story}{''.join(flags)}.txt"
    text.write_text(subprocess.run(["tcpdump", *flags, "-r", str(CAPTURES / f"{story}.pcap")],
                                   capture_output=True, text=True, check=True,
                                   timeout=60).stdout)
    return text


def _cut(tmp_path: Path, story: str, snap: int = 66) -> Path:
    """The capture as one with a snap length of ``snap`` bytes (headers only)."""
    out = tmp_path / f"{story}-s{snap}.pcap"
    subprocess.run(["editcap", "-s", str(snap), str(CAPTURES / f"{story}.pcap"), str(out)],
                   check=True, capture_output=True, timeout=60)
    return out


def _verdicts(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(v["code"], v["severity"], v["confidence"]) for v in doc["verdicts"]]


def _facts(doc: dict[str, Any]) -> list[str]:
    return [f["fact"] for v in doc["verdicts"] for f in v["facts"]]


@pytest.mark.parametrize("story", ["mtu", "blackhole-leg1", "rst", "healthy-sll2"])
def test_tcpdump_numbered_lines_read_as_without_numbers(tmp_path: Path, story: str) -> None:
    for flags in (("-n",), ("-n", "-v")):
        plain = _report(_tcpdump(tmp_path, story, *flags))
        numbered = _report(_tcpdump(tmp_path, story, *flags, "-#"))
        assert _verdicts(numbered) == _verdicts(plain)
        assert numbered["legs"] == plain["legs"]
        name = f"{story}{''.join(flags)}"
        assert [n.replace(f"{name}-#.txt", "") for n in numbered["notes"]] == \
            [n.replace(f"{name}.txt", "") for n in plain["notes"]]
        assert "carry no time" not in " ".join(numbered["notes"])


def test_the_request_line_after_tcpdump_A_header_bytes() -> None:
    # (the lab's 403: the TCP timestamp's last byte prints as '0' before the CONNECT)
    assert REQUEST_LINE.match("[.&....0CONNECT upstream.pathprobe.test:443 HTTP/1.1")
    assert REQUEST_LINE.match("E..4l3@.@.?h....xGET http://a.test/ HTTP/1.0")
    assert not REQUEST_LINE.match("this is no CONNECT a.test:443 HTTP/1.1")
    assert not REQUEST_LINE.match("[.&....0CONNECT upstream.pathprobe.test:443")


def test_a_proxy_refusal_as_tcpdump_A_text_is_the_refusal(tmp_path: Path) -> None:
    assert [c for c, _s, _k in _verdicts(_report(_tcpdump(tmp_path, "acl", "-n", "-A")))] == \
        [c for c, _s, _k in _verdicts(_report(CAPTURES / "acl.pcap"))] == ["PROXY_DENIED"]


@pytest.mark.parametrize("story", ["healthy", "acl", "auth-ntlm"])
def test_healthy_is_not_measured_where_what_was_said_is_unseen(tmp_path: Path,
                                                               story: str) -> None:
    """The lab's squid refusals (403, an NTLM-only 407) look healthy when no payload is
    shown: the verdict says so and is inferred; with the payload it is measured."""
    for seen in (_tcpdump(tmp_path, story, "-n"), _cut(tmp_path, story)):
        doc = _report(seen)
        assert _verdicts(doc) == [("HEALTHY", "info", "inferred")], seen
        unseen = [f for v in doc["verdicts"] for f in v["facts"] if f["fact"] == "content-unseen"]
        assert unseen and unseen[0]["values"]["count"] == 1, doc["verdicts"]
        said = " ".join(e for v in doc["verdicts"] for e in v["evidence"])
        assert "403" in said and ("tcpdump -X" in said) == seen.name.endswith(".txt"), said
    if story == "healthy":
        for shown in (_tcpdump(tmp_path, story, "-n", "-A"), CAPTURES / "healthy.pcap"):
            doc = _report(shown)
            assert _verdicts(doc)[0][2] == "measured" and "content-unseen" not in _facts(doc)


def test_an_unanswered_upload_without_content_is_a_stall_warning(tmp_path: Path) -> None:
    """The leg-2 black hole (a 30 KB upload through the tunnel, acknowledged, then 6 s of
    silence and a close) without its payload: TLS or not is unknown, so a warning, not the
    pcap's critical, and not 'healthy'. A session whose last word, the server's, was
    acknowledged (the stall story) stays without one: idle and stalled look the same."""
    for seen in (_tcpdump(tmp_path, "blackhole-leg2", "-n"), _cut(tmp_path, "blackhole-leg2")):
        doc = _report(seen)
        assert _verdicts(doc) == [("TUNNEL_STALL", "warning", "inferred")], seen
        assert doc["verdicts"][0]["direction"] == "up"
        facts = _facts(doc)
        assert facts.index("content-unknown") < facts.index("transfer-unanswered"), facts
        assert "tls-session" not in facts
    assert _verdicts(_report(CAPTURES / "blackhole-leg2.pcap")) == [
        ("TUNNEL_STALL", "critical", "inferred")]
    for seen in (_tcpdump(tmp_path, "stall", "-n"), _cut(tmp_path, "stall")):
        assert [c for c, _s, _k in _verdicts(_report(seen))] == ["HEALTHY"], seen


def _upload_then_silence(port: int, syn: bool) -> str:
    """tcpdump -n lines: a 10 KB upload to ``port``, acknowledged, 10 s of silence, a FIN."""
    c, s = "198.18.1.2.40000", f"198.18.2.2.{port}"
    lines = [f"10:00:00.000000 IP {c} > {s}: Flags [S], seq 100, win 64240, "
             "options [mss 1460], length 0",
             f"10:00:00.001000 IP {s} > {c}: Flags [S.], seq 500, ack 101, win 65160, "
             "options [mss 1460], length 0"] if syn else []
    seq = 101
    for i in range(8):
        lines.append(f"10:00:00.{10 + i:03d}000 IP {c} > {s}: Flags [.], seq {seq}:{seq + 1400}, "
                     "ack 501, win 502, length 1400")
        seq += 1400
    lines += [f"10:00:00.030000 IP {s} > {c}: Flags [.], ack {seq}, win 502, length 0",
              f"10:00:10.030000 IP {c} > {s}: Flags [F.], seq {seq}, ack 501, win 502, length 0"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("port", "syn", "stall"), [(443, True, True), (3128, True, True),
                                                    (1433, True, False), (443, False, False)])
def test_an_unseen_upload_is_judged_where_tls_is_likely(tmp_path: Path, port: int, syn: bool,
                                                        stall: bool) -> None:
    """nDPI's mssql, bitcoin and elf captures as tcpdump -n text: an upload that needs no
    answer (a file pushed, a database write) looked like a stalled TLS upload. Only from its
    SYN, to a port of TLS or of a proxy, is it one that may have been."""
    text = tmp_path / "upload.txt"
    text.write_text(_upload_then_silence(port, syn))
    doc = _report(text)
    assert [c for c, _s, _k in _verdicts(doc)] == (["TUNNEL_STALL"] if stall else ["HEALTHY"])
    if stall:
        assert _verdicts(doc)[0][1] == "warning" and "content-unknown" in _facts(doc)
