"""Ctrl-C while `analyze` reads a stream that has not ended: exit 3 with the partial report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "acl.pcap"


@pytest.mark.parametrize("presses", [1, 2, 6])
def test_ctrl_c_while_analyze_reads_a_fifo(tmp_path: Path, presses: int) -> None:
    """Also pressed again and again (issue 23 item 4): the partial report still comes."""
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(fifo), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            text=True)
    writer = os.open(fifo, os.O_WRONLY)   # a capture that is still being written
    try:
        os.write(writer, FIXTURE.read_bytes())
        time.sleep(1.0)                   # analyze is now waiting for more
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    doc = json.loads(stdout)
    assert doc["partial"] is True and any("interrupted" in e for e in doc["errors"])
    assert "Traceback" not in stderr


# Moments from the interpreter's start to well after the report (analyze of a small
# capture takes ~0.3-0.6 s here): issue 23 item 9.
MOMENTS_S = [0.01 + i * 0.003 for i in range(30)] + [i * 0.05 for i in range(2, 14)] + [
    0.9, 1.2, 1.6, 2.0]
OUR_FRAME = re.compile(re.escape(f'File "{REPO / "pathprobe"}/') + r'([^"]+)", line (\d+)')
# The entry point's handler exists from this line on; before it (the package's three
# statements, __main__'s first lines) a Ctrl-C is still Python's own to report.
HANDLER_LINE = next((i for i, line in enumerate(
    (REPO / "pathprobe" / "__main__.py").read_text().splitlines(), 1)
    if line.startswith("_PREVIOUS = ")), 0)


def ours_after_start(stderr: str) -> bool:
    """Whether a traceback shows our code running after the quiet handler was set."""
    return any(not (name == "__init__.py" or (name == "__main__.py"
                                               and int(line) <= HANDLER_LINE))
               for name, line in OUR_FRAME.findall(stderr))


def test_ctrl_c_at_any_moment_is_quiet_and_consistent() -> None:
    """Once pathprobe's code runs: before the CLI is ready, 130 and no output; once the
    command began, 3 with one line, or with the partial report once it measures; after
    the report, the report's status. Never a traceback from our code. (Python's own
    start - importing site, finding the module - comes before any of our code can run;
    a Ctrl-C there is the interpreter's to report.)"""
    full = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", str(FIXTURE), "--json"],
                          capture_output=True, text=True, env=cli_env(), check=False)
    seen: dict[str, int] = {}
    for delay in MOMENTS_S:
        proc = subprocess.Popen([sys.executable, "-m", "pathprobe", "analyze", str(FIXTURE),
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=cli_env(), text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        where = f"SIGINT after {delay:.3f} s: {proc.returncode} {stderr[-600:]!r}"
        assert not ours_after_start(stderr), where
        if "Traceback" in stderr or "init_import_site" in stderr:
            # Python's own start: either it stops, or the Ctrl-C is reported and swallowed
            # and the run goes on whole: by site, inside its .pth processing, or by the
            # interpreter, when it lands in a callback ('Exception ignored in: <function
            # _get_module_lock.<locals>.cb ...>': importlib's lock cleanup; CI saw it once)
            kind = "interpreter start"
            if stdout:
                assert ("Remainder of file ignored" in stderr
                        or "Exception ignored in" in stderr), where
                assert proc.returncode == full.returncode, where
                assert json.loads(stdout)["partial"] is False, where
        elif proc.returncode in (130, -signal.SIGINT):  # ours, or before Python had a handler
            kind = "before ready"
            assert stdout == "" and stderr == "", where
        elif proc.returncode == 3 and stdout == "":   # the command began, nothing measured
            kind = "interrupted"
            assert stderr == "pathprobe: error: interrupted\n", where
        elif proc.returncode == 3:
            kind = "partial"
            doc = json.loads(stdout)
            assert doc["partial"] is True, where
        else:
            kind = "complete"
            assert proc.returncode == full.returncode, where
            assert json.loads(stdout)["partial"] is False, where
        seen[kind] = seen.get(kind, 0) + 1
    assert seen.get("before ready") and seen.get("complete"), seen


def test_masked_holds_ctrl_c_back_from_us_and_the_programs_we_start() -> None:
    """The teardown's shield (issue 23 item 4): a real SIGINT inside ``masked`` raises
    nothing, is reported afterwards and not delivered later; a program started inside
    inherits the mask, so a Ctrl-C to it cannot cut it short either."""
    from pathprobe.interrupts import masked

    with masked() as seen:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        child = subprocess.run(["sh", "-c", "kill -INT $$; echo survived"],
                               capture_output=True, text=True, timeout=10, check=False)
    assert seen.interrupted
    assert child.stdout == "survived\n"
    time.sleep(0.05)   # had it been left pending, KeyboardInterrupt would come here
    with masked() as quiet:
        pass
    assert not quiet.interrupted


def test_a_ctrl_c_python_wrapped_while_making_a_class_is_an_interrupt() -> None:
    """CI caught it: Ctrl-C while a dataclass was being made came out (on 3.11) as
    'internal error: RuntimeError: Error calling __set_name__' and exit 4."""
    from pathprobe.cli import interrupted_inside

    class PressesCtrlC:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:
        type("Made", (), {"field": PressesCtrlC()})
    except KeyboardInterrupt as bare:  # Python 3.12+ no longer wraps it
        assert interrupted_inside(bare)
    except RuntimeError as wrapped:     # 3.9-3.11
        assert interrupted_inside(wrapped)
    else:
        raise AssertionError("__set_name__ did not raise")
    try:
        try:
            raise ValueError("a real bug")
        except ValueError as first:
            raise RuntimeError("while handling it") from first
    except RuntimeError as unrelated:
        assert not interrupted_inside(unrelated)


def test_after_the_ctrl_c_a_shield_took_the_runs_later_ones_change_nothing() -> None:
    """CI caught it: 'lab up' interrupted twice 30 ms apart ended with exit 3 and no
    message; the teardown was quicker than 30 ms, so the second Ctrl-C met the handler
    put back after it and cut the 'the lab was removed' line short."""
    from pathprobe.interrupts import first_interrupt, release
    from pathprobe.lab.manager import shielded_from_ctrl_c

    first_interrupt()
    try:
        with pytest.raises(KeyboardInterrupt), shielded_from_ctrl_c(first_interrupts=True):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)   # an armed handler would raise KeyboardInterrupt here
    finally:
        release()
    first_interrupt()      # a run whose first Ctrl-C the shield did not see
    try:
        with shielded_from_ctrl_c(first_interrupts=True):
            pass
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    finally:
        release()
