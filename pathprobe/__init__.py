"""pathprobe: find the effective MTU/MSS on each leg of a proxied path.

``from pathprobe import diagnose, analyze`` gives the library API (pathprobe.api),
loaded on first use so that ``pathprobe --help`` stays fast.

``python -m pathprobe`` runs this file before ``__main__``'s Python-version guard and
its quiet-Ctrl-C handler: so it stays valid Python 2.7 and 3.x (type comments, no
``__future__`` import) and imports nothing (``typing`` alone takes a moment in which a
Ctrl-C would print a traceback).
"""

__version__ = "0.1.0"
__all__ = ["__version__", "analyze", "diagnose"]


def __getattr__(name):  # type: (str) -> object
    if name in ("diagnose", "analyze"):
        from pathprobe import api

        return getattr(api, name)
    raise AttributeError("module 'pathprobe' has no attribute " + repr(name))
