"""``python -m pathprobe``."""

import sys

from pathprobe.cli import main

sys.exit(main())
