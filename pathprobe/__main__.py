"""``python -m pathprobe``, the ``pathprobe`` script and the one-file build start here.

Ctrl-C is made quiet before anything else is loaded: an interrupt while the rest of the
CLI is imported ends the run at once with 130 (what a shell reports for SIGINT) and no
traceback. Once the CLI is ready, Ctrl-C is the commands' to handle (a partial report,
exit 3). Nothing else imports this module.
"""

import _signal  # type: ignore[import-not-found]  # the C module: ``signal`` builds enums first, a moment to be interrupted
import os  # loaded by the interpreter's start already

SIGINT = 2


def _exit_quietly(signum: int, frame: object) -> None:
    os._exit(128 + SIGINT)


_PREVIOUS = _signal.signal(SIGINT, _exit_quietly)

import signal  # noqa: E402  (after the handler: every import is a moment to be interrupted)
import sys  # noqa: E402


def run() -> None:
    """Run the CLI with the process's arguments and exit with its status."""
    from pathprobe.cli import main

    signal.signal(signal.SIGINT, _PREVIOUS)
    sys.exit(main())


if __name__ == "__main__":
    run()
