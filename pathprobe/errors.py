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


class CaptureError(NotMeasuredError):
    """A capture file cannot be read (not a capture, corrupt, unsupported link type)."""
