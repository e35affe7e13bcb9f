"""``python -m pathprobe``, the ``pathprobe`` script and the one-file build start here.

Only ``os`` and ``signal`` are loaded before Ctrl-C is made quiet: an interrupt while
the rest of the CLI is imported ends the run at once with 130 (what a shell reports for
SIGINT) and no traceback; once the CLI is ready, Ctrl-C is the commands' to handle (a
partial report, exit 3).
"""

import os
import signal
import sys
from types import FrameType
from typing import Optional


def _exit_quietly(signum: int, frame: Optional[FrameType]) -> None:
    os._exit(128 + signal.SIGINT)


def run() -> None:
    """Run the CLI with the process's arguments and exit with its status."""
    previous = signal.signal(signal.SIGINT, _exit_quietly)
    from pathprobe.cli import main

    signal.signal(signal.SIGINT, previous)
    sys.exit(main())


if __name__ == "__main__":
    run()
