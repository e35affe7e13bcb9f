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
import tempfile
from pathlib import Path

from pathprobe.errors import NotMeasuredError, UsageError


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
