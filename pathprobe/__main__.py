"""``python -m pathprobe``, the ``pathprobe`` script (``run``), and the one-file build's
entry point (scripts/build-pyz.sh copies this file to the top of the archive).

Too old an interpreter is refused in one line, exit status 2 (bad input, not "findings"),
before anything is imported that would die on it with a traceback: so this file stays
valid Python 2.7 and 3.x (no annotations: type comments).

Then Ctrl-C is made quiet before anything else is loaded: an interrupt while the rest of
the CLI is imported ends the run at once with 130 (what a shell reports for SIGINT) and
no traceback. Once the CLI is ready, Ctrl-C is the commands' to handle (a partial report,
exit 3). Nothing but the entry points imports this module.
"""

import sys

if sys.version_info < (3, 9):  # noqa: UP036 (the point: run on what pyproject excludes)
    sys.stderr.write("pathprobe: error: Python %d.%d is too old; run pathprobe with "  # noqa: UP031
                     "Python 3.9 or newer (e.g. python3.9)\n" % sys.version_info[:2])
    sys.exit(2)

import _signal  # type: ignore[import-not-found]
import os

SIGINT = 2  # and the exit status is model.ExitStatus.INTERRUPTED_EARLY, 128 + SIGINT


def _exit_quietly(signum, frame):  # type: (int, object) -> None
    os._exit(128 + SIGINT)


_PREVIOUS = _signal.signal(SIGINT, _exit_quietly)


def run():  # type: () -> None
    """Run the CLI with the process's arguments and exit with its status."""
    archive = getattr(globals().get("__loader__"), "archive", None)
    if archive:   # the one-file build: its stored bytecode, where it fits this Python
        from pathprobe.zipbytecode import use_archive_bytecode

        use_archive_bytecode(archive)
    from pathprobe.cli import main

    _signal.signal(SIGINT, _PREVIOUS)
    sys.exit(main())


if __name__ == "__main__":
    run()
