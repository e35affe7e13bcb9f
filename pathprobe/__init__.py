"""pathprobe: find the effective MTU/MSS on each leg of a proxied path.

``from pathprobe import diagnose, analyze`` gives the library API (pathprobe.api),
loaded on first use so that ``pathprobe --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "analyze", "diagnose"]


def __getattr__(name: str) -> Any:
    if name in ("diagnose", "analyze"):
        from pathprobe import api

        return getattr(api, name)
    raise AttributeError(f"module 'pathprobe' has no attribute {name!r}")
