"""``python -m pathprobe``, and the one-file build's entry point (scripts/build-pyz.sh
copies this file to the top of the archive).

Too old an interpreter is refused in one line, exit status 2 (bad input, not "findings"),
before anything is imported that would die on it with a traceback: so this file stays
valid Python 2.7 and 3.x up to the check.
"""

import sys

if sys.version_info < (3, 9):  # noqa: UP036 (the point: run on what pyproject excludes)
    sys.stderr.write("pathprobe: error: Python %d.%d is too old; run pathprobe with "  # noqa: UP031
                     "Python 3.9 or newer (e.g. python3.9)\n" % sys.version_info[:2])
    sys.exit(2)

from pathprobe.cli import main

sys.exit(main())
