"""Reading a small input file that anyone could have planted: bounded, never blocking.

A configuration file or a report is opened without blocking (a FIFO with no
writer would hang a plain open or read), must be a regular file (a link to
/dev/zero is endless, a directory or device is no file), and is read up to a
size bound plus one byte, so an oversized file is recognised without reading
it all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotAFile(ValueError):
    """The path opened, but what is there cannot be read as a small file (says why)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_bounded(path: Path | str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path`` (more than ``limit``
    means too large: the caller says so). OSError when it cannot be opened (its
    ``strerror`` says why), NotAFile when it is no regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(_kind(mode))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
