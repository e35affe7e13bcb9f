"""-o FILE never harms what is at the path (issue 15 item 1). Root-only cases are
skipped elsewhere; they make their own device nodes and never touch /dev/null."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pathprobe.errors import UsageError
from pathprobe.outfile import OutputError, check_output_path, write_output
from tests.conftest import IS_ROOT, UNPRIVILEGED, cli_env

root_only = pytest.mark.skipif(not IS_ROOT, reason="needs root (mknod, chown)")


def test_new_path_gets_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    old = os.umask(0o027)
    try:
        write_output(target, "hello\n")
    finally:
        os.umask(old)
    assert target.read_text() == "hello\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]  # no temporary left


@root_only
def test_existing_report_keeps_mode_and_owner(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old")
    target.chmod(0o664)
    os.chown(target, 65534, 65534)
    inode = target.stat().st_ino
    write_output(target, "new")
    st = target.stat()
    assert target.read_text() == "new"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o664, 65534, 65534)
    assert st.st_ino != inode  # replaced atomically, not rewritten


@root_only
def test_char_device_stays_a_char_device(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    write_output(null, "discarded")
    assert stat.S_ISCHR(null.stat().st_mode)
    assert os.major(null.stat().st_rdev) == 1


def test_dev_null_stays_a_char_device() -> None:
    write_output(Path("/dev/null"), "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@root_only
def test_full_device_fails_with_output_error(tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # a private /dev/full
    with pytest.raises(OutputError, match="No space left"):
        write_output(full, "x" * 10000)
    assert stat.S_ISCHR(full.stat().st_mode)


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(5)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_output(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing" / "r.txt", "does not exist"),
    (lambda d: d, "is a directory"),
])
def test_unwritable_paths_are_usage_errors(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(UsageError, match=message):
        check_output_path(path)


def test_no_permission_is_a_usage_error(tmp_path: Path) -> None:
    """As an unprivileged user (nobody when we are root): a directory without write access."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    code = ("from pathlib import Path\nfrom pathprobe.outfile import check_output_path\n"
            "from pathprobe.errors import UsageError\n"
            f"try:\n    check_output_path(Path({str(locked / 'r.txt')!r}))\n"
            "except UsageError as e:\n    print(e)\n")
    prefix = UNPRIVILEGED if IS_ROOT else []
    proc = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True,
                          text=True, env=cli_env(), cwd="/", check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot run as an unprivileged user: {proc.stderr[-200:]}")
    assert proc.stdout.startswith(f"cannot write {locked / 'r.txt'}: "), proc.stdout
    assert "ermission" in proc.stdout


@root_only
def test_cli_output_to_full_device_is_exit_3_not_success(tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    proc = subprocess.run([sys.executable, "-m", "pathprobe", "analyze", CAPTURE,
                           "-o", str(full)], capture_output=True, text=True, env=cli_env(),
                          check=False, timeout=120)
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert proc.stderr.strip().splitlines()[-1].startswith("pathprobe: error: cannot write")
    assert "Traceback" not in proc.stderr


def _cli_with_stdout(stdout: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with fd 1 as given (None: closed)."""
    close = stdout is None
    return subprocess.run([sys.executable, "-m", "pathprobe", *args],
                          stdout=subprocess.DEVNULL if close else stdout, stderr=subprocess.PIPE,
                          text=True, env=cli_env(), check=False, timeout=60,
                          preexec_fn=(lambda: os.close(1)) if close else None)


CAPTURE = str(Path(__file__).resolve().parents[1] / "fixtures" / "captures" / "clamp.pcap")


@pytest.mark.parametrize("args", [("lab", "list"), ("--version",),
                                  ("analyze", CAPTURE, "--json")])
def test_stdout_on_dev_full_is_exit_3_with_one_line(args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        proc = _cli_with_stdout(full.fileno(), *args)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "pathprobe: error: cannot write the report to standard output: No space left on device"]


def test_closed_stdout_is_exit_3_with_one_line() -> None:
    proc = _cli_with_stdout(None, "lab", "list")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "pathprobe: error: cannot write the report: standard output is closed"]
