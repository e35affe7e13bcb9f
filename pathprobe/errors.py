"""Errors the CLI turns into one clear line and a documented exit status.

Every message says what to do next; the CLI's single error boundary prints
``pathprobe: error: <message>`` and exits with ``exit_status``.
"""

from __future__ import annotations

from pathprobe.model import ExitStatus


class PathprobeError(Exception):
    """Base class: an expected failure with an actionable message."""

    exit_status: ExitStatus = ExitStatus.NOT_MEASURED


class UsageError(PathprobeError):
    """The command line or an input file is wrong."""

    exit_status = ExitStatus.USAGE


class NotMeasuredError(PathprobeError):
    """A measurement could not be made (target silent, route missing, ...)."""


class PermissionNeeded(NotMeasuredError):
    """Raw sockets or namespaces need privileges this process lacks."""


class MissingTool(NotMeasuredError):
    """An external program the command needs is not installed."""

    def __init__(self, program: str, package: str) -> None:
        super().__init__(
            f"'{program}' is not installed; install the Debian package '{package}' "
            f"(apt-get install {package})"
        )
        self.program = program
        self.package = package


class LabError(NotMeasuredError):
    """The network-namespace lab could not be built or used."""


class CaptureError(UsageError):
    """A file that is no usable capture (not a capture, corrupt, unsupported link type):
    bad input, exit status 2 like any other bad input file."""


class CaptureUnreadable(CaptureError):
    """The capture could not be read (permissions, I/O error) or holds nothing to
    analyse (no packets, no connection matching): could not measure, exit status 3."""

    exit_status = ExitStatus.NOT_MEASURED


class Interrupted(NotMeasuredError):
    """The user pressed Ctrl-C where no partial report can be printed (e.g. `lab up`)."""
