"""Where ``-o FILE`` writes, and how, without harming whatever is at that path.

An atomic rename is right for a report file (readers never see half of
it) but wrong for anything else: renamed over ``/dev/null`` it turns the
system's null device into a root-owned regular file, over a FIFO it
replaces the pipe a reader waits on, over a symlink it cuts the link. So:
rename only over a regular file (keeping its mode and owner) or onto a new
path; write everything else (devices, FIFOs) in place; follow symlinks to
what they point at. ``check_output_path`` runs before measuring so a
typo does not cost a whole measurement.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pathprobe.errors import NotMeasuredError, UsageError

T = TypeVar("T")


class OutputError(NotMeasuredError):
    """The report could not be written to --output (disk full, I/O error, ...); exit 3."""


def _target(path: Path) -> Path:
    """What writing to ``path`` writes to: symlinks followed (a dangling one to its target)."""
    return Path(os.path.realpath(path))


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_output_path(path: Path) -> None:
    """Raise UsageError (exit 2) with one line when ``path`` cannot be written."""
    target = _target(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"cannot write {path}: it is a directory; give a file name")
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    directory = _directory(target)
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: no permission to create files in {directory}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace(target: Path, data: bytes, existing: os.stat_result | None) -> None:
    """Write a temporary file beside ``target`` and rename it over; mode/owner as before."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=_directory(target))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if existing is None:
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            else:
                os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode))
                if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(f.fileno(), existing.st_uid, existing.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _in_place(target: Path, data: bytes) -> None:
    """Open and write what is there (a device, a FIFO, or a file we may not replace)."""
    with open(target, "wb") as f:
        f.write(data)
        f.flush()


def _may_replace(target: Path, existing: os.stat_result | None) -> bool:
    """A rename is safe onto a new path or over a regular file whose owner we can keep
    and whose directory lets us create the temporary file."""
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        return False
    if not os.access(_directory(target), os.W_OK | os.X_OK):
        return False
    if existing is None or os.geteuid() == 0:
        return True
    return (existing.st_uid, existing.st_gid) == (os.geteuid(), os.getegid())


def write_output(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``: atomically onto a new path or over a regular
    file (keeping its mode and owner), in place for anything else. Raises UsageError
    for a path that cannot be written, OutputError when writing fails."""
    check_output_path(path)
    target = _target(path)
    data = text.encode("utf-8", "replace")
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        if _may_replace(target, existing):
            _replace(target, data, existing)
        else:
            _in_place(target, data)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None


# --- standard output ----------------------------------------------------------------------

class StdoutError(OutputError):
    """Standard output is closed or cannot take the report (e.g. /dev/full); exit 3."""


class GuardedStdout:
    """``sys.stdout`` whose write errors are StdoutError (one line, exit 3), not internal
    errors; a closed stdout (``None``) fails on the first write. Broken pipes pass through
    (the reader left: not an error)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.failed = False

    def _guard(self, action: Callable[[TextIO], T]) -> T:
        if self.stream is None:
            self.failed = True
            raise StdoutError("cannot write the report: standard output is closed")
        try:
            return action(self.stream)
        except BrokenPipeError:
            raise
        except OSError as e:
            self.failed = True
            raise StdoutError(f"cannot write the report to standard output: "
                              f"{e.strerror or e}") from None

    def write(self, text: str) -> int:
        return self._guard(lambda s: s.write(text))

    def flush(self) -> None:
        if self.stream is not None:  # a closed stdout has nothing to flush
            self._guard(lambda s: s.flush())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def guard_stdout() -> GuardedStdout:
    """Install GuardedStdout as ``sys.stdout`` (the CLI does this once, in main())."""
    guarded = GuardedStdout(sys.stdout)
    sys.stdout = guarded  # type: ignore[assignment]
    return guarded


def release_stdout(guarded: GuardedStdout) -> str | None:
    """Flush and restore the real stdout; the error line when the report did not get out
    and none was reported yet. After a failure, fd 1 is pointed at /dev/null so the
    interpreter's own final flush cannot print a traceback."""
    problem = None
    reported_before = guarded.failed
    try:
        guarded.flush()
    except StdoutError as e:
        problem = None if reported_before else str(e)
    except BrokenPipeError:
        guarded.failed = True
    if guarded.failed and guarded.stream is not None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError):
            os.dup2(devnull, guarded.stream.fileno())
        os.close(devnull)
    sys.stdout = guarded.stream  # type: ignore[assignment]
    return problem


# --- where the report goes -----------------------------------------------------------------

def deliver(text: str, path: Path | None, summary: str, *, quiet: bool = False) -> None:
    """The report on stdout, or with ``-o`` in the file only: then the terminal (stderr)
    gets one line, the summary and the path (nothing with ``quiet``), as curl and tshark
    do. The line never holds a line break, whatever the summary says."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_output(path, text)
    if not quiet:
        line = " ".join(f"{summary}; report written to {path}".split())
        sys.stderr.write(f"pathprobe: {line}\n")
        sys.stderr.flush()
